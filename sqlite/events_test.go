package sqlite_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// eventSummary is what the event tests compare: type, activity type,
// incident and alert of each event.
type eventSummary struct {
	Type, ActivityType string
	IncidentID         int64
	AlertID            string
}

func summarize(evs []weft.Event) []eventSummary {
	out := []eventSummary{}
	for _, e := range evs {
		out = append(out, eventSummary{e.Type, e.ActivityType, e.IncidentID, e.AlertID})
	}
	return out
}

func mustEvents(t *testing.T, s *sqlite.Store, tenant string, after int64, limit int) []weft.Event {
	t.Helper()
	evs, err := s.Events(ctx, tenant, after, limit)
	if err != nil {
		t.Fatalf("Events(%s, %d, %d): %v", tenant, after, limit, err)
	}
	return evs
}

func TestEvents(t *testing.T) {
	s := openManaged(t)
	a1 := onDevices(t, "a1", 0, "ws-1.contoso.com")
	x := storeOne(t, s, a1)
	a2 := onDevices(t, "a2", 1, "ws-2.contoso.com")
	y := storeOne(t, s, a2)
	other := &weft.Alert{TenantID: "fabrikam", Source: "microsoftDefenderForEndpoint", ProviderAlertID: "o1",
		Title: "alert o1", Severity: weft.SeverityMedium, FirstActivityDateTime: manageNow.Add(-time.Hour),
		Evidence: []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: "ws-1.contoso.com"}}}
	if _, err := other.Normalize(manageNow); err != nil {
		t.Fatal(err)
	}
	storeOne(t, s, other)
	a3 := onDevices(t, "a3", 2, "ws-1.contoso.com")
	storeOne(t, s, a3)
	update(t, s, x, weft.IncidentPatch{AssignedTo: ptr("alice")})
	if _, _, err := s.AddIncidentComment(ctx, weft.DefaultTenantID, x, "looking", "alice", 0); err != nil {
		t.Fatal(err)
	}
	// An alert that links both incidents merges y into x.
	storeOne(t, s, onDevices(t, "a4", 5, "ws-1.contoso.com", "ws-2.contoso.com"))

	all := mustEvents(t, s, weft.DefaultTenantID, 0, 0)
	want := []eventSummary{
		{weft.EventIncidentCreated, weft.ActivityIncidentCreated, x, a1.ID},
		{weft.EventIncidentCreated, weft.ActivityIncidentCreated, y, a2.ID},
		{weft.EventAlertAdded, weft.ActivityAlertAdded, x, a3.ID},
		{weft.EventIncidentUpdated, weft.ActivityIncidentUpdated, x, ""},
		{weft.EventIncidentUpdated, weft.ActivityCommentAdded, x, ""},
	}
	if got := summarize(all); len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("got events\n%+v\nwant them to start with\n%+v", got, want)
	}
	// The merge: both sides, and the alert added, in some order of the
	// one batch.
	var merged []int64
	for _, e := range all[len(want):] {
		if e.Type == weft.EventIncidentMerged {
			merged = append(merged, e.IncidentID)
		}
	}
	slices.Sort(merged)
	if !slices.Equal(merged, []int64{x, y}) {
		t.Errorf("got incidentMerged events on incidents %v, want on %d and %d; events %+v", merged, x, y, summarize(all[len(want):]))
	}

	t.Run("IDsIncreaseAndTimesAndActors", func(t *testing.T) {
		for i, e := range all {
			if i > 0 && e.ID <= all[i-1].ID {
				t.Errorf("event %d: id %d after %d", i, e.ID, all[i-1].ID)
			}
			if !e.Time.Equal(manageNow) || e.Actor == "" || e.Message == "" {
				t.Errorf("event %d: got time %v, actor %q, message %q; want %v and both set", i, e.Time, e.Actor, e.Message, manageNow)
			}
		}
		if all[3].Actor != "alice@contoso.com" || all[4].Actor != "alice" || all[4].Message != "looking" {
			t.Errorf("got actors %q, %q and message %q", all[3].Actor, all[4].Actor, all[4].Message)
		}
	})
	t.Run("ResumeAfter", func(t *testing.T) {
		for i := range all {
			got := mustEvents(t, s, weft.DefaultTenantID, all[i].ID, 0)
			if !slices.Equal(got, all[i+1:]) {
				t.Errorf("after %d: got %+v, want %+v", all[i].ID, summarize(got), summarize(all[i+1:]))
			}
		}
	})
	t.Run("Limit", func(t *testing.T) {
		var got []weft.Event
		for after := int64(0); ; {
			page := mustEvents(t, s, weft.DefaultTenantID, after, 2)
			if len(page) > 2 {
				t.Fatalf("limit 2: got %d events", len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, all) {
			t.Errorf("paged by 2: got %+v, want %+v", summarize(got), summarize(all))
		}
	})
	t.Run("TenantsApart", func(t *testing.T) {
		evs := mustEvents(t, s, "fabrikam", 0, 0)
		if got, want := summarize(evs), []eventSummary{{weft.EventIncidentCreated, weft.ActivityIncidentCreated, evs[0].IncidentID, other.ID}}; !slices.Equal(got, want) {
			t.Errorf("fabrikam: got %+v, want %+v", got, want)
		}
		for _, e := range all {
			if e.ID == evs[0].ID {
				t.Errorf("fabrikam's event %d is among the default tenant's", e.ID)
			}
		}
		if evs := mustEvents(t, s, "nobody", 0, 0); len(evs) != 0 {
			t.Errorf("unknown tenant: got %+v, want none", summarize(evs))
		}
	})
	t.Run("LastEventID", func(t *testing.T) {
		for _, tenant := range []string{weft.DefaultTenantID, "fabrikam", "nobody"} {
			last, err := s.LastEventID(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if last < all[len(all)-1].ID {
				t.Errorf("%s: got last id %d, before event %d", tenant, last, all[len(all)-1].ID)
			}
			if evs := mustEvents(t, s, tenant, last, 0); len(evs) != 0 {
				t.Errorf("%s: after the last id %d got %+v", tenant, last, summarize(evs))
			}
		}
		last, _ := s.LastEventID(ctx, weft.DefaultTenantID)
		update(t, s, x, weft.IncidentPatch{Status: ptr(weft.IncidentStatusInProgress)})
		got := summarize(mustEvents(t, s, weft.DefaultTenantID, last, 0))
		if want := []eventSummary{{weft.EventIncidentUpdated, weft.ActivityIncidentUpdated, x, ""}}; !slices.Equal(got, want) {
			t.Errorf("after LastEventID and an update: got %+v, want %+v", got, want)
		}
	})
	t.Run("ErrNegativeAfter", func(t *testing.T) {
		if _, err := s.Events(ctx, weft.DefaultTenantID, -1, 0); weft.ErrorCode(err) != weft.EINVALID {
			t.Errorf("got %v, want EINVALID", err)
		}
	})
}

func TestEventsEmptyStore(t *testing.T) {
	s := openManaged(t)
	last, err := s.LastEventID(ctx, weft.DefaultTenantID)
	if err != nil || last != 0 {
		t.Errorf("LastEventID: got %d, %v; want 0", last, err)
	}
	if evs := mustEvents(t, s, weft.DefaultTenantID, 0, 0); len(evs) != 0 {
		t.Errorf("Events: got %+v, want none", summarize(evs))
	}
}

func TestEventsChanged(t *testing.T) {
	s := openManaged(t)
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := s.EventsChanged()
	if closed(ch) {
		t.Fatal("closed before any commit")
	}
	id := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
	if !closed(ch) {
		t.Error("not closed by StoreAlerts")
	}
	ch = s.EventsChanged()
	if closed(ch) {
		t.Fatal("the next channel is closed before the next commit")
	}
	update(t, s, id, weft.IncidentPatch{AssignedTo: ptr("alice")})
	if !closed(ch) {
		t.Error("not closed by UpdateIncident")
	}

	t.Run("Close", func(t *testing.T) {
		s := openManaged(t)
		ch := s.EventsChanged()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if !closed(ch) {
			t.Error("a waiter's channel is not closed by Close")
		}
		if !closed(s.EventsChanged()) {
			t.Error("EventsChanged after Close: got an open channel")
		}
		if _, err := s.Events(ctx, weft.DefaultTenantID, 0, 0); weft.ErrorCode(err) != weft.EUNAVAILABLE {
			t.Errorf("Events after Close: got %v, want EUNAVAILABLE", err)
		}
		if _, err := s.LastEventID(ctx, weft.DefaultTenantID); weft.ErrorCode(err) != weft.EUNAVAILABLE {
			t.Errorf("LastEventID after Close: got %v, want EUNAVAILABLE", err)
		}
	})
}

// TestEventsTail is the property the event stream rests on: a reader that
// tails the log while several writers commit (alert batches and analysts'
// updates at once), reading after the last id it saw whenever EventsChanged
// fires, gets every event exactly once and in id order.
func TestEventsTail(t *testing.T) {
	s := openManaged(t)
	id := storeOne(t, s, onDevices(t, "seed", 0, "ws-0.contoso.com"))
	start, err := s.LastEventID(ctx, weft.DefaultTenantID)
	if err != nil {
		t.Fatal(err)
	}

	var writers sync.WaitGroup
	errs := make(chan error, 3)
	for w := range 2 {
		var alerts []*weft.Alert
		for i := range 20 {
			alerts = append(alerts, onDevices(t, fmt.Sprintf("w%d-%d", w, i), i, fmt.Sprintf("ws-%d-%d.contoso.com", w, i%3)))
		}
		writers.Go(func() {
			for _, a := range alerts {
				if _, err := s.StoreAlerts(context.Background(), []*weft.Alert{a}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	writers.Go(func() {
		for i := range 20 {
			tag := []string{fmt.Sprintf("t%d", i)}
			if _, err := s.UpdateIncident(context.Background(), weft.DefaultTenantID, id, weft.IncidentPatch{CustomTags: &tag}, "bob", 0); err != nil {
				errs <- err
				return
			}
		}
	})
	done := make(chan struct{})
	go func() { writers.Wait(); close(done) }()

	var tailed []weft.Event
	after := start
	for finished := false; ; {
		changed := s.EventsChanged()
		evs := mustEvents(t, s, weft.DefaultTenantID, after, 7)
		tailed = append(tailed, evs...)
		if len(evs) > 0 {
			after = evs[len(evs)-1].ID
			continue
		}
		if finished {
			break
		}
		select {
		case <-changed:
		case <-done:
			finished = true // one more read picks up the last commits
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	full := mustEvents(t, s, weft.DefaultTenantID, start, weft.MaxEventBatch)
	if len(full) < 60 { // 40 alerts and 20 tag changes, at least
		t.Fatalf("got %d events in all, want at least 60", len(full))
	}
	if !slices.Equal(tailed, full) {
		t.Errorf("tailing got %d events, the log holds %d since %d", len(tailed), len(full), start)
	}
}

func TestEventType(t *testing.T) {
	for _, tc := range []struct{ activity, want string }{
		{weft.ActivityIncidentCreated, weft.EventIncidentCreated},
		{weft.ActivityAlertAdded, weft.EventAlertAdded},
		{weft.ActivityIncidentMerged, weft.EventIncidentMerged},
		{weft.ActivityIncidentRedirected, weft.EventIncidentMerged},
		{"incidentsMerged", weft.EventIncidentMerged},
		{weft.ActivityIncidentUpdated, weft.EventIncidentUpdated},
		{weft.ActivityAlertUpdated, weft.EventIncidentUpdated},
		{weft.ActivityAlertsResolved, weft.EventIncidentUpdated},
		{weft.ActivityCommentAdded, weft.EventIncidentUpdated},
		{weft.ActivityIncidentImported, weft.EventIncidentUpdated},
		{"alertsMoved", weft.EventIncidentUpdated},
		{"incidentSplit", weft.EventIncidentUpdated},
		{"somethingNew", weft.EventIncidentUpdated},
	} {
		if got := weft.EventType(tc.activity); got != tc.want {
			t.Errorf("EventType(%q): got %q, want %q", tc.activity, got, tc.want)
		}
	}
}
