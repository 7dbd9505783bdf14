package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftxdr/weft"
)

// decoder decodes the records of one body. It reuses its tokenizer from
// record to record.
type decoder struct {
	lim           Limits
	now           time.Time
	format        Format
	r             reader
	evidenceGuess int // evidence items in the last alert (evidence.go)
}

// decode turns one span into a Record.
func (d *decoder) decode(idx int, body []byte, sp *span) Record {
	r := Record{Index: idx, Line: sp.line}
	reject := func(fe *fieldErr) Record {
		r.Err = &RecordError{Index: idx, Line: sp.line, Field: fe.field, Message: fe.msg}
		r.Warnings = nil
		return r
	}
	if sp.err != "" {
		return reject(&fieldErr{msg: sp.err})
	}
	rec := body[sp.start:sp.end]
	switch {
	case len(rec) > d.lim.MaxRecordBytes:
		return reject(&fieldErr{msg: fmt.Sprintf("the record is %d bytes; the limit is %d bytes", len(rec), d.lim.MaxRecordBytes)})
	case rec[0] != '{':
		return reject(&fieldErr{msg: "expected a JSON object, got " + kindOf(rec[0])})
	case sp.depth > d.lim.MaxDepth:
		return reject(&fieldErr{msg: fmt.Sprintf("nesting deeper than %d levels", d.lim.MaxDepth)})
	}
	rd := recordDecoder{d: d, rec: rec, line: sp.line, now: d.now, format: d.format, valid: utf8.Valid(rec)}
	format := d.format
	if format == FormatAuto {
		format = sniff(rec)
	}
	var a *weft.Alert
	var fe *fieldErr
	if dec := foreignDecoders[format]; dec != nil {
		rd.format = format
		clean := rec
		if !rd.valid {
			clean = bytes.ToValidUTF8(rec, []byte("\uFFFD"))
		}
		var ws []string
		a, ws, fe = dec(clean, d.now)
		rd.warnings = append(rd.warnings, ws...)
	} else {
		a, fe = rd.alert()
	}
	if fe != nil {
		return reject(fe)
	}
	if !rd.valid {
		rd.warn("invalid UTF-8 was replaced by U+FFFD")
	}
	if len(rec) > weft.MaxRawBytes {
		a.Raw = rec // Normalize drops it, with a warning; no point copying it first
	} else {
		a.Raw = rd.copyRaw(rec)
	}
	ws, err := a.Normalize(d.now)
	if err != nil {
		var ferr *weft.FieldError
		if !errors.As(err, &ferr) {
			return reject(&fieldErr{msg: weft.ErrorMessage(err)})
		}
		field, msg := ferr.Field, ferr.Message
		if rd.format == FormatGraph && field == "providerAlertId" { // Graph's id is weft's provider id
			field = "id"
			if strings.HasPrefix(msg, "is required") {
				msg = "is required (the Graph alert id)"
			}
		}
		r = reject(&fieldErr{field: field, msg: msg})
		r.Err.Source = a.Source
		return r
	}
	r.Alert = a
	r.Warnings = append(rd.warnings, ws...)
	return r
}

// kindOf names the JSON kind that starts with c.
func kindOf(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return fmt.Sprintf("%q", clip(string(c), 4))
}

// recordDecoder decodes one record.
type recordDecoder struct {
	d        *decoder
	rec      []byte
	line     int
	now      time.Time
	format   Format // FormatAuto until the record's end
	valid    bool   // the record is valid UTF-8
	hints    hints  // what tells the format (detect.go)
	untyped  []int  // evidence items with neither @odata.type nor entityType
	warnings []string
}

func (rd *recordDecoder) warn(s string) { rd.warnings = append(rd.warnings, s) }

// copyRaw returns a copy of a raw JSON value from the record, with invalid
// UTF-8 replaced if the record has any; nil for an absent value or null.
func (rd *recordDecoder) copyRaw(v []byte) []byte {
	if isNull(v) {
		return nil
	}
	if !rd.valid {
		return bytes.ToValidUTF8(v, []byte("\uFFFD"))
	}
	return bytes.Clone(v)
}

// repair replaces invalid UTF-8 in JSON that weft built from the record.
func (rd *recordDecoder) repair(v []byte) []byte {
	if !rd.valid && !utf8.Valid(v) {
		return bytes.ToValidUTF8(v, []byte("\uFFFD"))
	}
	return v
}

// parseEnum parses the enumeration field path.name with parse. Graph's
// "unknownFutureValue" (a value newer than the client asked for) becomes
// future. Paths are joined only for an error, since decoding is hot.
func parseEnum[T ~string](path, name, s string, parse func(string) (T, error), future T) (T, *fieldErr) {
	if s == "" {
		return "", nil
	}
	if strings.EqualFold(s, "unknownFutureValue") {
		return future, nil
	}
	v, err := parse(s)
	if err != nil {
		return "", &fieldErr{field: atString(path, name), msg: enumMessage(err)}
	}
	return v, nil
}

// enumMessage returns the message of a weft.Parse… error without its field
// name, which the record error names with its full path.
func enumMessage(err error) string {
	msg := weft.ErrorMessage(err)
	if _, rest, ok := strings.Cut(msg, ": "); ok {
		return rest
	}
	return msg
}

// timeVal parses the RFC 3339 timestamp field path.name; "" is the zero
// time.
func timeVal(path, name, s string) (time.Time, *fieldErr) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := weft.ParseTime(name, s)
	if err != nil {
		var ferr *weft.FieldError
		if errors.As(err, &ferr) {
			return time.Time{}, &fieldErr{field: atString(path, name), msg: ferr.Message}
		}
		return time.Time{}, &fieldErr{field: atString(path, name), msg: err.Error()}
	}
	return t, nil
}
