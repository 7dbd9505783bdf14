package weft_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func TestParseIncidentFilter(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"OK_Eq", "status eq 'active'", "status eq 'active'"},
		{"OK_EnumCaseAndLegacy", "status eq 'New'", "status eq 'active'"},
		{"OK_Ne", "classification ne 'falsePositive'", "classification ne 'falsePositive'"},
		{"OK_In", "severity in ('high', 'Medium')", "severity in ('high', 'medium')"},
		{"OK_SeverityOrdered", "severity ge 'medium'", "severity ge 'medium'"},
		{"OK_Number", "priorityScore gt 85", "priorityScore gt 85"},
		{"OK_NumberNull", "priorityScore eq null", "priorityScore eq null"},
		{"OK_Unassigned", "assignedTo eq null", "assignedTo eq null"},
		{"OK_UnassignedEmpty", "assignedTo eq ''", "assignedTo eq null"},
		{"OK_AssignedQuote", "assignedTo eq 'o''brien@contoso.com'", "assignedTo eq 'o''brien@contoso.com'"},
		{"OK_TimeBare", "createdDateTime ge 2026-01-31T00:00:00Z", "createdDateTime ge 2026-01-31T00:00:00Z"},
		{"OK_TimeQuotedOffset", "lastUpdateDateTime lt '2026-01-31T02:00:00+02:00'", "lastUpdateDateTime lt 2026-01-31T00:00:00Z"},
		{"OK_AndOr", "status eq 'active' and severity eq 'high' or alertCount ge 5",
			"((status eq 'active' and severity eq 'high') or alertCount ge 5)"},
		{"OK_Parens", "status eq 'active' and (severity eq 'high' or alertCount ge 5)",
			"(status eq 'active' and (severity eq 'high' or alertCount ge 5))"},
		{"OK_Any", "customTags/any(t: t eq 'vip')", "customTags/any(x: x in ('vip'))"},
		{"OK_AnyOrIn", "categories/any(c: c eq 'Impact' or (c in ('Exfiltration', 'Impact')))", "categories/any(x: x in ('Impact', 'Exfiltration'))"},
		{"OK_AnyEmpty", "systemTags/any()", "systemTags/any()"},
		{"OK_AnySources", "serviceSources/any(s: s eq 'microsoftDefenderForEndpoint') and detectionSources/any(d:d eq 'antivirus')",
			"(serviceSources/any(x: x in ('microsoftDefenderForEndpoint')) and detectionSources/any(x: x in ('antivirus')))"},
		{"OK_Determination", "determination eq 'clean'", "determination eq 'notMalicious'"},
		{"OK_NegativeNumber", "alertCount gt -1", "alertCount gt -1"},
		{"OK_MultipleSources", "multipleSources eq true", "multipleSources eq true"},
		{"OK_MultipleSourcesNe", "multipleSources ne false and severity eq 'high'", "(multipleSources ne false and severity eq 'high')"},
		{"OK_MultipleSourcesIn", "multipleSources in (true, false)", "multipleSources in (true, false)"},
		{"OK_Entity", "entities/any(e: e eq 'ws-042.contoso.com')", "entities/any(x: x in ('ws-042.contoso.com'))"},
		{"OK_EntityOrIn", "entities/any(e: e eq 'WS-1' or e in ('o''brien@contoso.com', 'WS-1'))", "entities/any(x: x in ('WS-1', 'o''brien@contoso.com'))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := weft.ParseIncidentFilter(tc.in)
			if err != nil {
				t.Fatalf("ParseIncidentFilter(%q): %v", tc.in, err)
			}
			if got := f.String(); got != tc.want {
				t.Fatalf("ParseIncidentFilter(%q) = %s, want %s", tc.in, got, tc.want)
			}
			again, err := weft.ParseIncidentFilter(f.String())
			if err != nil || again.String() != f.String() {
				t.Fatalf("round trip of %s: %v, %v", f, again, err)
			}
		})
	}
}

func TestParseIncidentFilterValues(t *testing.T) {
	f, err := weft.ParseIncidentFilter("createdDateTime ge 2026-01-31T01:02:03.5+01:00")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 1, 31, 0, 2, 3, 500_000_000, time.UTC)
	if got := f.Values[0].(time.Time); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("got %v, want %v", got, want)
	}
	f, err = weft.ParseIncidentFilter("severity eq 'HIGH'")
	if err != nil || f.Values[0] != weft.SeverityHigh {
		t.Fatalf("got %#v, %v; want SeverityHigh", f, err)
	}
}

func TestParseIncidentFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, code, msg string
	}{
		{"ErrEmpty", "  ", weft.EINVALID, "$filter is empty"},
		{"ErrUnknownField", "title eq 'x'", weft.EUNSUPPORTED, `field "title" at position 1 is not filterable; filterable fields: alertCount, assignedTo,`},
		{"ErrFunction", "contains(displayName, 'x')", weft.EUNSUPPORTED, `function "contains" at position 1 is not supported`},
		{"ErrFunctionLater", "status eq 'active' and startswith(assignedTo, 'a')", weft.EUNSUPPORTED, `function "startswith" at position 24`},
		{"ErrNot", "not (status eq 'active')", weft.EUNSUPPORTED, `operator "not" is not supported (use ne, or the complementary values with in) at position 1`},
		{"ErrOperator", "alertCount has 5", weft.EUNSUPPORTED, `operator "has" is not supported at position 12`},
		{"ErrUnknownOperator", "alertCount over 5", weft.EINVALID, `expected an operator (eq, ne, gt, ge, lt, le, in) after alertCount at position 12, found "over"`},
		{"ErrOrderedEnum", "status gt 'active'", weft.EUNSUPPORTED, `operator "gt" at position 8 does not apply to status (use eq, ne or in)`},
		{"ErrOrderedString", "assignedTo ge 'a'", weft.EUNSUPPORTED, `operator "ge" at position 12 does not apply to assignedTo`},
		{"ErrEnumValue", "status eq 'closed'", weft.EINVALID, `status: 'closed' at position 11 is not a valid value; allowed: active, inProgress, resolved, awaitingAction`},
		{"ErrRedirected", "status eq 'redirected'", weft.EINVALID, `status: 'redirected' at position 11 is not a valid value; allowed: active, inProgress, resolved, awaitingAction`},
		{"ErrSeverityValue", "severity in ('high', 'critical')", weft.EINVALID, `severity: 'critical' at position 22 is not a valid value; allowed: unknown, informational, low, medium, high`},
		{"ErrClassificationValue", "classification eq 'bad'", weft.EINVALID, `classification: 'bad' at position 19 is not a valid value; allowed: unknown, falsePositive`},
		{"ErrDeterminationValue", "determination eq 'bad'", weft.EINVALID, `determination: 'bad' at position 18 is not a valid value; allowed: unknown, apt, malware`},
		{"ErrEnumUnquoted", "status eq active", weft.EINVALID, `status takes a quoted value (active, inProgress, resolved, awaitingAction); found "active" at position 11`},
		{"ErrNumberQuoted", "alertCount eq '5'", weft.EINVALID, `alertCount takes an integer; found '5' at position 15`},
		{"ErrNumberBad", "priorityScore gt 8.5", weft.EINVALID, `priorityScore takes an integer; found "8.5" at position 18`},
		{"ErrTimeBad", "createdDateTime ge 2026-13-01", weft.EINVALID, `createdDateTime takes a date-time (RFC 3339, e.g. 2026-01-31T00:00:00Z); found "2026-13-01" at position 20`},
		{"ErrNullNotNullable", "alertCount eq null", weft.EINVALID, `alertCount cannot be null (position 15)`},
		{"ErrNullOrdered", "priorityScore gt null", weft.EINVALID, `null at position 18 can only be compared with eq or ne`},
		{"ErrNullInList", "priorityScore in (1, null)", weft.EINVALID, `null at position 22 can only be compared with eq or ne`},
		{"ErrCollectionCompared", "customTags eq 'x'", weft.EINVALID, `customTags at position 1 is a collection; filter it with customTags/any(x: x eq 'value')`},
		{"ErrAll", "customTags/all(t: t eq 'x')", weft.EUNSUPPORTED, `"customTags/all" at position 1 is not supported; a collection is filtered with customTags/any(x: x eq 'value')`},
		{"ErrPathOnScalar", "status/any(s: s eq 'x')", weft.EUNSUPPORTED, `"status/any" at position 1 is not supported: status is not a collection`},
		{"ErrAnyNe", "customTags/any(t: t ne 'x')", weft.EUNSUPPORTED, `operator "ne" at position 21 is not supported inside customTags/any (use eq or in, joined by or)`},
		{"ErrAnyAnd", "customTags/any(t: t eq 'x' and t eq 'y')", weft.EUNSUPPORTED, `operator "and" at position 28 is not supported inside customTags/any`},
		{"ErrAnyFunction", "customTags/any(t: startswith(t, 'x'))", weft.EUNSUPPORTED, `function "startswith" at position 19 is not supported`},
		{"ErrAnyOtherVariable", "customTags/any(t: u eq 'x')", weft.EINVALID, `inside customTags/any(t: …) only t can be compared; found "u" at position 19`},
		{"ErrAnyNumber", "customTags/any(t: t eq 5)", weft.EINVALID, `customTags/any compares with a quoted string; found "5" at position 24`},
		{"ErrAnyNoColon", "customTags/any(t eq 'x')", weft.EINVALID, `expected ":" after the lambda variable at position 18, found "eq"`},
		{"ErrUnclosedParen", "(status eq 'active'", weft.EINVALID, `expected ")" at position 20, found end of filter`},
		{"ErrExtraParen", "status eq 'active')", weft.EINVALID, `expected "and", "or" or the end of the filter at position 19, found ")"`},
		{"ErrTrailingAnd", "status eq 'active' and", weft.EINVALID, `expected a field name or "(" at position 23, found end of filter`},
		{"ErrUnterminated", "status eq 'active", weft.EINVALID, `unterminated string starting at position 11`},
		{"ErrCharacter", "alertCount eq 5 && status eq 'active'", weft.EINVALID, `unexpected character '&' at position 17`},
		{"ErrMissingValue", "alertCount eq", weft.EINVALID, `alertCount takes an integer; found end of filter at position 14`},
		{"ErrEmptyList", "severity in ()", weft.EINVALID, `expected a value at position 14, found ")"`},
		{"ErrTooDeep", strings.Repeat("(", 17) + "alertCount eq 1" + strings.Repeat(")", 17), weft.EINVALID, "parentheses nest deeper than 16 at position 17"},
		{"ErrTooManyTerms", strings.Repeat("alertCount eq 1 or ", 64) + "alertCount eq 1", weft.EINVALID, "more than 64 comparisons (at position 1217)"},
		{"ErrBoolQuoted", "multipleSources eq 'true'", weft.EINVALID, `multipleSources takes true or false; found 'true' at position 20`},
		{"ErrBoolNumber", "multipleSources eq 1", weft.EINVALID, `multipleSources takes true or false; found "1" at position 20`},
		{"ErrBoolNull", "multipleSources eq null", weft.EINVALID, `multipleSources cannot be null (position 20)`},
		{"ErrBoolOrdered", "multipleSources gt false", weft.EUNSUPPORTED, `operator "gt" at position 17 does not apply to multipleSources (use eq, ne or in)`},
		{"ErrEntityCompared", "entities eq 'ws-1'", weft.EINVALID, `entities at position 1 is a collection; filter it with entities/any(x: x eq 'value')`},
		{"ErrEntityEmptyAny", "entities/any()", weft.EINVALID, `entities/any at position 1 needs a value: entities/any(e: e eq 'ws-042.contoso.com')`},
		{"ErrEntityAll", "entities/all(e: e eq 'x')", weft.EUNSUPPORTED, `"entities/all" at position 1 is not supported`},
		{"ErrEntityNumber", "entities/any(e: e eq 5)", weft.EINVALID, `entities/any compares with a quoted string; found "5" at position 22`},
		{"ErrEntityNe", "entities/any(e: e ne 'x')", weft.EUNSUPPORTED, `operator "ne" at position 19 is not supported inside entities/any`},
		{"ErrDeviceGroup", "deviceGroup eq 'x'", weft.EUNSUPPORTED, `field "deviceGroup" at position 1 is not filterable; filterable fields: alertCount, assignedTo, categories, classification, createdDateTime, customTags, detectionSources, determination, deviceGroups, entities,`},
		{"ErrDeviceGroupsEq", "deviceGroups eq 'x'", weft.EINVALID, `deviceGroups at position 1 is a collection; filter it with deviceGroups/any(x: x eq 'value')`},
		{"ErrDeviceGroupsEmpty", "deviceGroups/any()", weft.EINVALID, `deviceGroups/any at position 1 needs a value: deviceGroups/any(e: e eq 'Finance')`},
		{"ErrTooLong", "assignedTo eq '" + strings.Repeat("a", 5000) + "'", weft.EINVALID, "$filter is 5016 characters long; the limit is 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := weft.ParseIncidentFilter(tc.in)
			if err == nil {
				t.Fatalf("ParseIncidentFilter(%q) = %s, want an error", tc.in, f)
			}
			if got := weft.ErrorCode(err); got != tc.code {
				t.Errorf("code: got %s, want %s (%v)", got, tc.code, err)
			}
			if got := weft.ErrorMessage(err); !strings.Contains(got, tc.msg) {
				t.Errorf("message:\n got %s\nwant it to contain %s", got, tc.msg)
			}
		})
	}
}

func TestParseIncidentOrderBy(t *testing.T) {
	got, err := weft.ParseIncidentOrderBy("severity desc, lastUpdateDateTime,alertCount asc")
	if err != nil {
		t.Fatal(err)
	}
	want := []weft.IncidentOrder{{"severity", true}, {"lastUpdateDateTime", false}, {"alertCount", false}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, tc := range []struct{ in, code, msg string }{
		{"title", weft.EUNSUPPORTED, `field "title" at position 1 is not sortable; sortable fields: priorityScore, lastUpdateDateTime, createdDateTime, severity, alertCount`},
		{"severity up", weft.EINVALID, `direction "up" of severity at position 1 must be asc or desc`},
		{"severity, severity desc", weft.EINVALID, `severity at position 11 is given twice`},
		{"severity,", weft.EINVALID, `expected "field [asc|desc]" at position 10`},
		{"alertCount desc nulls", weft.EINVALID, `expected "field [asc|desc]" at position 1, found "alertCount desc nulls"`},
	} {
		_, err := weft.ParseIncidentOrderBy(tc.in)
		if weft.ErrorCode(err) != tc.code || !strings.Contains(weft.ErrorMessage(err), tc.msg) {
			t.Errorf("ParseIncidentOrderBy(%q): got %v, want %s containing %s", tc.in, err, tc.code, tc.msg)
		}
	}
}

func FuzzParseIncidentFilter(f *testing.F) {
	for _, s := range []string{
		"status eq 'active'", "customTags/any(t: t eq 'x' or t in ('y'))", "(a eq 1", "priorityScore ge 85 and severity in ('high')",
		"createdDateTime ge 2026-01-31T00:00:00Z", "'''", "systemTags/any()",
		"multipleSources eq true", "entities/any(e: e eq 'ws-1' or e in ('a'))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := weft.ParseIncidentFilter(s)
		if err != nil {
			if weft.ErrorCode(err) == weft.EINTERNAL {
				t.Fatalf("ParseIncidentFilter(%q): internal error %v", s, err)
			}
			return
		}
		again, err := weft.ParseIncidentFilter(flt.String())
		if err != nil || again.String() != flt.String() {
			t.Fatalf("round trip of %q: %s → %v, %v", s, flt, again, err)
		}
	})
}
