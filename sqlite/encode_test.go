package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/storetest"
)

func hashOf(t *testing.T, a *weft.Alert) []byte {
	t.Helper()
	var e encodedAlert
	enc := encoderPool.Get().(*encoder)
	defer encoderPool.Put(enc)
	if err := enc.encodeContent(0, a, &e); err != nil {
		t.Fatal(err)
	}
	return e.hash
}

// mutate changes v (a field of weft.Alert) to a different value of its type.
func mutate(t *testing.T, name string, v reflect.Value) {
	switch x := v.Addr().Interface().(type) {
	case *string:
		*x += "!"
	case *weft.Severity:
		*x = weft.SeverityLow
	case *weft.AlertStatus:
		*x = weft.AlertStatusResolved
	case *weft.Classification:
		*x = weft.ClassificationFalsePositive
	case *weft.Determination:
		*x = weft.DeterminationMalware
	case *int64:
		*x++
	case *time.Time:
		*x = x.Add(time.Nanosecond)
	case **time.Time:
		if *x == nil {
			now := time.Now()
			*x = &now
		} else {
			later := (*x).Add(time.Nanosecond)
			*x = &later
		}
	case *[]string:
		*x = append(slices.Clone(*x), "more")
	case *[]weft.Comment:
		c := slices.Clone(*x)
		c[0].Comment += "!"
		*x = c
	case *[]weft.Evidence:
		ev := slices.Clone(*x)
		ev[len(ev)-1].Properties = json.RawMessage(`{"changed":true}`)
		*x = ev
	case *json.RawMessage:
		*x = append(slices.Clone(*x), ' ')
	case **weft.IncidentImport:
		*x = &weft.IncidentImport{Source: "graph-incident", ID: "1"}
	default:
		t.Fatalf("field %s: type %s has no mutation; add one, and add the field to contentHash", name, v.Type())
	}
}

// TestContentHashCoversAllFields fails when a field of weft.Alert does not
// enter the content hash, except the fields that weft sets at ingest and the
// raw original.
func TestContentHashCoversAllFields(t *testing.T) {
	excluded := map[string]bool{"IncidentID": true, "CreatedDateTime": true, "LastUpdateDateTime": true, "Raw": true, "Import": true}
	base := hashOf(t, storetest.NewRichAlert())
	if !bytes.Equal(base, hashOf(t, storetest.NewRichAlert())) {
		t.Fatal("the hash of equal alerts differs")
	}
	typ := reflect.TypeFor[weft.Alert]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			a := storetest.NewRichAlert()
			a.IncidentID = 7
			mutate(t, f.Name, reflect.ValueOf(a).Elem().Field(i))
			changed := !bytes.Equal(hashOf(t, a), base)
			if changed == excluded[f.Name] {
				t.Fatalf("changing %s: hash changed = %v, want %v", f.Name, changed, !excluded[f.Name])
			}
		})
	}
}

func TestAlertEntitiesAsAlertEntities(t *testing.T) {
	alerts := []*weft.Alert{storetest.NewRichAlert()}
	for i := range 30 {
		alerts = append(alerts, storetest.NewAlert(i))
	}
	long := storetest.NewAlert(99) // more evidence than the linear scan handles
	for i := range 40 {
		long.Evidence = append(long.Evidence, storetest.NewAlert(i).Evidence...)
	}
	alerts = append(alerts, long)
	for _, a := range alerts {
		refs := alertEntities(a)
		var got []weft.EntityRef
		for _, r := range refs {
			got = append(got, r.EntityRef)
		}
		if want := a.Entities(); !reflect.DeepEqual(got, want) {
			t.Fatalf("alert %s:\n got %v\nwant %v", a.ID, got, want)
		}
	}
}

func TestAlertEntitiesRoles(t *testing.T) {
	a := storetest.NewAlert(0)
	dup := a.Evidence[0]
	dup.Roles = []weft.EvidenceRole{"attacked", "compromised"}
	a.Evidence = append(a.Evidence, dup)
	refs := alertEntities(a)
	if got, want := rolesOf(refs[0].roles), []weft.EvidenceRole{"compromised", "attacked"}; !slices.Equal(got, want) {
		t.Fatalf("got roles %v, want %v", got, want)
	}
}

// TestEncodingStopsAtFirstError checks that with several encoders an invalid
// alert fails the batch with its own error, whatever order chunks finish in.
func TestEncodingStopsAtFirstError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	for _, bad := range []int{0, 31, 32, 200, 399} {
		alerts := make([]*weft.Alert, 400)
		for i := range alerts {
			alerts[i] = storetest.NewAlert(i)
		}
		alerts[bad].ID = "wrong"
		en := encodeAlerts(alerts)
		var err error
		for i := range alerts {
			if _, err = en.get(i); err != nil {
				break
			}
		}
		en.wait()
		if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(err.Error(), fmt.Sprintf("alert %d:", bad)) {
			t.Errorf("bad alert %d: got %v, want EINVALID naming it", bad, err)
		}
	}
}
