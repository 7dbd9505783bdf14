package ingest

import (
	"slices"
	"strconv"
	"strings"

	"github.com/weftxdr/weft"
)

// This file holds the entity building the OCSF and Elastic decoders
// (ocsf.go, elastic.go) share: the evidence collector with its cap and its
// merging of duplicates, and the helpers that turn their user, device and
// file fields into weft's evidence.

// docEntities collects an alert's evidence. It keeps at most
// weft.MaxEvidence items (a finding naming more entities is cut, with a
// warning, rather than refused) and merges an item into an earlier one of
// the same type and key, so that the user a finding names as the actor and
// as the process owner is one entity.
type docEntities struct {
	items []weft.Evidence
	cut   bool
}

// add adds e.
func (s *docEntities) add(e weft.Evidence) {
	if len(s.items) >= weft.MaxEvidence {
		s.cut = true
		return
	}
	if s.items == nil {
		s.items = make([]weft.Evidence, 0, 8) // weft.Evidence is large: spare the copies of growing from one
	}
	s.items = append(s.items, e)
}

// setVerdict sets the verdict of the items added since mark.
func (s *docEntities) setVerdict(mark int, v weft.Verdict) {
	for i := mark; i < len(s.items); i++ {
		s.items[i].Verdict = v
	}
}

// evidence returns the items, duplicates merged: the first keeps its
// fields and gains the roles of the others.
func (r *docReader) evidence() []weft.Evidence {
	if r.cut {
		r.warn("more than " + strconv.Itoa(weft.MaxEvidence) + " entities: the others are only in the raw record")
	}
	items := r.items
	if len(items) < 2 {
		return items
	}
	seen := make(map[string]int, len(items))
	out := items[:0]
	for _, e := range items {
		k := e.Key()
		if k == "" {
			out = append(out, e)
			continue
		}
		k = string(e.EntityType) + " " + k
		if j, dup := seen[k]; dup {
			for _, role := range e.Roles {
				if !slices.Contains(out[j].Roles, role) {
					out[j].Roles = append(out[j].Roles, role)
				}
			}
			for _, role := range e.DetailedRoles {
				out[j].DetailedRoles = appendNew(out[j].DetailedRoles, role)
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, e)
	}
	return out
}

// accountOf builds the account of a user named name — a bare account name,
// DOMAIN\name or a UPN — in domain, whose id is uid (kept when it is a
// SID). The placeholders Windows writes for "none" ("-", ".", the null SID
// S-1-0-0) are dropped, since every alert would share them. It returns nil
// when nothing is left.
func accountOf(name, domain, uid string) *weft.UserAccount {
	name, domain, uid = strings.TrimSpace(name), strings.TrimSpace(domain), strings.TrimSpace(uid)
	if dom, sam, ok := strings.Cut(name, `\`); ok && domain == "" {
		domain, name = dom, sam
	}
	ua := weft.UserAccount{DomainName: domain, AccountName: name}
	if strings.Contains(name, "@") {
		ua.UserPrincipalName, ua.AccountName = name, ""
	}
	if len(uid) > 4 && strings.EqualFold(uid[:4], "S-1-") && uid != "S-1-0-0" {
		ua.UserSid = uid
	}
	if ua.AccountName == "-" || ua.AccountName == "N/A" {
		ua.AccountName = ""
	}
	if ua.DomainName == "." || ua.DomainName == "-" {
		ua.DomainName = ""
	}
	if ua.AccountName == "" && ua.UserPrincipalName == "" && ua.UserSid == "" {
		return nil
	}
	return &ua
}

// setDeviceHost sets a device's names from a host name (short or fully
// qualified) and a domain (DNS or NetBIOS).
func setDeviceHost(e *weft.Evidence, host, domain string) {
	if strings.Contains(host, ".") {
		e.DeviceDNSName = host
		e.HostName, _, _ = strings.Cut(host, ".")
	} else {
		e.HostName = host
	}
	switch {
	case domain == "" || domain == "." || domain == "-":
	case strings.Contains(domain, "."):
		e.DNSDomain = domain
	default:
		e.NtDomain = domain
	}
}

// splitFilePath splits a full path, Windows or POSIX, into its folder and
// its file name.
func splitFilePath(p string) (dir, name string) {
	i := strings.LastIndexAny(p, `/\`)
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// setFileHash sets the hash named algo (md5, sha1, sha256, in any case and
// with or without a hyphen) of fd.
func setFileHash(fd *weft.FileDetails, algo, value string) {
	if value == "" {
		return
	}
	switch strings.ReplaceAll(strings.ToLower(algo), "-", "") {
	case "md5":
		fd.Md5 = value
	case "sha1":
		fd.Sha1 = value
	case "sha256":
		fd.Sha256 = value
	}
}

// firstNonEmpty returns the first of vs that is not "".
func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// firstItem returns the first element of l, or "".
func firstItem(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// appendNew appends s to l unless s is "" or already there.
func appendNew(l []string, s string) []string {
	if s == "" || slices.Contains(l, s) {
		return l
	}
	return append(l, s)
}
