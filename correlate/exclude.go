package correlate

// Exclusions: entities that never link (design §4.3), configured per policy.
//
// An exclusion is written "type:pattern". The type is an evidence entity type
// (device, user, mailbox, file, process, ip, url, domain, cloudApplication,
// oauthApplication, registryKey, registryValue, securityGroup,
// cloudResource, emailMessage); "user" also covers mailboxes. The pattern is
// matched, ignoring case, against the entity's readable name (a host name, a
// UPN, a file name, an application's display name …) and against each of its
// normalized identifiers (a file's hashes, a device's FQDN and host name, an
// account's DOMAIN\sam and UPN, and for accounts also the bare name before
// the "@" or after the "\"); "*" matches any run of characters and "?" any one. For ip,
// the pattern may also be a CIDR prefix ("10.0.0.0/8"). Examples:
//
//	user:svc-*                  every service account
//	device:dc0?.contoso.com     the domain controllers
//	ip:198.51.100.0/24          the office NAT range
//	file:rundll32.exe           a system binary, whatever its hash
//
// An excluded entity still resolves identities (its aliases are learnt) and
// still counts as a principal for the hub guard; it just links nothing.

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/weftxdr/weft"
)

// DefaultExclusions are entities that are on every machine or in every
// tenant, so that sharing one says nothing about two alerts: Windows and
// Office binaries that attacks and administrators both run (their hashes are
// the same everywhere), widely used public tools whose official builds every
// intrusion downloads alike, Windows' built-in service accounts (SYSTEM,
// LOCAL SERVICE, NETWORK SERVICE) that run every process not run by a
// person, and Microsoft 365's own cloud applications.
// They are the default policy's Exclusions; a policy may drop or extend them.
var DefaultExclusions = []string{
	"file:cmd.exe", "file:powershell.exe", "file:pwsh.exe", "file:rundll32.exe", "file:regsvr32.exe",
	"file:mshta.exe", "file:wscript.exe", "file:cscript.exe", "file:svchost.exe", "file:services.exe",
	"file:lsass.exe", "file:explorer.exe", "file:conhost.exe", "file:wmic.exe", "file:wmiprvse.exe",
	"file:schtasks.exe", "file:sc.exe", "file:net.exe", "file:net1.exe", "file:certutil.exe",
	"file:bitsadmin.exe", "file:msiexec.exe", "file:reg.exe", "file:taskhostw.exe", "file:werfault.exe",
	"file:winword.exe", "file:excel.exe", "file:powerpnt.exe", "file:outlook.exe",
	"file:psexec.exe", "file:psexec64.exe", "file:psexesvc.exe", "file:procdump.exe", "file:procdump64.exe",
	"file:rclone.exe", "file:7z.exe", "file:anydesk.exe",
	"user:nt authority\\*", "user:s-1-5-18", "user:s-1-5-19", "user:s-1-5-20", "user:system", "user:local service", "user:network service",
	"cloudApplication:Microsoft Exchange Online", "cloudApplication:Microsoft SharePoint Online",
	"cloudApplication:Microsoft OneDrive for Business", "cloudApplication:Office 365",
	"cloudApplication:Microsoft Teams", "cloudApplication:Microsoft Azure*", "cloudApplication:Microsoft 365*",
}

// exclusion is one parsed exclusion.
type exclusion struct {
	types   []weft.EntityType
	pattern string       // lower case
	prefix  netip.Prefix // for ip, when the pattern is a CIDR prefix
}

// linkTypes are the entity types an exclusion may name: those that link.
var linkTypes = map[string][]weft.EntityType{
	"device": {weft.EntityDevice}, "user": {weft.EntityUser, weft.EntityMailbox}, "mailbox": {weft.EntityMailbox},
	"emailmessage": {weft.EntityEmailMessage}, "process": {weft.EntityProcess}, "file": {weft.EntityFile},
	"ip": {weft.EntityIP}, "url": {weft.EntityURL}, "domain": {weft.EntityDomain},
	"cloudapplication": {weft.EntityCloudApplication}, "oauthapplication": {weft.EntityOAuthApplication},
	"registrykey": {weft.EntityRegistryKey}, "registryvalue": {weft.EntityRegistryValue},
	"securitygroup": {weft.EntitySecurityGroup}, "cloudresource": {weft.EntityCloudResource},
}

// parseExclusion parses "type:pattern".
func parseExclusion(s string) (exclusion, error) {
	typ, pat, ok := strings.Cut(s, ":")
	types := linkTypes[strings.ToLower(strings.TrimSpace(typ))]
	pat = strings.ToLower(strings.TrimSpace(pat))
	switch {
	case !ok || types == nil:
		return exclusion{}, weft.Errorf(weft.EINVALID, "exclusion %q: want type:pattern with a type such as user, device, file, ip, url, domain or cloudApplication", s)
	case pat == "" || strings.Trim(pat, "*") == "":
		return exclusion{}, weft.Errorf(weft.EINVALID, "exclusion %q: the pattern would exclude every %s", s, typ)
	case len(pat) > 512:
		return exclusion{}, weft.Errorf(weft.EINVALID, "exclusion %.40q…: the pattern is longer than 512 characters", s)
	}
	x := exclusion{types: types, pattern: pat}
	if types[0] == weft.EntityIP && strings.Contains(pat, "/") {
		p, err := netip.ParsePrefix(pat)
		if err != nil {
			return exclusion{}, weft.Errorf(weft.EINVALID, "exclusion %q: %q is not a CIDR prefix such as 10.0.0.0/8", s, pat)
		}
		x.prefix = p.Masked()
	}
	return x, nil
}

// exclusions is a policy's parsed exclusions, by entity type: a few
// types at most, so a slice searched in order costs less than a map.
type exclusions []typedExclusions

type typedExclusions struct {
	typ weft.EntityType
	x   *typeExclusions
}

// of returns the exclusions of entity type t, or nil. The types are
// most often the same constants, and compared by their bytes' address
// first.
func (xs exclusions) of(t weft.EntityType) *typeExclusions {
	for i := range xs {
		if u := xs[i].typ; len(u) == len(t) && len(t) > 0 && u[0] == t[0] &&
			(unsafe.StringData(string(u)) == unsafe.StringData(string(t)) || u == t) {
			return xs[i].x
		}
	}
	return nil
}

// typeExclusions is one entity type's exclusions, split so that the common
// case costs a map lookup per name: a pattern without wildcards matches
// exactly the string equal to it.
type typeExclusions struct {
	exact    map[string]bool // patterns without "*" or "?"
	globs    []string        // patterns with them
	prefixes []netip.Prefix  // for ip
	account  bool            // user or mailbox: bare account names match too
	// names remembers what evidence names matched (remember); what
	// identifiers matched is remembered in their identity nodes, marked
	// with serial, which no other typeExclusions has.
	names  map[string]bool
	serial uint32
}

// exclusionSerial numbers typeExclusions (typeExclusions.serial). Engines
// in different goroutines compile policies, hence the atomic.
var exclusionSerial atomic.Uint32

// nextExclusionSerial returns a new serial, never 0 (nothing remembered).
// Serials repeat only after 2³² compiled policies' entity types; a node
// would also have to have been asked under the older one since the last
// Reset for a wrong answer to be remembered.
func nextExclusionSerial() uint32 {
	for {
		if s := exclusionSerial.Add(1); s != 0 {
			return s
		}
	}
}

func compileExclusions(list []string) (exclusions, error) {
	var xs exclusions
	for _, s := range list {
		x, err := parseExclusion(s)
		if err != nil {
			return nil, err
		}
		for _, t := range x.types {
			tx := xs.of(t)
			if tx == nil {
				tx = &typeExclusions{exact: map[string]bool{}, account: t == weft.EntityUser || t == weft.EntityMailbox, serial: nextExclusionSerial()}
				xs = append(xs, typedExclusions{t, tx})
			}
			switch {
			case x.prefix.IsValid():
				tx.prefixes = append(tx.prefixes, x.prefix)
			case strings.ContainsAny(x.pattern, "*?"):
				tx.globs = append(tx.globs, x.pattern)
			default:
				tx.exact[x.pattern] = true
			}
		}
	}
	// Types with the same patterns share one typeExclusions ("user:"
	// exclusions apply to users and mailboxes alike), and so its memo and
	// serial: an address seen in user and mailbox records would otherwise
	// have its node's remembered match (node.xmatch) replaced at each.
	for i := range xs {
		for j := range i {
			if xs[j].x.same(xs[i].x) {
				xs[i].x = xs[j].x
				break
			}
		}
	}
	return xs, nil
}

// same reports whether tx and o match the same strings.
func (tx *typeExclusions) same(o *typeExclusions) bool {
	return tx.account == o.account && maps.Equal(tx.exact, o.exact) &&
		slices.Equal(tx.globs, o.globs) && slices.Equal(tx.prefixes, o.prefixes)
}

// excluded reports whether the evidence, whose identifiers are ids
// (ev.Identifiers()), matches one of the exclusions. nodes[k] is the
// identity node of ids[k] in forest: whether an identifier matches is
// remembered in its node (node.xmatch), so that an identifier seen again
// costs no lookup.
func (xs exclusions) excluded(ev *weft.Evidence, ids []weft.Identifier, forest []node, nodes []uint32) bool {
	tx := xs.of(ev.EntityType)
	if tx == nil {
		return false
	}
	if len(tx.prefixes) > 0 {
		if ip, err := netip.ParseAddr(weft.NormalizeIP(ev.IPAddress)); err == nil {
			for _, p := range tx.prefixes {
				if p.Contains(ip.Unmap()) {
					return true
				}
			}
		}
	}
	if len(tx.exact) == 0 && len(tx.globs) == 0 {
		return false
	}
	name := ev.Name()
	nameIsID := false
	for k, id := range ids {
		nd := &forest[nodes[k]]
		if nd.xserial != tx.serial {
			nd.xmatch, nd.xserial = tx.idMatches(id.Value), tx.serial
		}
		if nd.xmatch {
			return true
		}
		nameIsID = nameIsID || id.Value == name
	}
	// A name equal to an identifier's value matched no more than the
	// identifier did (idMatches tries the value as nameMatches does, and
	// more).
	return !nameIsID && remember(&tx.names, name, tx.nameMatches)
}

// maxRemembered bounds the strings a memo holds; past it, it starts
// afresh.
const maxRemembered = 1 << 15

// maxRememberedBytes is the longest string a memo keeps, so that a memo
// holds at most maxRemembered × maxRememberedBytes (8 MiB).
const maxRememberedBytes = 256

// remember returns f(s), from *memo when it holds s. Evidence names and
// identifiers repeat from alert to alert, and matching costs a lower-case
// copy and every pattern.
func remember(memo *map[string]bool, s string, f func(string) bool) bool {
	if len(s) > maxRememberedBytes {
		return f(s) // rare, and a memo of long strings would hold a lot
	}
	if v, ok := (*memo)[s]; ok {
		return v
	}
	if *memo == nil || len(*memo) >= maxRemembered {
		*memo = make(map[string]bool)
	}
	v := f(s)
	(*memo)[s] = v
	return v
}

// nameMatches reports whether an evidence name, in any case, matches.
func (tx *typeExclusions) nameMatches(name string) bool {
	return tx.match(strings.ToLower(name))
}

// idMatches reports whether an identifier value, in any case, matches; for
// an account, also its bare name: "svc-*" matches CONTOSO\svc-sql and
// svc-sql@contoso.com alike.
func (tx *typeExclusions) idMatches(value string) bool {
	v := strings.ToLower(value)
	if tx.match(v) {
		return true
	}
	if tx.account {
		if _, sam, ok := strings.Cut(v, `\`); ok && tx.match(sam) {
			return true
		}
		if local, _, ok := strings.Cut(v, "@"); ok && tx.match(local) {
			return true
		}
	}
	return false
}

// match reports whether s (lower case) matches one of the patterns.
func (tx *typeExclusions) match(s string) bool {
	if tx.exact[s] {
		return true
	}
	for _, p := range tx.globs {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob reports whether s matches pattern, where "*" matches any run of
// characters (including none) and "?" any one character. It runs in
// O(len(pattern)·len(s)) at worst.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
