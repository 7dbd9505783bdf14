package ingest

import "slices"

// This file finds the values that mean "absent" in GUIDE's entity columns.
// GUIDE spells an absent entity as one constant integer per column rather
// than an empty cell; linking alerts on those constants would put every
// alert of an organisation into one incident, so the decoder learns them
// (findAbsent) and reads them as empty (present).

// guideAbsentDefaults are the constants that mean "absent" in the entity
// columns of the published GUIDE files (GUIDE_Train.csv and GUIDE_Test.csv
// share them): in each column the one value that fills the rows of every
// entity type but the column's own. EmailClusterId has none; it is empty
// when absent.
var guideAbsentDefaults = map[int]string{
	gDeviceID: "98799", gSha256: "138268", gIPAddress: "360606", gURL: "160396",
	gAccountSid: "441377", gAccountUpn: "673934", gAccountObjectID: "425863", gAccountName: "453297",
	gDeviceName: "153085", gNetworkMessageID: "529644", gRegistryKey: "1631", gRegistryValueName: "635",
	gRegistryValueData: "860", gApplicationID: "2251", gApplicationName: "3421", gOAuthApplicationID: "881",
	gFileName: "289573", gFolderPath: "117668", gResourceIDName: "3586", gOSFamily: "5", gOSVersion: "66",
	gCountryCode: "242", gState: "1445", gCity: "10630",
}

// guideDetectMinRows is the fewest rows from which the most frequent value of
// an entity column, when it fills more than half of them, is taken as that
// column's absent constant too. In a smaller file one busy device could fill
// half the rows and would never link.
const guideDetectMinRows = 100

// guideIsEntityID reports whether column g holds an anonymised entity id (an
// integer, with an absent constant).
func guideIsEntityID(g int) bool {
	_, ok := guideAbsentDefaults[g]
	return ok || g == gEmailClusterID
}

// findAbsent settles the absent constant of each entity column: GUIDE's
// documented one (guideAbsentDefaults), and besides it the column's most
// frequent value when the file has at least guideDetectMinRows rows and that
// value fills more than half of them — a file from a GUIDE release whose
// constants differ. The empty string is absent in every column.
func (d *guideDecoder) findAbsent(rows []*guideRow) {
	for g := range gColumns {
		if !guideIsEntityID(g) || d.col[g] < 0 {
			continue
		}
		d.absent[g] = []string{guideAbsentDefaults[g]}
		if len(rows) < guideDetectMinRows {
			continue
		}
		// Boyer–Moore majority vote, then a count to confirm it.
		cand, n := "", 0
		for _, r := range rows {
			v := r.rec[d.col[g]]
			switch {
			case n == 0:
				cand, n = v, 1
			case v == cand:
				n++
			default:
				n--
			}
		}
		n = 0
		for _, r := range rows {
			if r.rec[d.col[g]] == cand {
				n++
			}
		}
		if n*2 > len(rows) {
			d.absent[g] = append(d.absent[g], cand)
		}
	}
}

// present returns column g of a row, or "" when it is empty or the column's
// absent constant.
func (d *guideDecoder) present(rec []string, g int) string {
	v := d.field(rec, g)
	if v == "" || !guideIsEntityID(g) {
		return v
	}
	if slices.Contains(d.absent[g], v) {
		return ""
	}
	return v
}
