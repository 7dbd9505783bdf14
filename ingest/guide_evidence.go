package ingest

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/weftxdr/weft"
)

// This file maps one GUIDE row to a weft evidence item: the entity type, the
// roles and verdict, and each anonymised id turned into an identifier of the
// kind weft's identity resolution expects.

// guideEntityTypes maps GUIDE's EntityType values (compared ignoring case) to
// weft's. The other 18 or so (CloudLogonSession, CloudLogonRequest,
// ActiveDirectoryDomain, KubernetesPod, Nic, …) become generic evidence.
var guideEntityTypes = map[string]weft.EntityType{
	"machine":             weft.EntityDevice,
	"user":                weft.EntityUser,
	"mailbox":             weft.EntityMailbox,
	"mailmessage":         weft.EntityEmailMessage,
	"mailcluster":         weft.EntityMailCluster,
	"ip":                  weft.EntityIP,
	"url":                 weft.EntityURL,
	"file":                weft.EntityFile,
	"process":             weft.EntityProcess,
	"registrykey":         weft.EntityRegistryKey,
	"registryvalue":       weft.EntityRegistryValue,
	"cloudapplication":    weft.EntityCloudApplication,
	"oauthapplication":    weft.EntityOAuthApplication,
	"securitygroup":       weft.EntitySecurityGroup,
	"azureresource":       weft.EntityCloudResource,
	"amazonresource":      weft.EntityCloudResource,
	"googlecloudresource": weft.EntityCloudResource,
}

// evidence maps one row to a weft Evidence, into e (zero on entry). Each
// anonymised id becomes an identifier of the kind weft's identity resolution
// expects (see docs/formats.md), prefixed so that ids of different columns
// never meet; an absent id (guide_absent.go) becomes nothing, so it never
// links. The row's own columns
// that are present are kept in Properties under their GUIDE names, with
// the row's Id as guideId.
func (d *guideDecoder) evidence(e *weft.Evidence, rec []string) {
	p := func(g int) string { return d.present(rec, g) }
	pre := func(prefix string, g int) string {
		if v := p(g); v != "" {
			return prefix + v
		}
		return ""
	}
	guideType := strings.TrimSpace(d.field(rec, gEntityType))
	t, ok := guideEntityTypes[strings.ToLower(guideType)]
	if !ok {
		t = weft.EntityGeneric
	}
	e.EntityType = t
	if t == weft.EntityGeneric {
		e.OdataType = guideType
	}
	for _, s := range []string{d.field(rec, gEvidenceRole), d.field(rec, gRoles)} {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if role, err := weft.ParseEvidenceRole(s); err == nil {
			if !containsRole(e.Roles, role) {
				e.Roles = append(e.Roles, role)
			}
		} else {
			e.DetailedRoles = append(e.DetailedRoles, s)
		}
	}
	if s := strings.TrimSpace(d.field(rec, gLastVerdict)); s != "" {
		if v, err := weft.ParseVerdict(s); err == nil {
			e.Verdict = v
		}
	}
	device := pre("guide-device-", gDeviceID)
	upn := ""
	if v := p(gAccountUpn); v != "" {
		upn = "upn-" + v + "@guide.invalid"
	}
	account := func() *weft.UserAccount {
		ua := weft.UserAccount{
			UserSid:           pre("guide-sid-", gAccountSid),
			AzureAdUserID:     pre("guide-aad-", gAccountObjectID),
			UserPrincipalName: upn,
			AccountName:       pre("guide-account-", gAccountName),
		}
		if ua == (weft.UserAccount{}) {
			return nil
		}
		return &ua
	}
	file := func() *weft.FileDetails {
		f := weft.FileDetails{
			FileName: pre("guide-file-", gFileName),
			FilePath: pre("guide-folder-", gFolderPath),
		}
		if v := p(gSha256); v != "" {
			// A 64-digit hex string, as weft wants of a SHA-256: "f", then
			// the id in decimal, zero-padded. Never all zeros.
			f.Sha256 = "f" + strings.Repeat("0", 63-len(v)) + v
		}
		if f == (weft.FileDetails{}) {
			return nil
		}
		return &f
	}
	switch t {
	case weft.EntityDevice:
		e.MdeDeviceID = device
		e.HostName = pre("guide-host-", gDeviceName)
	case weft.EntityUser:
		e.UserAccount = account()
	case weft.EntityMailbox:
		e.UserAccount = account()
		e.PrimaryAddress = upn
	case weft.EntityEmailMessage:
		e.NetworkMessageID = pre("guide-message-", gNetworkMessageID)
		e.RecipientEmailAddress = upn
		e.AntiSpamDirection = strings.TrimSpace(d.field(rec, gAntispamDirection))
	case weft.EntityMailCluster:
		if v := p(gEmailClusterID); v != "" {
			e.ClusterBy, e.ClusterByValue = "guideEmailClusterId", v
		}
		if v := p(gNetworkMessageID); v != "" {
			e.NetworkMessageIDs = []string{"guide-message-" + v}
		}
	case weft.EntityIP:
		if v := p(gIPAddress); v != "" {
			n, _ := strconv.ParseUint(v, 10, 64)
			e.IPAddress = guideIP(n)
		}
	case weft.EntityURL:
		e.URL = pre("https://url-", gURL)
		if e.URL != "" {
			e.URL += ".guide.invalid/"
		}
	case weft.EntityFile:
		e.FileDetails = file()
		e.MdeDeviceID = device
	case weft.EntityProcess:
		e.ImageFile = file()
		e.MdeDeviceID = device
		e.UserAccount = account()
	case weft.EntityRegistryKey:
		e.RegistryKey = pre("guide-registry-key-", gRegistryKey)
		e.MdeDeviceID = device
	case weft.EntityRegistryValue:
		e.RegistryKey = pre("guide-registry-key-", gRegistryKey)
		e.RegistryValueName = pre("guide-registry-value-", gRegistryValueName)
		e.RegistryValue = pre("guide-registry-data-", gRegistryValueData)
		e.MdeDeviceID = device
	case weft.EntityCloudApplication:
		e.AppID = pre("guide-app-", gApplicationID)
		e.DisplayName = pre("guide-app-name-", gApplicationName)
	case weft.EntityOAuthApplication:
		e.AppID = pre("guide-oauth-app-", gOAuthApplicationID)
		e.DisplayName = pre("guide-app-name-", gApplicationName)
	case weft.EntityCloudResource:
		e.ResourceID = pre("guide-resource-", gResourceIDName)
		e.ResourceType = strings.TrimSpace(d.field(rec, gResourceType))
	}
	var props objBuilder
	props.name("guideId")
	props = guideQuote(props, d.field(rec, gID))
	for g := gDeviceID; g < gColumns; g++ {
		if v := d.present(rec, g); v != "" {
			props.name(guideColumnNames[g])
			props = guideQuote(props, v)
		}
	}
	e.Properties = props.bytes()
}

// guideIP returns the address that stands for the anonymised IpAddress n: n
// in the low 64 bits of the IPv6 documentation prefix 2001:db8::/32, which
// no real address uses and which weft takes as public.
func guideIP(n uint64) string {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	for i := 15; i >= 8; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return netip.AddrFrom16(b).String()
}

// containsRole reports whether roles holds r.
func containsRole(roles []weft.EvidenceRole, r weft.EvidenceRole) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}
