package weft_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

func TestMoveAlertsRequestNormalize(t *testing.T) {
	long := strings.Repeat("x", weft.MaxAlertIDBytes+1)
	many := make([]string, weft.MaxMoveAlerts+1)
	for i := range many {
		many[i] = "a" + strings.Repeat("1", i)
	}
	for _, tc := range []struct {
		name string
		req  weft.MoveAlertsRequest
		want string // an error message fragment; "" for none
	}{
		{"OK", weft.MoveAlertsRequest{AlertIDs: []string{" wa1 ", "wa2"}, IncidentID: 7, Comment: " why ", Reasons: []string{"SAMEASSET", "sameAsset", "sharedIndicators"}}, ""},
		{"OKNewIncident", weft.MoveAlertsRequest{AlertIDs: []string{"wa1"}, Comment: "why"}, ""},
		{"ErrNoAlerts", weft.MoveAlertsRequest{Comment: "why"}, "alertIds: 0 alerts; give 1 to 100"},
		{"ErrTooMany", weft.MoveAlertsRequest{AlertIDs: many, Comment: "why"}, "alertIds: 101 alerts; give 1 to 100"},
		{"ErrRepeat", weft.MoveAlertsRequest{AlertIDs: []string{"wa1", " wa1"}, Comment: "why"}, `alertIds[1]: alert "wa1" is named twice`},
		{"ErrEmptyID", weft.MoveAlertsRequest{AlertIDs: []string{"wa1", " "}, Comment: "why"}, "alertIds[1]: must not be empty"},
		{"ErrLongID", weft.MoveAlertsRequest{AlertIDs: []string{long}, Comment: "why"}, "alertIds[0]: is 1025 bytes; at most 1024"},
		{"ErrNegative", weft.MoveAlertsRequest{AlertIDs: []string{"wa1"}, IncidentID: -1, Comment: "why"}, "incidentId: -1 is not an incident id"},
		{"ErrNoComment", weft.MoveAlertsRequest{AlertIDs: []string{"wa1"}, Comment: "  "}, "alertComment: must not be empty"},
		{"ErrReason", weft.MoveAlertsRequest{AlertIDs: []string{"wa1"}, Comment: "why", Reasons: []string{"gutFeeling"}}, `newCorrelationReasons[0]: "gutFeeling" is not a correlation reason; allowed: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			err := req.Normalize()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), tc.want) {
				t.Fatalf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
	req := weft.MoveAlertsRequest{AlertIDs: []string{" wa1 ", "wa2"}, Comment: " why ", Reasons: []string{"SAMEASSET", "sameAsset", "sharedIndicators"}}
	if err := req.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(req.AlertIDs, []string{"wa1", "wa2"}) || req.Comment != "why" || !slices.Equal(req.Reasons, []string{"sameAsset", "sharedIndicators"}) {
		t.Fatalf("normalized to %+v", req)
	}
}

func TestMergeIncidentsRequestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name       string
		req        weft.MergeIncidentsRequest
		want       string
		wantTarget int64
	}{
		{"OKDefaultTargetIsOldest", weft.MergeIncidentsRequest{IncidentIDs: []int64{9, 4, 7}, Comment: "one campaign"}, "", 4},
		{"OKTarget", weft.MergeIncidentsRequest{IncidentIDs: []int64{9, 4}, TargetIncidentID: 9, Comment: "x"}, "", 9},
		{"ErrOne", weft.MergeIncidentsRequest{IncidentIDs: []int64{9}, Comment: "x"}, "incidentIds: 1 incidents; merge 2 to 5 at a time", 0},
		{"ErrSix", weft.MergeIncidentsRequest{IncidentIDs: []int64{1, 2, 3, 4, 5, 6}, Comment: "x"}, "incidentIds: 6 incidents; merge 2 to 5 at a time", 0},
		{"ErrRepeat", weft.MergeIncidentsRequest{IncidentIDs: []int64{3, 3}, Comment: "x"}, "incidentIds[1]: incident 3 is named twice", 0},
		{"ErrZero", weft.MergeIncidentsRequest{IncidentIDs: []int64{3, 0}, Comment: "x"}, "incidentIds[1]: 0 is not an incident id", 0},
		{"ErrStrangerTarget", weft.MergeIncidentsRequest{IncidentIDs: []int64{3, 4}, TargetIncidentID: 5, Comment: "x"}, "targetIncidentId: incident 5 is not one of incidentIds", 0},
		{"ErrNoComment", weft.MergeIncidentsRequest{IncidentIDs: []int64{3, 4}}, "incidentComment: must not be empty", 0},
		{"ErrReason", weft.MergeIncidentsRequest{IncidentIDs: []int64{3, 4}, Comment: "x", Reasons: []string{"x"}}, `mergeReasons[0]: "x" is not a correlation reason`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			err := req.Normalize()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if req.TargetIncidentID != tc.wantTarget {
					t.Fatalf("target %d, want %d", req.TargetIncidentID, tc.wantTarget)
				}
				return
			}
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), tc.want) {
				t.Fatalf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
}

func TestNormalizeSplit(t *testing.T) {
	ids, comment, err := weft.NormalizeSplit([]string{" wa1", "wa2 "}, " second wave ")
	if err != nil || !slices.Equal(ids, []string{"wa1", "wa2"}) || comment != "second wave" {
		t.Fatalf("got %q %q %v", ids, comment, err)
	}
	if _, _, err := weft.NormalizeSplit([]string{"wa1"}, ""); weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "comment: must not be empty") {
		t.Fatalf("got %v", err)
	}
}

func TestActivityTypes(t *testing.T) {
	types := weft.ActivityTypes()
	if !slices.IsSorted(types) || len(slices.Compact(slices.Clone(types))) != len(types) {
		t.Fatalf("not sorted and distinct: %q", types)
	}
	for _, want := range []string{weft.ActivityIncidentCreated, weft.ActivityAlertAdded, weft.ActivityIncidentUpdated,
		weft.ActivityCommentAdded, weft.ActivityAlertsMoved, weft.ActivityIncidentSplit, weft.ActivityIncidentMerged,
		weft.ActivityIncidentRedirected, weft.ActivityAlertsResolved, weft.ActivityAlertUpdated, weft.ActivityIncidentImported} {
		if !slices.Contains(types, want) {
			t.Errorf("ActivityTypes lacks %q", want)
		}
	}
}
