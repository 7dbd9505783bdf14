package storetest

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func TestNewAlert(t *testing.T) {
	t.Run("NormalizedAndDeterministic", func(t *testing.T) {
		for i := range 12 {
			a := NewAlert(i)
			if !reflect.DeepEqual(a, NewAlert(i)) {
				t.Fatalf("NewAlert(%d) differs between calls", i)
			}
			b := NewAlert(i)
			b.Raw = nil
			if _, err := b.Normalize(b.CreatedDateTime); err != nil {
				t.Fatalf("NewAlert(%d): %v", i, err)
			}
			if b.ID != a.ID || a.ID != weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID) {
				t.Fatalf("NewAlert(%d): id %q is not its derived id", i, a.ID)
			}
			if a.TenantID != weft.DefaultTenantID || a.CreatedDateTime.IsZero() || a.ProviderLastUpdateDateTime == nil {
				t.Fatalf("NewAlert(%d): got %+v, want a normalized alert of the default tenant with a version", i, a)
			}
		}
	})

	t.Run("RealisticShape", func(t *testing.T) {
		ids := map[string]bool{}
		keys := map[string]int{}
		var size int
		const n = 300
		for i := range n {
			a := NewAlert(i)
			if ids[a.ID] {
				t.Fatalf("NewAlert(%d): repeats id %s", i, a.ID)
			}
			ids[a.ID] = true
			if got := len(a.Evidence); got != 5 {
				t.Fatalf("NewAlert(%d): got %d evidence records, want 5", i, got)
			}
			if got := len(a.Entities()); got != 5 {
				t.Fatalf("NewAlert(%d): got %d entities, want 5: %v", i, got, a.Entities())
			}
			for _, e := range a.Entities() {
				keys[e.Key]++
			}
			if i > 0 && !a.FirstActivityDateTime.After(NewAlert(i-1).FirstActivityDateTime) {
				t.Fatalf("NewAlert(%d): event time does not increase", i)
			}
			var raw weft.Alert
			if err := json.Unmarshal(a.Raw, &raw); err != nil || raw.ID != a.ID {
				t.Fatalf("NewAlert(%d): raw original is not the alert: %v", i, err)
			}
			size += len(a.Raw)
		}
		if avg := size / n; avg < 1500 || avg > 4000 {
			t.Errorf("got %d bytes of JSON per alert on average, want about 2–3 KB", avg)
		}
		hottest := 0
		for _, c := range keys {
			hottest = max(hottest, c)
		}
		if len(keys) > 5*n*8/10 || hottest < 10 {
			t.Errorf("got %d distinct entities in %d alerts, the hottest in %d; want alerts to share entities, a few hot",
				len(keys), n, hottest)
		}
	})
}

func TestNewRichAlert(t *testing.T) {
	a := NewRichAlert()
	v := reflect.ValueOf(a).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "IncidentID" || name == "Import" { // a store sets the one; the other is not stored
			continue
		}
		if v.Field(i).IsZero() {
			t.Errorf("field %s is not set", name)
		}
	}
	types := map[weft.EntityType]bool{}
	for _, e := range a.Evidence {
		types[e.EntityType] = true
		for _, tm := range []*time.Time{e.CreatedDateTime, e.ReceivedDateTime, e.ProcessCreationDateTime, e.ParentProcessCreationDateTime} {
			if tm != nil && tm.Location() != time.UTC {
				t.Errorf("evidence %s: time %v is not UTC", e.EntityType, tm)
			}
		}
	}
	for _, et := range weft.EntityTypes {
		if !types[et] {
			t.Errorf("no evidence of type %s", et)
		}
	}
	// Every field of Evidence is set in some record.
	ev := reflect.TypeFor[weft.Evidence]()
	for i := range ev.NumField() {
		set := false
		for _, e := range a.Evidence {
			if !reflect.ValueOf(e).Field(i).IsZero() {
				set = true
				break
			}
		}
		if !set {
			t.Errorf("evidence field %s is never set", ev.Field(i).Name)
		}
	}
}
