package priority

import (
	"strings"

	"github.com/weftxdr/weft"
)

// Domain is the part of the estate an alert watches. An attack seen in more
// than one domain (a phishing mail, then a sign-in, then a process) has got
// further than one seen in a single product.
type Domain uint8

// Domains, in the order details list them. DomainUnknown is an alert weft
// cannot place; it adds no domain.
const (
	DomainUnknown Domain = iota
	DomainEndpoint
	DomainIdentity
	DomainEmail
	DomainCloudApp
	DomainNetwork
)

var domainNames = [...]string{"unknown", "endpoint", "identity", "email", "cloud app", "network"}

// String returns the domain's name as details print it ("cloud app").
func (d Domain) String() string {
	if int(d) < len(domainNames) {
		return domainNames[d]
	}
	return "unknown"
}

// sourceDomains maps fragments of a folded source name (serviceSource,
// detectionSource, productName or the weft source; lower-case letters and
// digits only) to a domain. The first fragment contained in the name wins, so
// longer, more specific fragments come first.
var sourceDomains = []struct {
	fragment string
	domain   Domain
}{
	// Microsoft Graph serviceSource / detectionSource values and product names.
	{"defenderforendpoint", DomainEndpoint},
	{"defenderforservers", DomainEndpoint},
	{"defenderforcontainers", DomainEndpoint},
	{"antivirus", DomainEndpoint},
	{"smartscreen", DomainEndpoint},
	{"defenderforidentity", DomainIdentity},
	{"azureadidentityprotection", DomainIdentity},
	{"entraidprotection", DomainIdentity},
	{"identityprotection", DomainIdentity},
	{"defenderforoffice365", DomainEmail},
	{"office365", DomainEmail},
	{"exchangeonline", DomainEmail},
	{"defenderforcloudapps", DomainCloudApp},
	{"cloudappsecurity", DomainCloudApp},
	{"appgovernance", DomainCloudApp},
	{"defenderforcloud", DomainCloudApp},
	{"defenderforstorage", DomainCloudApp},
	{"defenderforkeyvault", DomainCloudApp},
	{"defenderforresourcemanager", DomainCloudApp},
	{"defenderfornetwork", DomainNetwork},
	{"defenderfordns", DomainNetwork},
	{"defenderforiot", DomainNetwork},
	// Third-party products whose domain is not in doubt.
	{"crowdstrike", DomainEndpoint},
	{"sentinelone", DomainEndpoint},
	{"carbonblack", DomainEndpoint},
	{"sysmon", DomainEndpoint},
	{"osquery", DomainEndpoint},
	{"okta", DomainIdentity},
	{"proofpoint", DomainEmail},
	{"mimecast", DomainEmail},
	{"suricata", DomainNetwork},
	{"zeek", DomainNetwork},
	{"snort", DomainNetwork},
	{"paloalto", DomainNetwork},
	{"fortigate", DomainNetwork},
}

// DomainOf places an alert in a domain. It looks at the detection source, the
// service source, the product name and the weft source, in that order, and
// uses the first that names a known product. Sources that span domains (a
// SIEM such as Wazuh, Elastic or Sentinel, Defender XDR custom detections) or
// that weft does not know fall back to the alert's evidence: email messages
// mean email; processes, files and registry mean endpoint; cloud apps and
// resources mean cloud app; a device means endpoint; a user or mailbox alone
// means identity; only IPs, URLs or domains mean network. Without evidence, a
// malware-like category (Malware, Ransomware, UnwantedSoftware, Exploit) means
// endpoint; anything else is DomainUnknown.
func DomainOf(a *weft.Alert) Domain {
	for _, s := range [...]string{a.DetectionSource, a.ServiceSource, a.ProductName, a.Source} {
		if d := sourceDomain(s); d != DomainUnknown {
			return d
		}
	}
	return evidenceDomain(a)
}

func sourceDomain(s string) Domain {
	if s == "" || len(s) > 128 {
		return DomainUnknown
	}
	var buf [128]byte
	k := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			k = append(k, c)
		case 'A' <= c && c <= 'Z':
			k = append(k, c+'a'-'A')
		}
	}
	for _, sd := range sourceDomains {
		if strings.Contains(string(k), sd.fragment) {
			return sd.domain
		}
	}
	return DomainUnknown
}

func evidenceDomain(a *weft.Alert) Domain {
	var email, host, cloud, device, user, net bool
	for i := range a.Evidence {
		switch a.Evidence[i].EntityType {
		case weft.EntityEmailMessage, weft.EntityMailCluster:
			email = true
		case weft.EntityProcess, weft.EntityFile, weft.EntityRegistryKey, weft.EntityRegistryValue:
			host = true
		case weft.EntityCloudApplication, weft.EntityOAuthApplication, weft.EntityCloudResource:
			cloud = true
		case weft.EntityDevice:
			device = true
		case weft.EntityUser, weft.EntityMailbox, weft.EntitySecurityGroup:
			user = true
		case weft.EntityIP, weft.EntityURL, weft.EntityDomain:
			net = true
		}
	}
	switch {
	case email:
		return DomainEmail
	case host:
		return DomainEndpoint
	case cloud:
		return DomainCloudApp
	case device:
		return DomainEndpoint
	case user:
		return DomainIdentity
	case net:
		return DomainNetwork
	}
	if c, ok := ParseCategory(a.Category); ok {
		switch c.Name {
		case "Malware", "Ransomware", "UnwantedSoftware", "Exploit":
			return DomainEndpoint
		}
	}
	return DomainUnknown
}
