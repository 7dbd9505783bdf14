package weft

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file parses the incident queue's $filter and $orderby: a small, strict
// subset of OData v4 (docs: the queue section of the API documentation).
// Everything outside the subset — a function, an unknown field, an operator
// the field does not support, a value of the wrong type — is refused with an
// EINVALID or EUNSUPPORTED error that names it and its position, never
// ignored: a client that filters and silently gets everything back acts on the
// wrong data.

// FilterOp is the operator of one node of an IncidentFilter.
type FilterOp string

// Filter operators. And and Or combine Terms; the comparisons compare Field
// with Values[0] (In: with any of Values); Any is true when the collection
// Field has an element equal to one of Values, or, with no Values, any
// element at all.
const (
	FilterAnd FilterOp = "and"
	FilterOr  FilterOp = "or"
	FilterEq  FilterOp = "eq"
	FilterNe  FilterOp = "ne"
	FilterIn  FilterOp = "in"
	FilterGt  FilterOp = "gt"
	FilterGe  FilterOp = "ge"
	FilterLt  FilterOp = "lt"
	FilterLe  FilterOp = "le"
	FilterAny FilterOp = "any"
)

// IncidentFilter is a parsed incident $filter: a tree whose leaves compare one
// queue field with typed values. Values hold, by field: Severity for
// severity; IncidentStatus, Classification, Determination for those enums
// (canonical spelling); string for assignedTo and the collections; int64 for
// priorityScore and alertCount; time.Time (UTC) for the date-times; bool for
// multipleSources; string for entities (a name or identifier as given) and deviceGroups; nil
// for null (priorityScore and assignedTo, eq and ne only; a null assignedTo is
// the unassigned incident).
type IncidentFilter struct {
	Op     FilterOp
	Terms  []*IncidentFilter // And, Or: two or more
	Field  string            // comparisons and Any: the field's JSON name
	Values []any
}

// String returns the filter in $filter syntax, fully parenthesized; parsing it
// gives the same filter.
func (f *IncidentFilter) String() string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

func (f *IncidentFilter) write(b *strings.Builder) {
	switch f.Op {
	case FilterAnd, FilterOr:
		b.WriteByte('(')
		for i, t := range f.Terms {
			if i > 0 {
				b.WriteString(" " + string(f.Op) + " ")
			}
			t.write(b)
		}
		b.WriteByte(')')
	case FilterAny:
		b.WriteString(f.Field + "/any(")
		if len(f.Values) > 0 {
			b.WriteString("x: x in ")
			writeValues(b, f.Values)
		}
		b.WriteByte(')')
	case FilterIn:
		b.WriteString(f.Field + " in ")
		writeValues(b, f.Values)
	default:
		b.WriteString(f.Field + " " + string(f.Op) + " ")
		writeValue(b, f.Values[0])
	}
}

func writeValues(b *strings.Builder, vs []any) {
	b.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		writeValue(b, v)
	}
	b.WriteByte(')')
}

func writeValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case time.Time:
		b.WriteString(v.Format(time.RFC3339Nano))
	default:
		b.WriteString("'" + strings.ReplaceAll(fmt.Sprint(v), "'", "''") + "'")
	}
}

// Filter limits keep one $filter's parse and its SQL bounded.
const (
	maxFilterLength = 4096
	maxFilterTerms  = 64
	maxFilterDepth  = 16
	maxFilterValues = 100
)

// filterKind is the type of a queue field, which decides its operators and
// literals.
type filterKind int

const (
	kindEnum filterKind = iota
	kindSeverity
	kindString
	kindNumber
	kindTime
	kindCollection
	kindBool
	// kindEntity is filtered like a collection, entities/any(e: e eq 'name'),
	// but always with values: it is not a column of the incident but the
	// entities its alerts name, matched by name or identifier.
	kindEntity
)

type filterField struct {
	kind     filterKind
	nullable bool
	parse    func(string) (any, error) // kindEnum
	allowed  string                    // kindEnum: the allowed values, for messages
}

func enumField[T ~string](parse func(string) (T, error), allowed []T) filterField {
	names := make([]string, len(allowed))
	for i, v := range allowed {
		names[i] = string(v)
	}
	return filterField{kind: kindEnum, allowed: strings.Join(names, ", "), parse: func(s string) (any, error) {
		v, err := parse(s)
		if err == nil && v == "" {
			err = Errorf(EINVALID, "empty value")
		}
		return v, err
	}}
}

// queueStatuses are the statuses the queue can show: redirected incidents
// (merged into another) are never listed.
var queueStatuses = []IncidentStatus{IncidentStatusActive, IncidentStatusInProgress, IncidentStatusResolved, IncidentStatusAwaitingAction}

func parseQueueStatus(s string) (IncidentStatus, error) {
	st, err := ParseIncidentStatus(s)
	if err != nil || st == IncidentStatusRedirected {
		return "", Errorf(EINVALID, "not a listed status")
	}
	return st, nil
}

// incidentFilterFields are the queue fields $filter accepts, by JSON name.
var incidentFilterFields = map[string]filterField{
	"status":                enumField(parseQueueStatus, queueStatuses),
	"severity":              {kind: kindSeverity},
	"classification":        enumField(ParseClassification, Classifications),
	"determination":         enumField(ParseDetermination, Determinations),
	"assignedTo":            {kind: kindString, nullable: true},
	"priorityScore":         {kind: kindNumber, nullable: true},
	"alertCount":            {kind: kindNumber},
	"createdDateTime":       {kind: kindTime},
	"lastUpdateDateTime":    {kind: kindTime},
	"firstActivityDateTime": {kind: kindTime},
	"lastActivityDateTime":  {kind: kindTime},
	"customTags":            {kind: kindCollection},
	"systemTags":            {kind: kindCollection},
	"categories":            {kind: kindCollection},
	"serviceSources":        {kind: kindCollection},
	"detectionSources":      {kind: kindCollection},
	"multipleSources":       {kind: kindBool},
	"entities":              {kind: kindEntity},
	"deviceGroups":          {kind: kindEntity},
}

// IncidentFilterFields lists the fields $filter accepts, sorted.
func IncidentFilterFields() []string {
	names := make([]string, 0, len(incidentFilterFields))
	for n := range incidentFilterFields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// token kinds of the $filter lexer.
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokLiteral // a number or a date-time: digits first
	tokLParen
	tokRParen
	tokComma
	tokColon
)

type token struct {
	kind tokKind
	text string // tokString: unquoted
	pos  int    // 1-based byte offset in the filter
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of filter"
	case tokString:
		return fmt.Sprintf("'%s'", truncate(t.text, 64))
	default:
		return fmt.Sprintf("%q", truncate(t.text, 64))
	}
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',' || c == ':':
			k := map[byte]tokKind{'(': tokLParen, ')': tokRParen, ',': tokComma, ':': tokColon}[c]
			toks = append(toks, token{k, string(c), i + 1})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, Errorf(EINVALID, "$filter: unterminated string starting at position %d", i+1)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{tokString, b.String(), i + 1})
			i = j + 1
		case c >= '0' && c <= '9' || c == '-':
			j := i + 1
			for j < len(s) && (isAlnum(s[j]) || strings.IndexByte(":.+-", s[j]) >= 0) {
				j++
			}
			toks = append(toks, token{tokLiteral, s[i:j], i + 1})
			i = j
		case isAlnum(c) || c == '_':
			j := i + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_' || s[j] == '/' || s[j] == '.') {
				j++
			}
			toks = append(toks, token{tokIdent, s[i:j], i + 1})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, Errorf(EINVALID, "$filter: unexpected character %q at position %d", r, i+1)
		}
	}
	return append(toks, token{tokEOF, "", len(s) + 1}), nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ParseIncidentFilter parses an incident $filter. The grammar (keywords are
// lower case, field names as in the incident's JSON):
//
//	filter     = or
//	or         = and { "or" and }
//	and        = primary { "and" primary }
//	primary    = "(" or ")" | comparison | any
//	comparison = field op literal | field "in" "(" literal { "," literal } ")"
//	op         = "eq" | "ne" | "gt" | "ge" | "lt" | "le"
//	any        = collection "/any(" [ var ":" lambda ] ")"
//	lambda     = term { "or" term };  term = var "eq" string | var "in" "(" string {"," string} ")" | "(" lambda ")"
//	literal    = 'string' (quote doubled inside) | integer | date-time (RFC 3339, bare or quoted) | null
//
// Enumerations (status, severity, classification, determination) are
// validated and compare case-insensitively; severity orders from
// informational to high for gt/ge/lt/le. multipleSources takes true or
// false (eq, ne, in). entities is filtered like a collection, always with a
// value: entities/any(e: e eq 'ws-042.contoso.com') matches the incidents
// whose alerts name an entity with that name or identifier; deviceGroups
// likewise, deviceGroups/any(g: g eq 'Finance') matching the incidents
// whose alerts name a device that the asset inventory puts in that device
// group (case-insensitively). It returns an EINVALID error naming
// the offending token and its 1-based position, or EUNSUPPORTED for a
// function, operator or field weft does not filter on. A filter beyond
// 4096 characters, 64 comparisons, 16 levels of parentheses or 100 values in
// one list is EINVALID too.
func ParseIncidentFilter(s string) (*IncidentFilter, error) {
	if len(s) > maxFilterLength {
		return nil, Errorf(EINVALID, "$filter is %d characters long; the limit is %d", len(s), maxFilterLength)
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	if p.peek().kind == tokEOF {
		return nil, Errorf(EINVALID, "$filter is empty")
	}
	f, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t, "\"and\", \"or\" or the end of the filter")
	}
	return f, nil
}

type filterParser struct {
	toks  []token
	i     int
	terms int
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *filterParser) unexpected(t token, want string) error {
	if t.kind == tokIdent {
		if msg := unsupportedWord(t.text); msg != "" {
			return Errorf(EUNSUPPORTED, "$filter: %s at position %d", msg, t.pos)
		}
	}
	return Errorf(EINVALID, "$filter: expected %s at position %d, found %s", want, t.pos, t.describe())
}

// unsupportedWord explains OData words weft knows but does not support.
func unsupportedWord(w string) string {
	switch w {
	case "not":
		return "operator \"not\" is not supported (use ne, or the complementary values with in)"
	case "has", "add", "sub", "mul", "div", "divby", "mod":
		return fmt.Sprintf("operator %q is not supported", w)
	}
	return ""
}

func (p *filterParser) keyword(w string) bool {
	if t := p.peek(); t.kind == tokIdent && t.text == w {
		p.i++
		return true
	}
	return false
}

func (p *filterParser) parseOr(depth int) (*IncidentFilter, error) {
	return p.parseJunction(depth, FilterOr, func() (*IncidentFilter, error) {
		return p.parseJunction(depth, FilterAnd, func() (*IncidentFilter, error) { return p.parsePrimary(depth) })
	})
}

func (p *filterParser) parseJunction(depth int, op FilterOp, operand func() (*IncidentFilter, error)) (*IncidentFilter, error) {
	first, err := operand()
	if err != nil {
		return nil, err
	}
	terms := []*IncidentFilter{first}
	for p.keyword(string(op)) {
		f, err := operand()
		if err != nil {
			return nil, err
		}
		terms = append(terms, f)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &IncidentFilter{Op: op, Terms: terms}, nil
}

func (p *filterParser) parsePrimary(depth int) (*IncidentFilter, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		if depth >= maxFilterDepth {
			return nil, Errorf(EINVALID, "$filter: parentheses nest deeper than %d at position %d", maxFilterDepth, t.pos)
		}
		f, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, p.unexpected(c, "\")\"")
		}
		return f, nil
	case tokIdent:
	default:
		return nil, p.unexpected(t, "a field name or \"(\"")
	}
	if p.terms++; p.terms > maxFilterTerms {
		return nil, Errorf(EINVALID, "$filter: more than %d comparisons (at position %d)", maxFilterTerms, t.pos)
	}
	name, lambda, isPath := strings.Cut(t.text, "/")
	if msg := unsupportedWord(t.text); msg != "" {
		return nil, Errorf(EUNSUPPORTED, "$filter: %s at position %d", msg, t.pos)
	}
	if p.peek().kind == tokLParen && !isPath {
		return nil, Errorf(EUNSUPPORTED, "$filter: function %q at position %d is not supported", truncate(t.text, 64), t.pos)
	}
	field, ok := incidentFilterFields[name]
	if !ok {
		return nil, Errorf(EUNSUPPORTED, "$filter: field %q at position %d is not filterable; filterable fields: %s", truncate(name, 64), t.pos, strings.Join(IncidentFilterFields(), ", "))
	}
	if field.kind == kindCollection || field.kind == kindEntity {
		if !isPath || lambda != "any" {
			if isPath {
				return nil, Errorf(EUNSUPPORTED, "$filter: %q at position %d is not supported; a collection is filtered with %s/any(x: x eq 'value')", truncate(t.text, 64), t.pos, name)
			}
			return nil, Errorf(EINVALID, "$filter: %s at position %d is a collection; filter it with %s/any(x: x eq 'value')", name, t.pos, name)
		}
		f, err := p.parseAny(name, t)
		if err == nil && field.kind == kindEntity && len(f.Values) == 0 {
			// Every incident has entities: an empty any() would filter
			// nothing, which is more likely a mistake than a wish.
			example := "'ws-042.contoso.com'"
			if name == "deviceGroups" {
				example = "'Finance'"
			}
			return nil, Errorf(EINVALID, "$filter: %s/any at position %d needs a value: %s/any(e: e eq %s)", name, t.pos, name, example)
		}
		return f, err
	}
	if isPath {
		return nil, Errorf(EUNSUPPORTED, "$filter: %q at position %d is not supported: %s is not a collection", truncate(t.text, 64), t.pos, name)
	}
	opTok := p.next()
	if opTok.kind != tokIdent {
		return nil, p.unexpected(opTok, "an operator (eq, ne, gt, ge, lt, le, in)")
	}
	op := FilterOp(opTok.text)
	switch op {
	case FilterEq, FilterNe, FilterIn:
	case FilterGt, FilterGe, FilterLt, FilterLe:
		if field.kind == kindEnum || field.kind == kindString || field.kind == kindBool {
			return nil, Errorf(EUNSUPPORTED, "$filter: operator %q at position %d does not apply to %s (use eq, ne or in)", op, opTok.pos, name)
		}
	default:
		if msg := unsupportedWord(opTok.text); msg != "" {
			return nil, Errorf(EUNSUPPORTED, "$filter: %s at position %d", msg, opTok.pos)
		}
		return nil, Errorf(EINVALID, "$filter: expected an operator (eq, ne, gt, ge, lt, le, in) after %s at position %d, found %s", name, opTok.pos, opTok.describe())
	}
	f := &IncidentFilter{Op: op, Field: name}
	if op == FilterIn {
		lits, err := p.parseList()
		if err != nil {
			return nil, err
		}
		for _, l := range lits {
			v, err := literal(name, field, l, false)
			if err != nil {
				return nil, err
			}
			f.Values = append(f.Values, v)
		}
		return f, nil
	}
	l := p.next()
	v, err := literal(name, field, l, op == FilterEq || op == FilterNe)
	if err != nil {
		return nil, err
	}
	f.Values = []any{v}
	return f, nil
}

// parseList reads "(" literal { "," literal } ")".
func (p *filterParser) parseList() ([]token, error) {
	if t := p.next(); t.kind != tokLParen {
		return nil, p.unexpected(t, "\"(\" after in")
	}
	var lits []token
	for {
		t := p.next()
		if t.kind != tokString && t.kind != tokLiteral && t.kind != tokIdent {
			return nil, p.unexpected(t, "a value")
		}
		if lits = append(lits, t); len(lits) > maxFilterValues {
			return nil, Errorf(EINVALID, "$filter: more than %d values in one list (at position %d)", maxFilterValues, t.pos)
		}
		switch t := p.next(); t.kind {
		case tokComma:
		case tokRParen:
			return lits, nil
		default:
			return nil, p.unexpected(t, "\",\" or \")\"")
		}
	}
}

// parseAny reads the rest of collection/any( … ) after the path token.
func (p *filterParser) parseAny(name string, path token) (*IncidentFilter, error) {
	if t := p.next(); t.kind != tokLParen {
		return nil, p.unexpected(t, "\"(\" after any")
	}
	f := &IncidentFilter{Op: FilterAny, Field: name}
	if p.peek().kind == tokRParen {
		p.next()
		return f, nil
	}
	v := p.next()
	if v.kind != tokIdent || strings.ContainsAny(v.text, "/.") || isKeyword(v.text) {
		return nil, p.unexpected(v, "a lambda variable name")
	}
	if t := p.next(); t.kind != tokColon {
		return nil, p.unexpected(t, "\":\" after the lambda variable")
	}
	vals, err := p.parseLambda(name, v.text, 0)
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tokRParen {
		return nil, p.unexpected(t, "\")\" closing any(")
	}
	for _, x := range vals {
		if !slices.Contains(f.Values, x) {
			f.Values = append(f.Values, x)
		}
	}
	if len(f.Values) > maxFilterValues {
		return nil, Errorf(EINVALID, "$filter: more than %d values in %s/any at position %d", maxFilterValues, name, path.pos)
	}
	return f, nil
}

func isKeyword(w string) bool {
	switch w {
	case "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in", "null", "true", "false":
		return true
	}
	return false
}

// parseLambda reads the body of any(v: …): comparisons of v with strings by
// eq or in, joined by or. It returns the values.
func (p *filterParser) parseLambda(name, v string, depth int) ([]any, error) {
	var vals []any
	for {
		t := p.next()
		switch {
		case t.kind == tokLParen:
			if depth >= maxFilterDepth {
				return nil, Errorf(EINVALID, "$filter: parentheses nest deeper than %d at position %d", maxFilterDepth, t.pos)
			}
			inner, err := p.parseLambda(name, v, depth+1)
			if err != nil {
				return nil, err
			}
			if c := p.next(); c.kind != tokRParen {
				return nil, p.unexpected(c, "\")\"")
			}
			vals = append(vals, inner...)
		case t.kind == tokIdent && t.text == v:
			op := p.next()
			switch {
			case op.kind == tokIdent && op.text == "eq":
				s := p.next()
				if s.kind != tokString {
					return nil, Errorf(EINVALID, "$filter: %s/any compares with a quoted string; found %s at position %d", name, s.describe(), s.pos)
				}
				vals = append(vals, s.text)
			case op.kind == tokIdent && op.text == "in":
				lits, err := p.parseList()
				if err != nil {
					return nil, err
				}
				for _, s := range lits {
					if s.kind != tokString {
						return nil, Errorf(EINVALID, "$filter: %s/any compares with a quoted string; found %s at position %d", name, s.describe(), s.pos)
					}
					vals = append(vals, s.text)
				}
			case op.kind == tokIdent && (op.text == "and" || isKeyword(op.text)):
				return nil, Errorf(EUNSUPPORTED, "$filter: operator %q at position %d is not supported inside %s/any (use eq or in, joined by or)", op.text, op.pos, name)
			default:
				if op.kind == tokIdent {
					return nil, Errorf(EUNSUPPORTED, "$filter: %q at position %d is not supported inside %s/any (use eq or in, joined by or)", truncate(op.text, 64), op.pos, name)
				}
				return nil, p.unexpected(op, "eq or in")
			}
		case t.kind == tokIdent:
			if p.peek().kind == tokLParen {
				return nil, Errorf(EUNSUPPORTED, "$filter: function %q at position %d is not supported", truncate(t.text, 64), t.pos)
			}
			return nil, Errorf(EINVALID, "$filter: inside %s/any(%s: …) only %s can be compared; found %s at position %d", name, v, v, t.describe(), t.pos)
		default:
			return nil, p.unexpected(t, "the lambda variable "+strconv.Quote(v))
		}
		if t := p.peek(); t.kind == tokIdent && t.text == "and" {
			return nil, Errorf(EUNSUPPORTED, "$filter: operator \"and\" at position %d is not supported inside %s/any (an element has one value; use or)", t.pos, name)
		}
		if !p.keyword("or") {
			return vals, nil
		}
	}
}

// literal converts a literal token to the value type of field.
func literal(name string, field filterField, t token, nullOK bool) (any, error) {
	if t.kind == tokIdent && t.text == "null" {
		if !field.nullable {
			return nil, Errorf(EINVALID, "$filter: %s cannot be null (position %d)", name, t.pos)
		}
		if !nullOK {
			return nil, Errorf(EINVALID, "$filter: null at position %d can only be compared with eq or ne", t.pos)
		}
		return nil, nil
	}
	bad := func(want string) error {
		return Errorf(EINVALID, "$filter: %s takes %s; found %s at position %d", name, want, t.describe(), t.pos)
	}
	switch field.kind {
	case kindEnum:
		if t.kind != tokString {
			return nil, bad("a quoted value (" + field.allowed + ")")
		}
		v, err := field.parse(t.text)
		if err != nil {
			return nil, Errorf(EINVALID, "$filter: %s: '%s' at position %d is not a valid value; allowed: %s", name, truncate(t.text, 64), t.pos, field.allowed)
		}
		return v, nil
	case kindSeverity:
		if t.kind != tokString {
			return nil, bad("a quoted severity")
		}
		v, err := ParseSeverity(t.text)
		if err != nil || v == "" {
			return nil, Errorf(EINVALID, "$filter: severity: '%s' at position %d is not a valid value; allowed: %s", truncate(t.text, 64), t.pos, strings.Join(severityNames(), ", "))
		}
		return v, nil
	case kindString:
		if t.kind != tokString {
			return nil, bad("a quoted string")
		}
		if t.text == "" && field.nullable {
			return nil, nil
		}
		return t.text, nil
	case kindBool:
		if t.kind != tokIdent || (t.text != "true" && t.text != "false") {
			return nil, bad("true or false")
		}
		return t.text == "true", nil
	case kindNumber:
		if t.kind != tokLiteral {
			return nil, bad("an integer")
		}
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, bad("an integer")
		}
		return n, nil
	case kindTime:
		if t.kind != tokLiteral && t.kind != tokString {
			return nil, bad("a date-time (RFC 3339, e.g. 2026-01-31T00:00:00Z)")
		}
		v, err := time.Parse(time.RFC3339Nano, t.text)
		if err != nil {
			return nil, bad("a date-time (RFC 3339, e.g. 2026-01-31T00:00:00Z)")
		}
		return v.UTC(), nil
	}
	return nil, bad("a value")
}

func severityNames() []string {
	names := make([]string, len(Severities))
	for i, v := range Severities {
		names[i] = string(v)
	}
	return names
}

// IncidentOrder is one key of an incident $orderby.
type IncidentOrder struct {
	Field string // JSON name: priorityScore, lastUpdateDateTime, createdDateTime, severity, alertCount
	Desc  bool
}

// IncidentOrderFields are the fields $orderby accepts.
var IncidentOrderFields = []string{"priorityScore", "lastUpdateDateTime", "createdDateTime", "severity", "alertCount"}

// DefaultIncidentOrder is the queue's order without $orderby: highest
// priority first (unscored incidents last).
var DefaultIncidentOrder = []IncidentOrder{{Field: "priorityScore", Desc: true}}

// ParseIncidentOrderBy parses an incident $orderby: one or more of
// IncidentOrderFields, comma-separated, each optionally followed by asc (the
// default) or desc, each field at most once. Ties are always broken by id,
// descending. It returns an EINVALID or EUNSUPPORTED error naming the
// offending part and its position.
func ParseIncidentOrderBy(s string) ([]IncidentOrder, error) {
	var keys []IncidentOrder
	pos := 1
	for part := range strings.SplitSeq(s, ",") {
		words := strings.Fields(part)
		at := pos + strings.Index(part, strings.TrimSpace(part))
		pos += len(part) + 1
		if len(words) == 0 || len(words) > 2 {
			return nil, Errorf(EINVALID, "$orderby: expected \"field [asc|desc]\" at position %d, found %q", at, truncate(strings.TrimSpace(part), 64))
		}
		if !slices.Contains(IncidentOrderFields, words[0]) {
			return nil, Errorf(EUNSUPPORTED, "$orderby: field %q at position %d is not sortable; sortable fields: %s", truncate(words[0], 64), at, strings.Join(IncidentOrderFields, ", "))
		}
		k := IncidentOrder{Field: words[0]}
		if len(words) == 2 {
			switch words[1] {
			case "asc":
			case "desc":
				k.Desc = true
			default:
				return nil, Errorf(EINVALID, "$orderby: direction %q of %s at position %d must be asc or desc", truncate(words[1], 64), k.Field, at)
			}
		}
		for _, o := range keys {
			if o.Field == k.Field {
				return nil, Errorf(EINVALID, "$orderby: %s at position %d is given twice", k.Field, at)
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}
