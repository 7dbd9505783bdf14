package ingest

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// This file decodes evidence items, which both formats share. An item is in
// weft's shape (with "entityType": the JSON form of weft.Evidence) or in
// Graph's (with "@odata.type": an alertEvidence subtype). Their property
// names are the same wherever they overlap, so one decoder reads both.

// item is what decoding one evidence item finds besides weft.Evidence
// fields.
type item struct {
	graphType, entityType string
	properties            jsontext.Value // weft shape: the item's own properties
	unknown               objBuilder     // members weft does not know, nested ones too
	upn, p1Sender         string
	amazonID, googleName  string
	err, commonErr        *fieldErr // the first error, and the first in a property every type has
}

// evidenceList decodes the evidence array. Items are decoded in place into
// a slice whose capacity is the previous alert's count: weft.Evidence is a
// large struct, and copying a batch's evidence from scratch space into
// slices of the right size cost more than a tenth of decoding.
func (rd *recordDecoder) evidenceList(name []byte) ([]weft.Evidence, *fieldErr) {
	r := &rd.d.r
	ok, fe := r.enter("", name, '[', "an array of objects")
	if !ok || fe != nil {
		return nil, fe
	}
	var ev []weft.Evidence
	for i := 0; ; i++ {
		more, fe := r.more()
		if fe != nil {
			return nil, fe
		}
		if !more {
			break
		}
		if r.dec.PeekKind() == 'n' { // a null item holds nothing
			if _, err := r.dec.ReadToken(); err != nil {
				return nil, r.syntax(err)
			}
			continue
		}
		if i >= weft.MaxEvidence {
			return nil, &fieldErr{field: "evidence", msg: "has more than " + strconv.Itoa(weft.MaxEvidence) + " records; at most " + strconv.Itoa(weft.MaxEvidence) + " per alert", fatal: true}
		}
		n := len(ev)
		switch {
		case ev == nil:
			ev = make([]weft.Evidence, 1, max(rd.d.evidenceGuess, 1))
		case n < cap(ev):
			ev = ev[:n+1] // zeroed by make or append, and not used yet
		default:
			ev = append(ev, weft.Evidence{})
		}
		if fe := rd.evidence(i, &ev[n]); fe != nil {
			return nil, fe
		}
	}
	if len(ev) == 0 {
		return nil, nil
	}
	rd.d.evidenceGuess = min(len(ev), 64)
	if cap(ev) > 2*len(ev)+2 { // a much smaller alert than the last: do not keep the spare room
		ev = append([]weft.Evidence(nil), ev...)
	}
	return ev, nil
}

// evidence decodes item i into e. Errors in an item are held back until its
// type is known: an item whose type weft does not interpret is kept as sent,
// and only the properties every evidence type has are checked.
func (rd *recordDecoder) evidence(i int, e *weft.Evidence) *fieldErr {
	r := &rd.d.r
	path := evidencePath(i)
	start := int(r.dec.InputOffset())
	if _, fe := r.enter(path, nil, '{', "an object"); fe != nil {
		return fe // a null item never gets here (evidenceList)
	}
	var it item
	var seen seenSet
	mark := r.names.mark()
	defer r.names.release(mark)
	for {
		name, ok, fe := r.next()
		if fe != nil {
			return fe
		}
		if !ok {
			break
		}
		id := evidenceFields.lookup(name)
		if id >= 0 && !seen.add(id) || id < 0 && !r.names.add(mark, name) {
			return duplicate(path, name)
		}
		common, fe := rd.evidenceMember(path, id, name, e, &it)
		if fe != nil {
			if fe.fatal {
				return fe
			}
			if it.err == nil {
				it.err = fe
			}
			if common && it.commonErr == nil {
				it.commonErr = fe
			}
		}
	}
	raw := rd.rec[start:r.dec.InputOffset()]
	raw = raw[bytes.IndexByte(raw, '{'):]

	known := false
	switch {
	case it.entityType != "":
		t, err := weft.ParseEntityType(it.entityType)
		if err != nil {
			return &fieldErr{field: path + ".entityType", msg: enumMessage(err)}
		}
		e.EntityType, known = t, true
	case it.graphType != "":
		e.EntityType, known = graphEntityType(it.graphType)
		e.OdataType = it.graphType
	}
	if !known {
		return rd.generic(i, e, &it, raw)
	}
	if it.err != nil {
		return it.err
	}

	if it.upn != "" {
		switch {
		case e.UserAccount == nil:
			e.UserAccount = &weft.UserAccount{UserPrincipalName: it.upn}
		case e.UserAccount.UserPrincipalName == "":
			e.UserAccount.UserPrincipalName = it.upn
		case !strings.EqualFold(e.UserAccount.UserPrincipalName, it.upn):
			it.unknown.str("upn", it.upn)
		}
	}
	if it.p1Sender != "" {
		if e.SenderAddress == "" {
			e.SenderAddress = it.p1Sender
		} else if it.p1Sender != e.SenderAddress {
			it.unknown.str("p1SenderEmailAddress", it.p1Sender)
		}
	}
	for _, id := range [...]struct{ name, v string }{{"amazonResourceId", it.amazonID}, {"fullResourceName", it.googleName}} {
		switch {
		case id.v == "":
		case e.ResourceID == "":
			e.ResourceID = id.v
		case id.v != e.ResourceID:
			it.unknown.str(id.name, id.v)
		}
	}

	// Properties: the item's own (weft shape), else what weft did not map.
	switch {
	case !isNull(it.properties):
		if !isObject(it.properties) {
			return &fieldErr{field: path + ".properties", msg: "expected an object, got " + kindWords(it.properties.Kind())}
		}
		e.Properties = rd.copyRaw(it.properties)
		if len(it.unknown) > 0 {
			rd.warn(path + ": properties weft does not know were ignored, since the item has its own properties: " + strings.Join(memberNames(it.unknown.bytes(), 8), ", "))
		}
	case len(it.unknown) > 0:
		e.Properties = rd.repair(it.unknown.bytes())
	}
	return nil
}

// generic keeps an item whose type weft does not interpret, or that names no
// type at all: the properties every evidence type has are read, and all its
// properties are kept as sent. An item without a type is an error in weft's
// format; the record's format decides that at its end (see untyped).
func (rd *recordDecoder) generic(i int, e *weft.Evidence, it *item, raw []byte) *fieldErr {
	if it.commonErr != nil {
		return it.commonErr
	}
	// Parts of the item may have been skipped unchecked after an error that
	// its type makes moot; it is kept as sent, so check it all.
	if fe := rd.d.r.check(evidencePath(i), nil, raw, rd.d.r.dec.StackDepth()); fe != nil {
		return fe
	}
	*e = weft.Evidence{
		EntityType:               weft.EntityGeneric,
		OdataType:                it.graphType,
		CreatedDateTime:          e.CreatedDateTime,
		Roles:                    e.Roles,
		DetailedRoles:            e.DetailedRoles,
		Tags:                     e.Tags,
		Verdict:                  e.Verdict,
		RemediationStatus:        e.RemediationStatus,
		RemediationStatusDetails: e.RemediationStatusDetails,
		Properties:               rd.copyRaw(raw),
	}
	if it.graphType == "" {
		rd.untyped = append(rd.untyped, i)
		return nil
	}
	rd.warn(evidencePath(i) + ": @odata.type " + strconv.Quote(clip(it.graphType, 96)) + " is not a type weft interprets: kept as generic evidence with all its properties")
	return nil
}

// evidenceMember decodes one member of an evidence item. common says whether
// it is a property that every evidence type has.
func (rd *recordDecoder) evidenceMember(path string, id int, name []byte, e *weft.Evidence, it *item) (common bool, fe *fieldErr) {
	r := &rd.d.r
	var s string
	switch id {
	case eGraphType:
		it.graphType, fe = r.str(path, name)
		rd.hints |= hintEvidenceOdata
		return true, fe
	case eEntityType:
		it.entityType, fe = r.str(path, name)
		return true, fe
	case eOdataType:
		e.OdataType, fe = r.str(path, name)
	case eCreated:
		e.CreatedDateTime, fe = r.timePtr(path, name)
		return true, fe
	case eVerdict:
		if s, fe = r.str(path, name); fe == nil {
			e.Verdict, fe = parseEnum(path, "verdict", s, weft.ParseVerdict, "unknown")
		}
		return true, fe
	case eRemediationStatus:
		if s, fe = r.str(path, name); fe == nil {
			e.RemediationStatus, fe = parseEnum(path, "remediationStatus", s, weft.ParseRemediationStatus, "")
		}
		return true, fe
	case eRemediationDetails:
		e.RemediationStatusDetails, fe = r.str(path, name)
		return true, fe
	case eRoles:
		e.Roles, fe = rd.roles(path, name)
		return true, fe
	case eDetailedRoles:
		e.DetailedRoles, fe = rd.strs(path, name)
		return true, fe
	case eTags:
		e.Tags, fe = rd.strs(path, name)
		return true, fe
	case eDetectionStatus:
		e.DetectionStatus, fe = r.str(path, name)

	case eMdeDeviceID:
		e.MdeDeviceID, fe = r.str(path, name)
	case eAzureAdDeviceID:
		e.AzureAdDeviceID, fe = r.str(path, name)
	case eDeviceDNSName:
		e.DeviceDNSName, fe = r.str(path, name)
	case eHostName:
		e.HostName, fe = r.str(path, name)
	case eNtDomain:
		e.NtDomain, fe = r.str(path, name)
	case eDNSDomain:
		e.DNSDomain, fe = r.str(path, name)
	case eOsPlatform:
		e.OsPlatform, fe = r.str(path, name)
	case eOsBuild:
		e.OsBuild, fe = r.int(path, name)
	case eRbacGroupName:
		e.RbacGroupName, fe = r.str(path, name)
	case eHealthStatus:
		e.HealthStatus, fe = r.str(path, name)
	case eRiskScore:
		e.RiskScore, fe = r.str(path, name)
	case eIPInterfaces:
		e.IPInterfaces, fe = rd.strs(path, name)

	case eUserAccount:
		e.UserAccount, fe = rd.userAccount(path, name, &it.unknown)
	case eDisplayName:
		e.DisplayName, fe = r.str(path, name)
	case ePrimaryAddress:
		e.PrimaryAddress, fe = r.str(path, name)
	case eUpn:
		it.upn, fe = r.str(path, name)

	case eNetworkMessageID:
		e.NetworkMessageID, fe = r.str(path, name)
	case eInternetMessageID:
		e.InternetMessageID, fe = r.str(path, name)
	case eSubject:
		e.Subject, fe = r.str(path, name)
	case eSenderIP:
		e.SenderIP, fe = r.str(path, name)
	case eSenderAddress:
		e.SenderAddress, fe = r.str(path, name)
	case eP1Sender:
		it.p1Sender, fe = rd.emailSender(path, name, &it.unknown)
	case eRecipient:
		e.RecipientEmailAddress, fe = r.str(path, name)
	case eDeliveryAction:
		e.DeliveryAction, fe = r.str(path, name)
	case eDeliveryLocation:
		e.DeliveryLocation, fe = r.str(path, name)
	case eAntiSpamDirection:
		e.AntiSpamDirection, fe = r.str(path, name)
	case eReceived:
		e.ReceivedDateTime, fe = r.timePtr(path, name)
	case eURLs:
		e.URLs, fe = rd.strs(path, name)
	case eThreats:
		e.Threats, fe = rd.strs(path, name)

	case eClusterBy:
		e.ClusterBy, fe = r.str(path, name)
	case eClusterByValue:
		e.ClusterByValue, fe = r.str(path, name)
	case eEmailCount:
		e.EmailCount, fe = r.int(path, name)
	case eNetworkMessageIDs:
		e.NetworkMessageIDs, fe = rd.strs(path, name)

	case eIPAddress:
		e.IPAddress, fe = r.str(path, name)
	case eCountryLetterCode:
		e.CountryLetterCode, fe = r.str(path, name)
	case eURL:
		e.URL, fe = r.str(path, name)
	case eDomainName:
		e.DomainName, fe = r.str(path, name)

	case eFileDetails:
		e.FileDetails, fe = rd.fileDetails(path, name, &it.unknown)
	case eProcessID:
		e.ProcessID, fe = r.int(path, name)
	case eCommandLine:
		e.ProcessCommandLine, fe = r.str(path, name)
	case eProcessCreated:
		e.ProcessCreationDateTime, fe = r.timePtr(path, name)
	case eImageFile:
		e.ImageFile, fe = rd.fileDetails(path, name, &it.unknown)
	case eParentProcessID:
		e.ParentProcessID, fe = r.int(path, name)
	case eParentProcessCreated:
		e.ParentProcessCreationDateTime, fe = r.timePtr(path, name)
	case eParentImageFile:
		e.ParentProcessImageFile, fe = rd.fileDetails(path, name, &it.unknown)

	case eRegistryHive:
		e.RegistryHive, fe = r.str(path, name)
	case eRegistryKey:
		e.RegistryKey, fe = r.str(path, name)
	case eRegistryValueName:
		e.RegistryValueName, fe = r.str(path, name)
	case eRegistryValue:
		e.RegistryValue, fe = r.str(path, name)
	case eRegistryValueType:
		e.RegistryValueType, fe = r.str(path, name)

	case eAppID: // an Int64 for cloudApplicationEvidence, a String for oauthApplicationEvidence
		e.AppID, fe = r.strOrNumber(path, name)
	case eInstanceName:
		e.InstanceName, fe = r.str(path, name)
	case ePublisher:
		e.Publisher, fe = r.str(path, name)
	case eObjectID:
		e.ObjectID, fe = r.str(path, name)
	case eSecurityGroupID:
		e.SecurityGroupID, fe = r.str(path, name)
	case eResourceID:
		e.ResourceID, fe = r.str(path, name)
	case eAmazonResourceID:
		it.amazonID, fe = r.str(path, name)
	case eFullResourceName:
		it.googleName, fe = r.str(path, name)
	case eResourceName:
		e.ResourceName, fe = r.str(path, name)
	case eResourceType:
		e.ResourceType, fe = r.str(path, name)

	case eProperties:
		it.properties, fe = r.raw(path, name)
	default:
		var v jsontext.Value
		if v, fe = r.raw(path, name); fe == nil {
			it.unknown.rawb(name, v)
		}
	}
	return false, fe
}

// evidencePaths holds the paths of the first evidence items, so that the
// hot path builds no strings for them.
var evidencePaths = func() (p [64]string) {
	for i := range p {
		p[i] = "evidence[" + strconv.Itoa(i) + "]"
	}
	return p
}()

func evidencePath(i int) string {
	if i < len(evidencePaths) {
		return evidencePaths[i]
	}
	return "evidence[" + strconv.Itoa(i) + "]"
}

func entityTypeNames() string {
	names := make([]string, len(weft.EntityTypes))
	for i, t := range weft.EntityTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
