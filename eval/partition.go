// Package eval measures correlation quality (docs/design.md §14): it scores a
// predicted grouping of alerts into incidents against labelled ground truth,
// and computes the baselines that weft's correlation must beat.
//
// A grouping is a Partition: alert id → cluster label. Truth and predictions
// are read from and written to CSV files of the form "alertId,incidentKey",
// the truth format of the scenario generator (package gen). Score compares two
// partitions with pairwise precision/recall/F1, the adjusted Rand index and
// B-cubed precision/recall/F1, plus the cluster counts and sizes that show a
// giant component at a glance; WriteTable prints several results side by side.
//
// The three baselines of the design (all singletons; the same detector on the
// same device within an hour; a plain union of any shared identifier within a
// day) predict partitions from the alerts alone. They label alerts by
// Alert.ProviderAlertID, which for a Graph alert is its Graph id — the id the
// generator's truth uses.
//
// Everything here is linear or n·log n in the number of alerts: a million
// items score in about a second on one core.
package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/weftxdr/weft"
)

// Partition maps an item id (an alert id) to a cluster label (an incident key
// or id). Items with the same label are in the same cluster.
type Partition map[string]string

// Clusters returns the number of distinct labels in p.
func (p Partition) Clusters() int {
	seen := make(map[string]struct{}, len(p)/2)
	for _, l := range p {
		seen[l] = struct{}{}
	}
	return len(seen)
}

// partitionHeader is the header line that WritePartition writes and that
// ReadPartition recognises (by its first field, in any case).
const partitionHeader = "alertId,incidentKey"

// ReadPartition reads a CSV of "alertId,incidentKey" lines. A first line whose
// first field is "alertId" (in any case) is a header and is skipped; blank
// lines are skipped anywhere; fields are trimmed of surrounding space and may
// be quoted as in RFC 4180. A UTF-8 byte order mark and CRLF line ends are
// accepted.
//
// A malformed line (not two fields, an empty field, bad quoting) or an alert
// id listed twice yields a *weft.Error with code EINVALID whose message starts
// with "line N:", N counted from 1; the caller adds the file name. An error of
// r is returned wrapped.
func ReadPartition(r io.Reader) (Partition, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, with a better message
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	p := make(Partition)
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return p, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, weft.Errorf(weft.EINVALID, "line %d: %v", pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("eval: reading partition: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			rec[0] = strings.TrimPrefix(rec[0], "\uFEFF")
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if len(rec) == 1 && rec[0] == "" { // a line of spaces
			continue
		}
		if first {
			first = false
			if strings.EqualFold(rec[0], "alertId") {
				continue
			}
		}
		switch {
		case len(rec) != 2:
			return nil, weft.Errorf(weft.EINVALID, "line %d: has %d fields; want 2 (%s)", line, len(rec), partitionHeader)
		case rec[0] == "":
			return nil, weft.Errorf(weft.EINVALID, "line %d: the alert id is empty", line)
		case rec[1] == "":
			return nil, weft.Errorf(weft.EINVALID, "line %d: the incident key of alert %q is empty", line, clip(rec[0]))
		}
		if _, dup := p[rec[0]]; dup {
			return nil, weft.Errorf(weft.EINVALID, "line %d: alert %q is listed a second time", line, clip(rec[0]))
		}
		p[strings.Clone(rec[0])] = strings.Clone(rec[1])
	}
}

// WritePartition writes p as CSV: the header "alertId,incidentKey", then one
// line per item sorted by alert id. Fields are quoted only when they must be.
// It returns a wrapped error of w.
func WritePartition(w io.Writer, p Partition) error {
	ids := make([]string, 0, len(p))
	for id := range p {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	cw := csv.NewWriter(w)
	cw.Write([]string{"alertId", "incidentKey"})
	for _, id := range ids {
		cw.Write([]string{id, p[id]})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("eval: writing partition: %w", err)
	}
	return nil
}

// clip shortens an attacker- or file-supplied value for an error message.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
