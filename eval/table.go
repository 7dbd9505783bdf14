package eval

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// NamedScores is one column of a table: a predictor's name and its scores.
type NamedScores struct {
	Name   string
	Scores Scores
}

// tableRows are the rows of WriteTable: a label and how to render one result.
var tableRows = []struct {
	label string
	cell  func(s *Scores) string
}{
	{"items", func(s *Scores) string { return strconv.Itoa(s.Items) }},
	{"missing", func(s *Scores) string { return strconv.Itoa(s.Missing) }},
	{"extra", func(s *Scores) string { return strconv.Itoa(s.Extra) }},
	{"true incidents", func(s *Scores) string { return strconv.Itoa(s.TrueClusters) }},
	{"predicted incidents", func(s *Scores) string { return strconv.Itoa(s.PredClusters) }},
	{"compression", func(s *Scores) string { return strconv.FormatFloat(s.Compression, 'f', 2, 64) }},
	{"largest true", func(s *Scores) string { return strconv.Itoa(s.LargestTrue) }},
	{"largest predicted", func(s *Scores) string { return strconv.Itoa(s.LargestPred) }},
	{"pair precision", func(s *Scores) string { return metric(s.PairPrecision) }},
	{"pair recall", func(s *Scores) string { return metric(s.PairRecall) }},
	{"pair F1", func(s *Scores) string { return metric(s.PairF1) }},
	{"ARI", func(s *Scores) string { return metric(s.ARI) }},
	{"B-cubed precision", func(s *Scores) string { return metric(s.BCubedPrecision) }},
	{"B-cubed recall", func(s *Scores) string { return metric(s.BCubedRecall) }},
	{"B-cubed F1", func(s *Scores) string { return metric(s.BCubedF1) }},
}

func metric(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

// WriteTable writes results side by side: one column per result, headed by
// its name, and one row per metric, as plain text aligned with spaces:
//
//	metric               singletons  same-detector-device
//	items                     24513                 24513
//	…
//	pair F1                  0.0000                0.1234
//
// It returns a wrapped error of w.
func WriteTable(w io.Writer, rows []NamedScores) error {
	cells := make([][]string, len(tableRows)+1)
	cells[0] = append(cells[0], "metric")
	for _, r := range rows {
		cells[0] = append(cells[0], r.Name)
	}
	for i, tr := range tableRows {
		cells[i+1] = append(cells[i+1], tr.label)
		for j := range rows {
			cells[i+1] = append(cells[i+1], tr.cell(&rows[j].Scores))
		}
	}
	width := make([]int, len(rows)+1)
	for _, line := range cells {
		for j, c := range line {
			width[j] = max(width[j], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, line := range cells {
		for j, c := range line {
			pad := strings.Repeat(" ", width[j]-len([]rune(c)))
			switch {
			case j == 0:
				b.WriteString(c)
				b.WriteString(pad)
			default:
				b.WriteString("  ")
				b.WriteString(pad) // numbers align on the right
				b.WriteString(c)
			}
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("eval: writing table: %w", err)
	}
	return nil
}
