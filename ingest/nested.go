package ingest

import (
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// This file decodes the objects and lists nested in an evidence item:
// userAccount, fileDetails (also imageFile and parentProcessImageFile),
// p1Sender and roles.

// roles reads an item's roles.
func (rd *recordDecoder) roles(path string, name []byte) ([]weft.EvidenceRole, *fieldErr) {
	r := &rd.d.r
	ok, fe := r.enter(path, name, '[', "an array of strings")
	if !ok || fe != nil {
		return nil, fe
	}
	var out []weft.EvidenceRole
	for j := 0; ; j++ {
		more, fe := r.more()
		if fe != nil || !more {
			return out, fe
		}
		v, fe := r.value()
		if fe != nil {
			return nil, fe
		}
		var role weft.EvidenceRole
		switch v.Kind() {
		case '"':
			role, fe = parseEnum(path, "roles", r.strings.make(r.unquoteValue(v)), weft.ParseEvidenceRole, "unknown")
		case 'n':
			continue
		default:
			fe = &fieldErr{msg: "expected a string, got " + kindWords(v.Kind())}
		}
		if fe != nil {
			if skip := r.skipRest(); skip != nil {
				return nil, skip
			}
			fe.field = at(path, name) + "[" + strconv.Itoa(j) + "]"
			return nil, fe
		}
		if len(out) == weft.MaxListItems {
			continue
		}
		if out == nil {
			out = make([]weft.EvidenceRole, 0, 2)
		}
		out = append(out, role)
	}
}

// nestedObject reads the object in member name of path, calling member for
// each member that table knows. It keeps the others in unknown under name
// (or drops them when unknown is nil) and prefixes errors with the object's
// path. It returns false for an absent object (null).
func (rd *recordDecoder) nestedObject(path string, name []byte, table *fieldTable, unknown *objBuilder, member func(id int, m []byte) *fieldErr) (bool, *fieldErr) {
	r := &rd.d.r
	ok, fe := r.enter(path, name, '{', "an object")
	if !ok || fe != nil {
		return false, fe
	}
	var extra objBuilder
	var seen seenSet
	mark := r.names.mark()
	defer r.names.release(mark)
	for {
		m, more, fe := r.next()
		if fe == nil && !more {
			if len(extra) > 0 && unknown != nil {
				unknown.rawb(name, extra.bytes())
			}
			return true, nil
		}
		if fe == nil {
			switch id := table.lookup(m); {
			case id >= 0 && !seen.add(id), id < 0 && !r.names.add(mark, m):
				fe = duplicate("", m)
			case id >= 0:
				fe = member(id, m)
			default:
				var v jsontext.Value
				if v, fe = r.raw("", m); fe == nil && unknown != nil {
					extra.rawb(m, v)
				}
			}
		}
		if fe != nil {
			if !fe.fatal {
				if skip := r.skipRest(); skip != nil {
					return false, skip
				}
			}
			if fe.field != "" {
				fe.field = at(path, name) + "." + fe.field
			}
			return false, fe
		}
	}
}

// userAccount decodes a Graph userAccount.
func (rd *recordDecoder) userAccount(path string, name []byte, unknown *objBuilder) (*weft.UserAccount, *fieldErr) {
	r := &rd.d.r
	a := r.accounts.new()
	ok, fe := rd.nestedObject(path, name, userAccountFields, unknown, func(id int, m []byte) (fe *fieldErr) {
		switch id {
		case uAccountName:
			a.AccountName, fe = r.str("", m)
		case uDomainName:
			a.DomainName, fe = r.str("", m)
		case uUserPrincipalName:
			a.UserPrincipalName, fe = r.str("", m)
		case uUserSid:
			a.UserSid, fe = r.str("", m)
		case uAzureAdUserID:
			a.AzureAdUserID, fe = r.str("", m)
		case uDisplayName:
			a.DisplayName, fe = r.str("", m)
		}
		return fe
	})
	if !ok || fe != nil {
		return nil, fe
	}
	return a, nil
}

// fileDetails decodes a Graph fileDetails.
func (rd *recordDecoder) fileDetails(path string, name []byte, unknown *objBuilder) (*weft.FileDetails, *fieldErr) {
	r := &rd.d.r
	f := r.files.new()
	ok, fe := rd.nestedObject(path, name, fileDetailsFields, unknown, func(id int, m []byte) (fe *fieldErr) {
		switch id {
		case fdFileName:
			f.FileName, fe = r.str("", m)
		case fdFilePath:
			f.FilePath, fe = r.str("", m)
		case fdFilePublisher:
			f.FilePublisher, fe = r.str("", m)
		case fdFileSize:
			f.FileSize, fe = r.int("", m)
		case fdIssuer:
			f.Issuer, fe = r.str("", m)
		case fdSigner:
			f.Signer, fe = r.str("", m)
		case fdMd5:
			f.Md5, fe = r.str("", m)
		case fdSha1:
			f.Sha1, fe = r.str("", m)
		case fdSha256:
			f.Sha256, fe = r.str("", m)
		}
		return fe
	})
	if !ok || fe != nil {
		return nil, fe
	}
	return f, nil
}

// emailSender decodes a Graph emailSender and returns its address; weft
// keeps its other members in unknown.
func (rd *recordDecoder) emailSender(path string, name []byte, unknown *objBuilder) (string, *fieldErr) {
	var addr string
	_, fe := rd.nestedObject(path, name, emailSenderFields, unknown, func(_ int, m []byte) (fe *fieldErr) {
		addr, fe = rd.d.r.str("", m)
		return fe
	})
	return addr, fe
}
