package ingest

// hints are the properties of a record that tell its format, noted as the
// record is decoded (record.go), which reads both formats in one pass.
type hints uint8

const (
	hintSource        hints = 1 << iota // a top-level "source": only the native format has it
	hintOdataAlert                      // a top-level "@odata.type" naming microsoft.graph.security.alert
	hintGraphKey                        // a top-level serviceSource, detectionSource or providerAlertId
	hintEvidenceOdata                   // an evidence item with "@odata.type"
)

// detect tells a record's format from its hints, or returns "" when it
// cannot. A Graph @odata.type decides first; then "source", which Graph
// alerts never have, means the native format (whose evidence may be in Graph
// shape); then any Graph-only property means Graph.
func detect(h hints) Format {
	switch {
	case h&hintOdataAlert != 0:
		return FormatGraph
	case h&hintSource != 0:
		return FormatWeft
	case h&(hintGraphKey|hintEvidenceOdata) != 0:
		return FormatGraph
	}
	return ""
}
