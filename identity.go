package weft

import (
	"hash/maphash"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// IdentifierKind names what an identifier is, e.g. "device.mdeId" or
// "user.upn". An identifier is unique within its tenant and kind; identifiers of
// different kinds that appear in one evidence record belong to one entity.
type IdentifierKind string

// Identifier kinds. The order within one entity type is the order of
// preference when picking an entity's key: stable provider ids first, then
// globally unique names, then ambiguous short names.
const (
	IDDeviceMde       IdentifierKind = "device.mdeId"
	IDDeviceAad       IdentifierKind = "device.aadId"
	IDDeviceFQDN      IdentifierKind = "device.fqdn"
	IDDeviceHost      IdentifierKind = "device.hostname" // short name: ambiguous across domains
	IDUserAad         IdentifierKind = "user.aadId"
	IDUserSid         IdentifierKind = "user.sid"
	IDUserUPN         IdentifierKind = "user.upn"
	IDUserEmail       IdentifierKind = "user.email"
	IDUserDomainSam   IdentifierKind = "user.domainSam" // DOMAIN\sam
	IDUserSam         IdentifierKind = "user.sam"       // bare account name: ambiguous
	IDMessageNetwork  IdentifierKind = "message.networkId"
	IDMessageInternet IdentifierKind = "message.internetId"
	IDMailCluster     IdentifierKind = "mailCluster"
	IDIP              IdentifierKind = "ip"
	IDURL             IdentifierKind = "url"
	IDDomain          IdentifierKind = "domain"
	IDFileSha256      IdentifierKind = "file.sha256"
	IDFileSha1        IdentifierKind = "file.sha1"
	IDFileMd5         IdentifierKind = "file.md5"
	IDFilePath        IdentifierKind = "file.path" // a file without a hash: device + path
	IDProcess         IdentifierKind = "process"   // device + pid + creation time
	IDRegistryKey     IdentifierKind = "registryKey"
	IDRegistryValue   IdentifierKind = "registryValue"
	IDApp             IdentifierKind = "app"
	IDSecurityGroup   IdentifierKind = "securityGroup"
	IDCloudResource   IdentifierKind = "cloudResource"
	IDGeneric         IdentifierKind = "generic"
)

// Identifier is one normalized name of an entity.
type Identifier struct {
	Kind  IdentifierKind `json:"kind"`
	Value string         `json:"value"`
}

// String renders the identifier as "kind:value", the form used as an entity
// key.
func (id Identifier) String() string { return string(id.Kind) + ":" + id.Value }

// hashSeed seeds Identifier.Hash: its values are for in-memory tables only
// and differ from process to process.
var hashSeed = maphash.MakeSeed()

// Hash returns a 64-bit hash of the identifier, for in-memory hash tables
// (the correlation engine's identity index). It differs from process to
// process and may collide: a table keyed by it must compare identifiers.
func (id Identifier) Hash() uint64 { return maphash.Comparable(hashSeed, id) }

// Identifiers returns the normalized identifiers of the entity e refers to,
// most preferred first, without duplicates. Evidence that carries no usable
// identifier yields none (and so never links to anything).
//
// Normalization: host names, domains, UPNs and mail addresses lower-case with
// any trailing dot removed; SIDs upper-case; IP addresses canonical (IPv4-mapped
// IPv6 unmapped, zones dropped); URLs with lower-case scheme and host, default
// port and fragment removed; hashes lower-case hex of the right length.
//
// Once the alert is normalized (Alert.Normalize calls Identify) they are
// computed once and shared: the store's entity index, the correlation
// engine and naming all ask for them. The caller must not modify the slice.
func (e *Evidence) Identifiers() []Identifier {
	if e.identified {
		return e.ids
	}
	return e.identifiers()
}

// Identify computes the identifiers of every evidence record of a once, so
// that Identifiers costs nothing afterwards. Call it when the alert's
// evidence is final and before the alert is shared between goroutines;
// Normalize does, and so does the store when it reads alerts back. A
// change to evidence after Identify must be followed by another Identify.
//
// The identifiers of all the alert's records share one array, and their
// hashes another: two allocations an alert instead of two a record.
func (a *Alert) Identify() {
	var all []Identifier
	var small [16]int
	ends := small[:0] // where each record's identifiers end in all
	for i := range a.Evidence {
		a.Evidence[i].identified = false
		all = a.Evidence[i].appendIdentifiers(all)
		ends = append(ends, len(all))
	}
	hs := hashes(all)
	start := 0
	for i := range a.Evidence {
		e := &a.Evidence[i]
		e.ids, e.hashes = nil, nil
		if end := ends[i]; end > start {
			// Full slice expressions: a caller's append must not write
			// into the next record's identifiers.
			e.ids, e.hashes = all[start:end:end], hs[start:end:end]
			start = end
		}
		e.name = e.computeName()
		e.identified = true
	}
}

// IdentifierHashes returns the Hash of each of Identifiers, computed once
// like them. The caller must not modify the slice.
func (e *Evidence) IdentifierHashes() []uint64 {
	if e.identified {
		return e.hashes
	}
	return e.computeHashes()
}

// computeHashes computes IdentifierHashes for a record not identified; a
// function of its own, so that IdentifierHashes is inlined.
func (e *Evidence) computeHashes() []uint64 { return hashes(e.identifiers()) }

func hashes(ids []Identifier) []uint64 {
	if len(ids) == 0 {
		return nil
	}
	hs := make([]uint64, len(ids))
	for i, id := range ids {
		hs[i] = id.Hash()
	}
	return hs
}

// identifiers computes Identifiers.
func (e *Evidence) identifiers() []Identifier { return e.appendIdentifiers(nil) }

// appendIdentifiers appends the record's Identifiers to ids.
func (e *Evidence) appendIdentifiers(ids []Identifier) []Identifier {
	start := len(ids)
	add := func(k IdentifierKind, v string) {
		if v == "" {
			return
		}
		if ids == nil {
			ids = make([]Identifier, 0, 4) // a device or a user has up to four
		}
		for _, x := range ids[start:] {
			if x.Kind == k && x.Value == v {
				return
			}
		}
		ids = append(ids, Identifier{k, v})
	}
	switch e.EntityType {
	case EntityDevice:
		add(IDDeviceMde, strings.ToLower(strings.TrimSpace(e.MdeDeviceID)))
		add(IDDeviceAad, strings.ToLower(strings.TrimSpace(e.AzureAdDeviceID)))
		fqdn := NormalizeHost(e.DeviceDNSName)
		host := NormalizeHost(e.HostName)
		if fqdn == "" && strings.Contains(host, ".") {
			fqdn, host = host, ""
		}
		if fqdn == "" && host != "" && e.DNSDomain != "" {
			fqdn = host + "." + NormalizeHost(e.DNSDomain)
		}
		if strings.Contains(fqdn, ".") {
			add(IDDeviceFQDN, fqdn)
			if host == "" {
				host, _, _ = strings.Cut(fqdn, ".")
			}
		} else if host == "" {
			host = fqdn
		}
		add(IDDeviceHost, host)
	case EntityUser, EntityMailbox:
		if e.UserAccount != nil {
			addAccount(add, e.UserAccount)
		}
		if a := NormalizeMail(e.PrimaryAddress); a != "" {
			add(IDUserEmail, a)
		}
	case EntityEmailMessage:
		add(IDMessageNetwork, strings.ToLower(strings.Trim(strings.TrimSpace(e.NetworkMessageID), "{}")))
		add(IDMessageInternet, strings.TrimSpace(e.InternetMessageID))
	case EntityMailCluster:
		if e.ClusterByValue != "" {
			add(IDMailCluster, e.ClusterBy+"="+e.ClusterByValue)
		}
	case EntityIP:
		add(IDIP, NormalizeIP(e.IPAddress))
	case EntityURL:
		add(IDURL, NormalizeURL(e.URL))
	case EntityDomain:
		add(IDDomain, NormalizeHost(e.DomainName))
	case EntityFile:
		if f := e.FileDetails; f != nil {
			add(IDFileSha256, normalizeHash(f.Sha256, 64))
			add(IDFileSha1, normalizeHash(f.Sha1, 40))
			add(IDFileMd5, normalizeHash(f.Md5, 32))
			if len(ids) == 0 && f.FilePath+f.FileName != "" && e.MdeDeviceID != "" {
				add(IDFilePath, strings.ToLower(e.MdeDeviceID)+"|"+strings.ToLower(joinPath(f.FilePath, f.FileName)))
			}
		}
	case EntityProcess:
		if e.MdeDeviceID != "" && e.ProcessID != 0 {
			v := strings.ToLower(e.MdeDeviceID) + "|" + strconv.FormatInt(e.ProcessID, 10)
			if e.ProcessCreationDateTime != nil {
				v += "|" + e.ProcessCreationDateTime.UTC().Format(time.RFC3339Nano)
			}
			add(IDProcess, v)
		}
	case EntityRegistryKey:
		// A registry key lives on one machine: the same path on two
		// machines is two keys (every Windows machine has a Run key), so
		// the device, when the evidence names it, is part of the identity.
		if k := joinReg(e.RegistryHive, e.RegistryKey); k != "" {
			add(IDRegistryKey, onDevice(e.MdeDeviceID, k))
		}
	case EntityRegistryValue:
		if e.RegistryKey != "" {
			add(IDRegistryValue, onDevice(e.MdeDeviceID, joinReg(e.RegistryHive, e.RegistryKey)+"|"+e.RegistryValueName))
		}
	case EntityCloudApplication, EntityOAuthApplication:
		add(IDApp, strings.ToLower(strings.TrimSpace(e.AppID)))
	case EntitySecurityGroup:
		add(IDSecurityGroup, strings.ToLower(strings.TrimSpace(e.SecurityGroupID)))
	case EntityCloudResource:
		add(IDCloudResource, strings.ToLower(strings.TrimSpace(e.ResourceID)))
	}
	return ids
}

// onDevice scopes a machine-local name (a registry path) to its device:
// "mdeDeviceId|name", lower case; without a device id, just the name.
func onDevice(mdeDeviceID, name string) string {
	name = strings.ToLower(name)
	if d := strings.ToLower(strings.TrimSpace(mdeDeviceID)); d != "" {
		return d + "|" + name
	}
	return name
}

func addAccount(add func(IdentifierKind, string), a *UserAccount) {
	add(IDUserAad, strings.ToLower(strings.TrimSpace(a.AzureAdUserID)))
	add(IDUserSid, strings.ToUpper(strings.TrimSpace(a.UserSid)))
	upn := NormalizeMail(a.UserPrincipalName)
	add(IDUserUPN, upn)
	name := strings.ToLower(strings.TrimSpace(a.AccountName))
	domain := strings.ToLower(strings.TrimSpace(a.DomainName))
	if d, n, ok := strings.Cut(name, `\`); ok { // "DOMAIN\sam" given as the account name
		domain, name = d, n
	}
	if name != "" && domain != "" {
		add(IDUserDomainSam, domain+`\`+name)
	} else if name != "" && upn == "" {
		add(IDUserSam, name)
	}
}

// Key returns the entity's preferred identifier as "kind:value", or "" when
// the evidence has none.
func (e *Evidence) Key() string {
	ids := e.Identifiers()
	if len(ids) == 0 {
		return ""
	}
	return ids[0].String()
}

// Name returns a readable name for the entity: a host name, a UPN, a mail
// address, a file name and so on, falling back to its key.
//
// Like Identifiers it is computed once when the alert is normalized
// (Identify).
func (e *Evidence) Name() string {
	if e.identified {
		return e.name
	}
	return e.computeName()
}

// computeName computes Name.
func (e *Evidence) computeName() string {
	pick := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	var n string
	switch e.EntityType {
	case EntityDevice:
		n = pick(e.DeviceDNSName, e.HostName, e.MdeDeviceID, e.AzureAdDeviceID)
	case EntityUser, EntityMailbox:
		if a := e.UserAccount; a != nil {
			n = pick(a.UserPrincipalName, e.PrimaryAddress, joinAccount(a.DomainName, a.AccountName), a.DisplayName, a.UserSid, a.AzureAdUserID)
		} else {
			n = pick(e.PrimaryAddress, e.DisplayName)
		}
	case EntityEmailMessage:
		n = pick(e.Subject, e.InternetMessageID, e.NetworkMessageID)
	case EntityMailCluster:
		n = pick(e.ClusterByValue)
	case EntityIP:
		n = e.IPAddress
	case EntityURL:
		n = e.URL
	case EntityDomain:
		n = e.DomainName
	case EntityFile:
		if f := e.FileDetails; f != nil {
			n = pick(f.FileName, f.Sha256, f.Sha1, f.Md5)
		}
	case EntityProcess:
		if f := e.ImageFile; f != nil {
			n = f.FileName
		}
		n = pick(n, e.ProcessCommandLine)
	case EntityRegistryKey, EntityRegistryValue:
		n = pick(joinReg(e.RegistryHive, e.RegistryKey))
	default:
		n = pick(e.DisplayName, e.ResourceName, e.AppID, e.SecurityGroupID, e.ResourceID)
	}
	if n == "" {
		n = e.Key()
	}
	return truncate(n, 256)
}

func joinAccount(domain, name string) string {
	if domain == "" {
		return name
	}
	if name == "" {
		return ""
	}
	return domain + `\` + name
}

func joinPath(dir, name string) string {
	if dir == "" || name == "" {
		return dir + name
	}
	if strings.HasSuffix(dir, `\`) || strings.HasSuffix(dir, "/") {
		return dir + name
	}
	if strings.Contains(dir, `\`) {
		return dir + `\` + name
	}
	return dir + "/" + name
}

func joinReg(hive, key string) string {
	if hive == "" {
		return key
	}
	if key == "" {
		return hive
	}
	return hive + `\` + strings.TrimPrefix(key, `\`)
}

// NormalizeHost lower-cases a host or domain name and removes surrounding
// space and a trailing dot.
func NormalizeHost(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// NormalizeMail lower-cases a mail address or UPN; it returns "" for a string
// without an "@" between two non-empty parts.
func NormalizeMail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "smtp:")
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return ""
	}
	return strings.TrimSuffix(s, ".")
}

// NormalizeIP returns the canonical text form of an IP address, or "" if s is
// not one.
func NormalizeIP(s string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return a.Unmap().WithZone("").String()
}

// NormalizeURL lower-cases a URL's scheme and host and removes its fragment and
// a default port. A string that does not parse as an absolute URL is kept as
// trimmed text.
func NormalizeURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		if s != "" && !strings.Contains(s, "://") {
			if u2, err2 := url.Parse("http://" + s); err2 == nil && u2.Host != "" {
				u = u2
			} else {
				return s
			}
		} else {
			return s
		}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	u.Fragment = ""
	u.RawFragment = ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String()
}

func normalizeHash(s string, n int) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != n {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	if strings.Trim(s, "0") == "" { // an all-zero hash means "absent"
		return ""
	}
	return s
}
