package ingest

// This file maps member names to small integer ids. A Go switch over some
// eighty string cases is a binary search of string comparisons; a lookup in
// a small open-addressing table followed by a switch over ids (a jump table)
// costs a hash and one comparison. The ids also make duplicate names cheap to
// catch (seenSet), so the tokenizer's own check, which hashes every name
// again, is turned off (jsonOptions) and weft checks duplicates itself: by id
// for the members it knows, by name for the others, and with the tokenizer's
// check for the raw values it keeps (reader.raw).

// fieldTable maps the names of one kind of object to their ids (their
// indexes in names).
type fieldTable struct {
	names []string
	slots [256]uint8 // id+1 at the hash of the name, with linear probing; 0 is empty
}

func newFieldTable(names []string) *fieldTable {
	if len(names) > 200 {
		panic("ingest: too many names for a field table")
	}
	t := &fieldTable{names: names}
	for id, n := range names {
		if n == "" {
			continue
		}
		h := nameHash(n)
		for t.slots[h] != 0 {
			h++
		}
		t.slots[h] = uint8(id + 1)
	}
	return t
}

// lookup returns the id of name, or -1.
func (t *fieldTable) lookup(name []byte) int {
	if len(name) == 0 {
		return -1
	}
	for h := nameHash(name); ; h++ {
		id := t.slots[h]
		if id == 0 {
			return -1
		}
		if t.names[id-1] == string(name) {
			return int(id - 1)
		}
	}
}

func nameHash[T string | []byte](b T) uint8 {
	n := len(b)
	x := uint32(n)*0x9E3779B1 ^ uint32(b[0])*0x85EBCA77 ^ uint32(b[n-1])*0xC2B2AE3D ^ uint32(b[n/2])*0x27D4EB2F
	return uint8(x >> 24)
}

// seenSet remembers which ids an object has had, to catch duplicate names.
type seenSet [4]uint64

// add records id and reports whether it is new.
func (s *seenSet) add(id int) bool {
	w, bit := id>>6, uint64(1)<<uint(id&63)
	if s[w]&bit != 0 {
		return false
	}
	s[w] |= bit
	return true
}

// unknownNames remembers the names that no table knows of the objects being
// decoded, as a stack: an object's names start at the mark it took when it
// began (mark), and are dropped when it ends (release). Records rarely have
// more than a few, so a linear search catches duplicates among them; an
// object with many gets a set, so that a record of a million names is not a
// million squared comparisons.
type unknownNames struct {
	list    [][]byte
	set     map[string]struct{} // the names of the object that took setMark
	setMark int
}

// manyNames is the number of unknown names beyond which an object gets a set.
const manyNames = 32

func (u *unknownNames) mark() int { return len(u.list) }

func (u *unknownNames) release(mark int) {
	u.list = u.list[:mark]
	if u.setMark >= mark {
		u.set = nil
	}
}

// add records name for the object that took mark, and reports whether it is
// new there.
func (u *unknownNames) add(mark int, name []byte) bool {
	names := u.list[mark:]
	if len(names) < manyNames {
		for _, n := range names {
			if string(n) == string(name) {
				return false
			}
		}
	} else {
		if u.set == nil || u.setMark != mark {
			u.set, u.setMark = make(map[string]struct{}, 2*len(names)), mark
			for _, n := range names {
				u.set[string(n)] = struct{}{}
			}
		}
		if _, ok := u.set[string(name)]; ok {
			return false
		}
		u.set[string(name)] = struct{}{}
	}
	u.list = append(u.list, name)
	return true
}

func duplicate(path string, name []byte) *fieldErr {
	return &fieldErr{field: at(path, name), msg: "the name appears twice in one object; weft rejects duplicate names", fatal: true}
}

// Top-level members of a record. The slots (record.go) come first, so that a
// member's id is its slot.
const (
	fTenantID = int(numSlots) + iota
	fProviderAlertID
	fTitle
	fDescription
	fRecommendedActions
	fCategory
	fMitreTechniques
	fSeverity
	fStatus
	fClassification
	fDetermination
	fAssignedTo
	fServiceSource
	fDetectionSource
	fProductName
	fDetectorID
	fAlertPolicyID
	fActorDisplayName
	fThreatDisplayName
	fThreatFamilyName
	fAlertWebURL
	fFirstActivity
	fLastActivity
	fResolved
	fComments
	fEvidence
	fSystemTags
	fAdditionalData
	numAlertFields
)

var alertFields = newFieldTable(func() []string {
	names := make([]string, numAlertFields)
	copy(names, slotNames[:])
	for id, n := range map[int]string{
		fTenantID: "tenantId", fProviderAlertID: "providerAlertId", fTitle: "title", fDescription: "description",
		fRecommendedActions: "recommendedActions", fCategory: "category", fMitreTechniques: "mitreTechniques",
		fSeverity: "severity", fStatus: "status", fClassification: "classification", fDetermination: "determination",
		fAssignedTo: "assignedTo", fServiceSource: "serviceSource", fDetectionSource: "detectionSource",
		fProductName: "productName", fDetectorID: "detectorId", fAlertPolicyID: "alertPolicyId",
		fActorDisplayName: "actorDisplayName", fThreatDisplayName: "threatDisplayName", fThreatFamilyName: "threatFamilyName",
		fAlertWebURL: "alertWebUrl", fFirstActivity: "firstActivityDateTime", fLastActivity: "lastActivityDateTime",
		fResolved: "resolvedDateTime", fComments: "comments", fEvidence: "evidence", fSystemTags: "systemTags",
		fAdditionalData: "additionalData",
	} {
		names[id] = n
	}
	return names
}())

// Members of an evidence item, in either shape.
const (
	eGraphType = iota
	eEntityType
	eOdataType
	eCreated
	eVerdict
	eRemediationStatus
	eRemediationDetails
	eRoles
	eDetailedRoles
	eTags
	eDetectionStatus
	eMdeDeviceID
	eAzureAdDeviceID
	eDeviceDNSName
	eHostName
	eNtDomain
	eDNSDomain
	eOsPlatform
	eOsBuild
	eRbacGroupName
	eHealthStatus
	eRiskScore
	eIPInterfaces
	eUserAccount
	eDisplayName
	ePrimaryAddress
	eUpn
	eNetworkMessageID
	eInternetMessageID
	eSubject
	eSenderIP
	eSenderAddress
	eP1Sender
	eRecipient
	eDeliveryAction
	eDeliveryLocation
	eAntiSpamDirection
	eReceived
	eURLs
	eThreats
	eClusterBy
	eClusterByValue
	eEmailCount
	eNetworkMessageIDs
	eIPAddress
	eCountryLetterCode
	eURL
	eDomainName
	eFileDetails
	eProcessID
	eCommandLine
	eProcessCreated
	eImageFile
	eParentProcessID
	eParentProcessCreated
	eParentImageFile
	eRegistryHive
	eRegistryKey
	eRegistryValueName
	eRegistryValue
	eRegistryValueType
	eAppID
	eInstanceName
	ePublisher
	eObjectID
	eSecurityGroupID
	eResourceID
	eAmazonResourceID
	eFullResourceName
	eResourceName
	eResourceType
	eProperties
	numEvidenceFields
)

var evidenceFields = newFieldTable([]string{
	eGraphType: "@odata.type", eEntityType: "entityType", eOdataType: "odataType", eCreated: "createdDateTime",
	eVerdict: "verdict", eRemediationStatus: "remediationStatus", eRemediationDetails: "remediationStatusDetails",
	eRoles: "roles", eDetailedRoles: "detailedRoles", eTags: "tags", eDetectionStatus: "detectionStatus",
	eMdeDeviceID: "mdeDeviceId", eAzureAdDeviceID: "azureAdDeviceId", eDeviceDNSName: "deviceDnsName",
	eHostName: "hostName", eNtDomain: "ntDomain", eDNSDomain: "dnsDomain", eOsPlatform: "osPlatform",
	eOsBuild: "osBuild", eRbacGroupName: "rbacGroupName", eHealthStatus: "healthStatus", eRiskScore: "riskScore",
	eIPInterfaces: "ipInterfaces", eUserAccount: "userAccount", eDisplayName: "displayName",
	ePrimaryAddress: "primaryAddress", eUpn: "upn", eNetworkMessageID: "networkMessageId",
	eInternetMessageID: "internetMessageId", eSubject: "subject", eSenderIP: "senderIp",
	eSenderAddress: "senderAddress", eP1Sender: "p1Sender", eRecipient: "recipientEmailAddress",
	eDeliveryAction: "deliveryAction", eDeliveryLocation: "deliveryLocation", eAntiSpamDirection: "antiSpamDirection",
	eReceived: "receivedDateTime", eURLs: "urls", eThreats: "threats", eClusterBy: "clusterBy",
	eClusterByValue: "clusterByValue", eEmailCount: "emailCount", eNetworkMessageIDs: "networkMessageIds",
	eIPAddress: "ipAddress", eCountryLetterCode: "countryLetterCode", eURL: "url", eDomainName: "domainName",
	eFileDetails: "fileDetails", eProcessID: "processId", eCommandLine: "processCommandLine",
	eProcessCreated: "processCreationDateTime", eImageFile: "imageFile", eParentProcessID: "parentProcessId",
	eParentProcessCreated: "parentProcessCreationDateTime", eParentImageFile: "parentProcessImageFile",
	eRegistryHive: "registryHive", eRegistryKey: "registryKey", eRegistryValueName: "registryValueName",
	eRegistryValue: "registryValue", eRegistryValueType: "registryValueType", eAppID: "appId",
	eInstanceName: "instanceName", ePublisher: "publisher", eObjectID: "objectId",
	eSecurityGroupID: "securityGroupId", eResourceID: "resourceId", eAmazonResourceID: "amazonResourceId",
	eFullResourceName: "fullResourceName", eResourceName: "resourceName", eResourceType: "resourceType",
	eProperties: "properties",
})

// Members of the nested objects weft reads: userAccount, fileDetails,
// emailSender and alertComment.
const (
	uAccountName = iota
	uDomainName
	uUserPrincipalName
	uUserSid
	uAzureAdUserID
	uDisplayName
)

var userAccountFields = newFieldTable([]string{
	uAccountName: "accountName", uDomainName: "domainName", uUserPrincipalName: "userPrincipalName",
	uUserSid: "userSid", uAzureAdUserID: "azureAdUserId", uDisplayName: "displayName",
})

const (
	fdFileName = iota
	fdFilePath
	fdFilePublisher
	fdFileSize
	fdIssuer
	fdSigner
	fdMd5
	fdSha1
	fdSha256
)

var fileDetailsFields = newFieldTable([]string{
	fdFileName: "fileName", fdFilePath: "filePath", fdFilePublisher: "filePublisher", fdFileSize: "fileSize",
	fdIssuer: "issuer", fdSigner: "signer", fdMd5: "md5", fdSha1: "sha1", fdSha256: "sha256",
})

const (
	cComment = iota
	cCreatedBy
	cCreated
)

var commentFields = newFieldTable([]string{cComment: "comment", cCreatedBy: "createdByDisplayName", cCreated: "createdDateTime"})

var emailSenderFields = newFieldTable([]string{"emailAddress"})
