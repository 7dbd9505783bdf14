package weft

import (
	"encoding/json"
	"time"
)

// EntityType is the kind of thing an evidence record refers to. The values are
// the Graph evidence @odata.type names without their "Evidence" suffix, except
// emailMessage (Graph analyzedMessageEvidence) and generic (any type weft keeps
// but does not interpret; OdataType says which).
type EntityType string

// Entity types.
const (
	EntityDevice           EntityType = "device"
	EntityUser             EntityType = "user"
	EntityMailbox          EntityType = "mailbox"
	EntityEmailMessage     EntityType = "emailMessage"
	EntityMailCluster      EntityType = "mailCluster"
	EntityIP               EntityType = "ip"
	EntityURL              EntityType = "url"
	EntityDomain           EntityType = "domain"
	EntityFile             EntityType = "file"
	EntityProcess          EntityType = "process"
	EntityRegistryKey      EntityType = "registryKey"
	EntityRegistryValue    EntityType = "registryValue"
	EntityCloudApplication EntityType = "cloudApplication"
	EntityOAuthApplication EntityType = "oauthApplication"
	EntitySecurityGroup    EntityType = "securityGroup"
	EntityCloudResource    EntityType = "cloudResource"
	EntityGeneric          EntityType = "generic"
)

// EntityTypes lists the entity types weft interprets, generic last.
var EntityTypes = []EntityType{
	EntityDevice, EntityUser, EntityMailbox, EntityEmailMessage, EntityMailCluster, EntityIP,
	EntityURL, EntityDomain, EntityFile, EntityProcess, EntityRegistryKey, EntityRegistryValue,
	EntityCloudApplication, EntityOAuthApplication, EntitySecurityGroup, EntityCloudResource,
	EntityGeneric,
}

// ParseEntityType parses an entity type name.
func ParseEntityType(s string) (EntityType, error) {
	return parseEnum("entityType", s, EntityTypes, map[string]EntityType{
		"account":             EntityUser,
		"analyzedmessage":     EntityEmailMessage,
		"mailmessage":         EntityEmailMessage,
		"dns":                 EntityDomain,
		"host":                EntityDevice,
		"azureresource":       EntityCloudResource,
		"amazonresource":      EntityCloudResource,
		"googlecloudresource": EntityCloudResource,
	})
}

// Evidence is a typed reference from an alert to an entity, with the roles the
// entity played, the verdict on it and its remediation status. It is a flat
// record: the fields that apply depend on EntityType. Property names are those
// of the Graph alertEvidence subtypes (userAccount, fileDetails, imageFile are
// nested as in Graph), so the native weft format reads like Graph's.
//
// All string content is attacker-controlled: it is stored and returned
// byte-exact and must be escaped wherever it is shown.
type Evidence struct {
	EntityType EntityType `json:"entityType"`
	// ids, hashes and name hold Identifiers, IdentifierHashes and Name
	// once Identify has computed them; identified says it has (evidence
	// without identifiers has none to hold). They follow the type, which
	// the correlation engine reads with them, so that the five share the
	// record's first two cache lines, not its first and last.
	ids        []Identifier
	hashes     []uint64
	identified bool
	name       string

	OdataType                string            `json:"odataType,omitempty"` // the source's @odata.type, kept for generic evidence
	CreatedDateTime          *time.Time        `json:"createdDateTime,omitempty"`
	Roles                    []EvidenceRole    `json:"roles,omitempty"`
	DetailedRoles            []string          `json:"detailedRoles,omitempty"`
	Tags                     []string          `json:"tags,omitempty"`
	Verdict                  Verdict           `json:"verdict,omitempty"`
	RemediationStatus        RemediationStatus `json:"remediationStatus,omitempty"`
	RemediationStatusDetails string            `json:"remediationStatusDetails,omitempty"`
	DetectionStatus          string            `json:"detectionStatus,omitempty"`

	// Device.
	MdeDeviceID     string   `json:"mdeDeviceId,omitempty"` // also the device a file or process was seen on
	AzureAdDeviceID string   `json:"azureAdDeviceId,omitempty"`
	DeviceDNSName   string   `json:"deviceDnsName,omitempty"`
	HostName        string   `json:"hostName,omitempty"`
	NtDomain        string   `json:"ntDomain,omitempty"`
	DNSDomain       string   `json:"dnsDomain,omitempty"`
	OsPlatform      string   `json:"osPlatform,omitempty"`
	OsBuild         int64    `json:"osBuild,omitzero"`
	RbacGroupName   string   `json:"rbacGroupName,omitempty"`
	HealthStatus    string   `json:"healthStatus,omitempty"`
	RiskScore       string   `json:"riskScore,omitempty"`
	IPInterfaces    []string `json:"ipInterfaces,omitempty"`

	// User, and the account of a mailbox or process.
	UserAccount *UserAccount `json:"userAccount,omitempty"`

	// Mailbox; DisplayName also names apps, groups and cloud resources.
	DisplayName    string `json:"displayName,omitempty"`
	PrimaryAddress string `json:"primaryAddress,omitempty"`

	// Email message (Graph analyzedMessageEvidence).
	NetworkMessageID      string     `json:"networkMessageId,omitempty"`
	InternetMessageID     string     `json:"internetMessageId,omitempty"`
	Subject               string     `json:"subject,omitempty"`
	SenderIP              string     `json:"senderIp,omitempty"`
	SenderAddress         string     `json:"senderAddress,omitempty"` // Graph p1Sender.emailAddress (envelope sender)
	RecipientEmailAddress string     `json:"recipientEmailAddress,omitempty"`
	DeliveryAction        string     `json:"deliveryAction,omitempty"`
	DeliveryLocation      string     `json:"deliveryLocation,omitempty"`
	AntiSpamDirection     string     `json:"antiSpamDirection,omitempty"`
	ReceivedDateTime      *time.Time `json:"receivedDateTime,omitempty"`
	URLs                  []string   `json:"urls,omitempty"`
	Threats               []string   `json:"threats,omitempty"`

	// Mail cluster.
	ClusterBy         string   `json:"clusterBy,omitempty"`
	ClusterByValue    string   `json:"clusterByValue,omitempty"`
	EmailCount        int64    `json:"emailCount,omitzero"`
	NetworkMessageIDs []string `json:"networkMessageIds,omitempty"`

	// IP, URL, domain.
	IPAddress         string `json:"ipAddress,omitempty"`
	CountryLetterCode string `json:"countryLetterCode,omitempty"`
	URL               string `json:"url,omitempty"`
	DomainName        string `json:"domainName,omitempty"`

	// File.
	FileDetails *FileDetails `json:"fileDetails,omitempty"`

	// Process.
	ProcessID                     int64        `json:"processId,omitzero"`
	ProcessCommandLine            string       `json:"processCommandLine,omitempty"`
	ProcessCreationDateTime       *time.Time   `json:"processCreationDateTime,omitempty"`
	ImageFile                     *FileDetails `json:"imageFile,omitempty"`
	ParentProcessID               int64        `json:"parentProcessId,omitzero"`
	ParentProcessCreationDateTime *time.Time   `json:"parentProcessCreationDateTime,omitempty"`
	ParentProcessImageFile        *FileDetails `json:"parentProcessImageFile,omitempty"`

	// Registry key and value.
	RegistryHive      string `json:"registryHive,omitempty"`
	RegistryKey       string `json:"registryKey,omitempty"`
	RegistryValueName string `json:"registryValueName,omitempty"`
	RegistryValue     string `json:"registryValue,omitempty"`
	RegistryValueType string `json:"registryValueType,omitempty"`

	// Cloud and OAuth application, security group, cloud resource.
	AppID           string `json:"appId,omitempty"`
	InstanceName    string `json:"instanceName,omitempty"`
	Publisher       string `json:"publisher,omitempty"`
	ObjectID        string `json:"objectId,omitempty"`
	SecurityGroupID string `json:"securityGroupId,omitempty"`
	ResourceID      string `json:"resourceId,omitempty"`
	ResourceName    string `json:"resourceName,omitempty"`
	ResourceType    string `json:"resourceType,omitempty"`

	// Properties keeps the source's properties that weft does not map, as a
	// JSON object: all of them for generic evidence.
	Properties json.RawMessage `json:"properties,omitempty"`
}

// UserAccount is the Graph userAccount: the names one account goes by.
type UserAccount struct {
	AccountName       string `json:"accountName,omitempty"`
	DomainName        string `json:"domainName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	UserSid           string `json:"userSid,omitempty"`
	AzureAdUserID     string `json:"azureAdUserId,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
}

// FileDetails is the Graph fileDetails.
type FileDetails struct {
	FileName      string `json:"fileName,omitempty"`
	FilePath      string `json:"filePath,omitempty"`
	FilePublisher string `json:"filePublisher,omitempty"`
	FileSize      int64  `json:"fileSize,omitzero"`
	Issuer        string `json:"issuer,omitempty"`
	Signer        string `json:"signer,omitempty"`
	Md5           string `json:"md5,omitempty"`
	Sha1          string `json:"sha1,omitempty"`
	Sha256        string `json:"sha256,omitempty"`
}
