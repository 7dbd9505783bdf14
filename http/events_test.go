package http

// The event stream tests are internal: they shorten the heartbeat interval
// (Server.events.heartbeat) and watch the handler return.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/sqlite"
)

// patience bounds every wait of these tests, so that a broken stream fails
// the test instead of hanging it; nothing is expected to take that long.
const patience = 20 * time.Second

// eventTestServer is an API with the correlation engine on a fresh store,
// served by ts; returned is closed when a request's handler returns.
type eventTestServer struct {
	api      *Server
	ts       *httptest.Server
	store    *sqlite.Store
	returned chan string // the path of requests whose handler returned
	// direct sends request's requests to the handler itself rather than
	// over the network.
	direct bool
}

// newEventTestServer starts a server; configure, when not nil, sets the
// http.Server's fields before it starts.
func newEventTestServer(t *testing.T, heartbeat time.Duration, configure func(*http.Server)) *eventTestServer {
	t.Helper()
	e, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal", Correlator: e})
	if err != nil {
		t.Fatal(err)
	}
	b := ingest.NewBatcher(store, ingest.BatcherOptions{})
	creds := NewTestCredentials(t, store)
	api := NewServer(store, b, creds.Options(Options{}))
	api.events.heartbeat = heartbeat
	s := &eventTestServer{api: api, store: store, returned: make(chan string, 100)}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		creds.Handler(api.Handler()).ServeHTTP(w, r)
		select {
		case s.returned <- r.URL.Path:
		default: // nobody is watching
		}
	}))
	if configure != nil {
		configure(s.ts.Config)
	}
	s.ts.Start()
	t.Cleanup(func() {
		api.Close()
		s.ts.Close()
		b.Close()
		store.Close()
	})
	return s
}

// alertOn is a weft-format alert on the given devices.
func alertOn(id string, devices ...string) string {
	var ev []string
	for _, d := range devices {
		ev = append(ev, fmt.Sprintf(`{"entityType":"device","deviceDnsName":%q}`, d))
	}
	return fmt.Sprintf(`{"source":"edr","providerAlertId":%q,"title":"Suspicious PowerShell","severity":"high","firstActivityDateTime":%q,"evidence":[%s]}`,
		id, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), strings.Join(ev, ","))
}

// request sends a request with headers (name, value pairs) and returns the
// answer with its body read.
func (s *eventTestServer) request(t *testing.T, method, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if s.direct {
		// Past the network, and so past the http.Server's timeouts.
		req.RequestURI = path
		w := httptest.NewRecorder()
		s.ts.Config.Handler.ServeHTTP(w, req)
		return w.Result(), w.Body.Bytes()
	}
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// ingest stores one alert as tenant ("" for the default) and returns its
// id and incident.
func (s *eventTestServer) ingest(t *testing.T, tenant, alert string) (id string, incident int64) {
	t.Helper()
	var headers []string
	if tenant != "" {
		headers = []string{TenantHeader, tenant}
	}
	resp, raw := s.request(t, "POST", "/api/v1/alerts", alert, headers...)
	var ans struct {
		Results []struct {
			ID         string `json:"id"`
			IncidentID string `json:"incidentId"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &ans, json.RejectUnknownMembers(false)); err != nil || resp.StatusCode != http.StatusOK || len(ans.Results) != 1 {
		t.Fatalf("ingest: got %s %s (%v)", resp.Status, raw, err)
	}
	incident, err := strconv.ParseInt(ans.Results[0].IncidentID, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return ans.Results[0].ID, incident
}

// sseFrame is one block of an event stream, up to a blank line.
type sseFrame struct {
	ID, Event, Data, Retry, Comment string
}

// eventStream is an open event stream; frames are read on a goroutine.
type eventStream struct {
	resp   *http.Response
	frames chan sseFrame // closed at the end of the stream
	cancel context.CancelFunc
}

// openStream opens GET path (with headers: name, value pairs) and checks
// that it is an event stream that starts with the retry delay.
func (s *eventTestServer) openStream(t *testing.T, path string, headers ...string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	req, err := http.NewRequestWithContext(ctx, "GET", s.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	st := &eventStream{resp: resp, frames: make(chan sseFrame, 100), cancel: cancel}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: got %s %s", path, resp.Status, raw)
	}
	if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "text/event-stream" || cc != "no-cache" {
		t.Errorf("got Content-Type %q, Cache-Control %q; want text/event-stream, no-cache", ct, cc)
	}
	go func() {
		defer close(st.frames)
		sc := bufio.NewScanner(resp.Body)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				st.frames <- f
				f = sseFrame{}
			case strings.HasPrefix(line, ":"):
				f.Comment = strings.TrimSpace(line[1:])
			default:
				name, value, _ := strings.Cut(line, ": ")
				switch name {
				case "id":
					f.ID = value
				case "event":
					f.Event = value
				case "data":
					f.Data = value
				case "retry":
					f.Retry = value
				default:
					f.Comment = "unexpected line " + line
				}
			}
		}
	}()
	if f := st.next(t); f.Retry != "3000" {
		t.Fatalf("first frame: got %+v, want retry: 3000", f)
	}
	return st
}

// next returns the next frame, or fails when the stream ended.
func (st *eventStream) next(t *testing.T) sseFrame {
	t.Helper()
	select {
	case f, ok := <-st.frames:
		if !ok {
			t.Fatal("the stream ended")
		}
		return f
	case <-time.After(patience):
		t.Fatal("no frame")
	}
	return sseFrame{}
}

// nextEvent returns the next event, skipping keep-alive comments, and
// checks that its frame agrees with its data.
func (st *eventStream) nextEvent(t *testing.T) weft.Event {
	t.Helper()
	for {
		f := st.next(t)
		if f.Comment == "keep-alive" && f.ID == "" && f.Data == "" {
			continue
		}
		var e weft.Event
		if err := json.Unmarshal([]byte(f.Data), &e); err != nil {
			t.Fatalf("frame %+v: %v", f, err)
		}
		if f.ID != strconv.FormatInt(e.ID, 10) || f.Event != e.Type || f.Comment != "" {
			t.Fatalf("frame %+v: id and event do not match the data", f)
		}
		return e
	}
}

// ended waits for the stream to end.
func (st *eventStream) ended(t *testing.T) {
	t.Helper()
	for {
		select {
		case f, ok := <-st.frames:
			if !ok {
				return
			}
			if f.Comment != "keep-alive" {
				t.Fatalf("got %+v, want the end of the stream", f)
			}
		case <-time.After(patience):
			t.Fatal("the stream did not end")
		}
	}
}

type eventSummary struct {
	Type       string
	IncidentID int64
	AlertID    string
}

func summary(e weft.Event) eventSummary { return eventSummary{e.Type, e.IncidentID, e.AlertID} }

func TestEventStream(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	a1, inc := s.ingest(t, "", alertOn("a1", "ws-1.contoso.com"))
	a2, inc2 := s.ingest(t, "", alertOn("a2", "ws-1.contoso.com"))
	if inc2 != inc {
		t.Fatalf("a2 went to incident %d, want %d", inc2, inc)
	}
	live := s.openStream(t, "/api/v1/events")
	from0 := s.openStream(t, "/api/v1/events", LastEventIDHeader, "0")
	first := from0.nextEvent(t)
	second := from0.nextEvent(t)
	want := []eventSummary{{weft.EventIncidentCreated, inc, a1}, {weft.EventAlertAdded, inc, a2}}
	if got := []eventSummary{summary(first), summary(second)}; !slices.Equal(got, want) {
		t.Fatalf("from 0: got %+v, want %+v", got, want)
	}
	if first.ActivityType != weft.ActivityIncidentCreated || first.Actor != weft.ActorCorrelation || first.Message == "" || first.Time.IsZero() {
		t.Errorf("got %+v, want the incidentCreated activity with actor, message and time", first)
	}

	// Live: a PATCH is an incidentUpdated event on both streams; the
	// stream opened without Last-Event-ID did not get the earlier events.
	resp, raw := s.request(t, "PATCH", "/api/v1/incidents/"+strconv.FormatInt(inc, 10), `{"status":"inProgress"}`, "Weft-Actor", "alice")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: got %s %s", resp.Status, raw)
	}
	updated := live.nextEvent(t)
	if got, want := summary(updated), (eventSummary{weft.EventIncidentUpdated, inc, ""}); got != want || updated.Actor != "alice" || updated.ActivityType != weft.ActivityIncidentUpdated {
		t.Errorf("live: got %+v, want %+v by alice", updated, want)
	}
	if got := from0.nextEvent(t); got != updated {
		t.Errorf("from 0, after the missed events: got %+v, want %+v", got, updated)
	}

	t.Run("Resume", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			path    string
			headers []string
		}{
			{"Header", "/api/v1/events", []string{LastEventIDHeader, strconv.FormatInt(first.ID, 10)}},
			{"Param", "/api/v1/events?lastEventId=" + strconv.FormatInt(first.ID, 10), nil},
			// EventSource reconnects to its first URL with the id it got
			// last in the header.
			{"HeaderWins", "/api/v1/events?lastEventId=0", []string{LastEventIDHeader, strconv.FormatInt(first.ID, 10)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := s.openStream(t, tc.path, tc.headers...)
				if got := st.nextEvent(t); got != second {
					t.Errorf("got %+v, want %+v", got, second)
				}
				if got := st.nextEvent(t); got != updated {
					t.Errorf("got %+v, want %+v", got, updated)
				}
			})
		}
	})
	t.Run("PastTheEndStartsAtTheEnd", func(t *testing.T) {
		st := s.openStream(t, "/api/v1/events", LastEventIDHeader, "999999")
		_, raw := s.request(t, "POST", "/api/v1/incidents/"+strconv.FormatInt(inc, 10)+"/comments", `{"comment":"hello"}`)
		got := st.nextEvent(t)
		if got.Type != weft.EventIncidentUpdated || got.ActivityType != weft.ActivityCommentAdded || got.Message != "hello" {
			t.Errorf("got %+v, want the comment (answer %s)", got, raw)
		}
	})
}

func TestEventStreamMerge(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	_, x := s.ingest(t, "", alertOn("a1", "ws-1.contoso.com"))
	_, y := s.ingest(t, "", alertOn("a2", "ws-2.contoso.com"))
	st := s.openStream(t, "/api/v1/events?types=incidentMerged")
	s.ingest(t, "", alertOn("a3", "ws-1.contoso.com", "ws-2.contoso.com"))
	var got []int64
	for range 2 {
		e := st.nextEvent(t)
		if e.Type != weft.EventIncidentMerged {
			t.Fatalf("got %+v, want incidentMerged", e)
		}
		got = append(got, e.IncidentID)
	}
	slices.Sort(got)
	if want := []int64{min(x, y), max(x, y)}; !slices.Equal(got, want) {
		t.Errorf("got incidentMerged on %v, want on %v", got, want)
	}
}

// TestEventStreamFilters: events that a stream's filters (or its tenant)
// leave out are committed before one it wants, which must be the next event
// it gets.
func TestEventStreamFilters(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	_, inc := s.ingest(t, "", alertOn("a1", "ws-1.contoso.com"))
	_, other := s.ingest(t, "", alertOn("b1", "ws-9.contoso.com"))
	patches := 0
	patch := func(id int64, tenant string) { // a change each time
		t.Helper()
		patches++
		resp, raw := s.request(t, "PATCH", "/api/v1/incidents/"+strconv.FormatInt(id, 10), `{"assignedTo":"analyst`+strconv.Itoa(patches)+`"}`, TenantHeader, tenant)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PATCH: got %s %s", resp.Status, raw)
		}
	}

	t.Run("Tenant", func(t *testing.T) {
		def := s.openStream(t, "/api/v1/events")
		fab := s.openStream(t, "/api/v1/events", TenantHeader, "fabrikam")
		fa, finc := s.ingest(t, "fabrikam", alertOn("f1", "ws-1.contoso.com"))
		da, dinc := s.ingest(t, "", alertOn("a2", "ws-1.contoso.com"))
		if got, want := summary(def.nextEvent(t)), (eventSummary{weft.EventAlertAdded, dinc, da}); got != want {
			t.Errorf("default tenant: got %+v, want %+v", got, want)
		}
		if got, want := summary(fab.nextEvent(t)), (eventSummary{weft.EventIncidentCreated, finc, fa}); got != want {
			t.Errorf("fabrikam: got %+v, want %+v", got, want)
		}
		patch(dinc, weft.DefaultTenantID)
		patch(finc, "fabrikam")
		if got, want := summary(fab.nextEvent(t)), (eventSummary{weft.EventIncidentUpdated, finc, ""}); got != want {
			t.Errorf("fabrikam after both updates: got %+v, want %+v", got, want)
		}
		// Resuming from 0 in fabrikam: its own two events only.
		from0 := s.openStream(t, "/api/v1/events", TenantHeader, "fabrikam", LastEventIDHeader, "0")
		for _, want := range []eventSummary{{weft.EventIncidentCreated, finc, fa}, {weft.EventIncidentUpdated, finc, ""}} {
			if got := summary(from0.nextEvent(t)); got != want {
				t.Errorf("fabrikam from 0: got %+v, want %+v", got, want)
			}
		}
	})
	t.Run("IncidentID", func(t *testing.T) {
		st := s.openStream(t, "/api/v1/events?incidentId="+strconv.FormatInt(inc, 10))
		patch(other, weft.DefaultTenantID)
		patch(inc, weft.DefaultTenantID)
		if got := st.nextEvent(t); got.IncidentID != inc {
			t.Errorf("got %+v, want an event of incident %d", got, inc)
		}
	})
	t.Run("Types", func(t *testing.T) {
		st := s.openStream(t, "/api/v1/events?types=incidentCreated,%20alertAdded")
		patch(inc, weft.DefaultTenantID)
		a, added := s.ingest(t, "", alertOn("a3", "ws-1.contoso.com"))
		b, created := s.ingest(t, "", alertOn("c1", "ws-77.contoso.com"))
		for _, want := range []eventSummary{{weft.EventAlertAdded, added, a}, {weft.EventIncidentCreated, created, b}} {
			if got := summary(st.nextEvent(t)); got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		}
	})
}

func TestEventStreamBadRequest(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	for _, tc := range []struct {
		name    string
		query   string
		headers []string
		want    string
	}{
		{"ErrLastEventIDHeader", "", []string{LastEventIDHeader, "abc"}, `Last-Event-ID: "abc" is not an event id`},
		{"ErrLastEventIDNegative", "", []string{LastEventIDHeader, "-5"}, `Last-Event-ID: "-5" is not an event id`},
		{"ErrLastEventIDParam", "?lastEventId=1.5", nil, `lastEventId: "1.5" is not an event id`},
		{"ErrIncidentID", "?incidentId=0", nil, `incidentId: "0" is not an incident id`},
		{"ErrIncidentIDEmpty", "?incidentId=", nil, `incidentId: "" is not an incident id`},
		{"ErrType", "?types=alertAdded,incidentDeleted", nil, `types: "incidentDeleted" is not an event type; allowed: incidentCreated, alertAdded, incidentMerged, incidentUpdated`},
		{"ErrTypesEmpty", "?types=", nil, `types: "" is not an event type`},
		{"ErrUnknownParameter", "?incidentID=4", nil, `unknown parameter "incidentID"; allowed: lastEventId, incidentId, types`},
		{"ErrRepeated", "?types=alertAdded&types=incidentCreated", nil, "types is given 2 times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := s.request(t, "GET", "/api/v1/events"+tc.query, "", tc.headers...)
			var e errorBody
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("got %s %s: %v", resp.Status, raw, err)
			}
			if resp.StatusCode != http.StatusBadRequest || e.Error.Code != weft.EINVALID || !strings.HasPrefix(e.Error.Message, tc.want) {
				t.Errorf("got %s %+v, want 400 invalid %q…", resp.Status, e.Error, tc.want)
			}
		})
	}
}

// noEvents is a store without an event log.
type noEvents struct{ weft.Store }

func TestEventStreamUnsupported(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	creds := NewTestCredentials(t, s.store)
	api := NewServer(noEvents{s.store}, nil, creds.Options(Options{}))
	w := httptest.NewRecorder()
	creds.Handler(api.Handler()).ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/events", nil))
	var e errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	if w.Code != statusByCode[weft.EUNSUPPORTED] || e.Error.Code != weft.EUNSUPPORTED {
		t.Errorf("got %d %+v, want %d unsupported", w.Code, e.Error, statusByCode[weft.EUNSUPPORTED])
	}
}

func TestEventStreamHeartbeat(t *testing.T) {
	s := newEventTestServer(t, time.Millisecond, nil)
	st := s.openStream(t, "/api/v1/events")
	for range 3 {
		if f := st.next(t); f != (sseFrame{Comment: "keep-alive"}) {
			t.Fatalf("got %+v, want a keep-alive comment", f)
		}
	}
}

// TestEventStreamOutlivesServerTimeouts: the http.Server's read and write
// timeouts, which bound ordinary requests, do not end a stream. The
// heartbeats measure the time: several intervals pass the timeouts.
func TestEventStreamOutlivesServerTimeouts(t *testing.T) {
	const timeout = 50 * time.Millisecond
	s := newEventTestServer(t, timeout/2, func(hs *http.Server) {
		hs.ReadTimeout, hs.WriteTimeout = timeout, timeout
	})
	st := s.openStream(t, "/api/v1/events")
	start := time.Now()
	for time.Since(start) < 3*timeout {
		if f := st.next(t); f != (sseFrame{Comment: "keep-alive"}) {
			t.Fatalf("got %+v, want a keep-alive comment", f)
		}
	}
	// The alert is stored past the server's timeouts, which would cut off
	// an ingest that takes longer than 50 ms (it can, under the race
	// detector on a busy machine): they are not what this test is about.
	s.direct = true
	a, inc := s.ingest(t, "", alertOn("late", "ws-1.contoso.com"))
	if got, want := summary(st.nextEvent(t)), (eventSummary{weft.EventIncidentCreated, inc, a}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestEventStreamClientGone: the handler returns when the client goes away,
// with no heartbeat or event to write that would tell it.
func TestEventStreamClientGone(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	st := s.openStream(t, "/api/v1/events")
	st.cancel()
	select {
	case path := <-s.returned:
		if path != "/api/v1/events" {
			t.Fatalf("got %s returned, want the stream", path)
		}
	case <-time.After(patience):
		t.Fatal("the handler did not return")
	}
}

func TestEventStreamClose(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	streams := []*eventStream{s.openStream(t, "/api/v1/events"), s.openStream(t, "/api/v1/events", LastEventIDHeader, "0")}
	s.api.Close()
	for _, st := range streams {
		st.ended(t)
	}
	for range streams {
		select {
		case <-s.returned:
		case <-time.After(patience):
			t.Fatal("a handler did not return")
		}
	}
	resp, raw := s.request(t, "GET", "/api/v1/events", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: got %s %s, want 503", resp.Status, raw)
	}
	// Other requests are served as before.
	if resp, raw := s.request(t, "GET", "/api/v1/incidents", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/incidents after Close: got %s %s", resp.Status, raw)
	}
	s.api.Close() // a second Close is harmless
}

func TestEventStreamLimit(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	s.api.events.max = 2
	first := s.openStream(t, "/api/v1/events")
	s.openStream(t, "/api/v1/events")
	resp, raw := s.request(t, "GET", "/api/v1/events", "")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(raw), "2 event streams are open") {
		t.Errorf("a third stream: got %s %s, want 503", resp.Status, raw)
	}
	<-s.returned // the refused request's
	first.cancel()
	select {
	case <-s.returned:
	case <-time.After(patience):
		t.Fatal("the handler did not return")
	}
	s.openStream(t, "/api/v1/events") // one closed, one more may open
}

// TestEventStreamStoreClosed: a stream ends when the store closes under it.
func TestEventStreamStoreClosed(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	st := s.openStream(t, "/api/v1/events")
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	st.ended(t)
}

// endFrame waits for the stream's next frame that is not a keep-alive and
// checks that it is the end frame with code, then that the stream ends.
func (st *eventStream) endFrame(t *testing.T, code string) {
	t.Helper()
	for {
		f := st.next(t)
		if f.Comment == "keep-alive" && f.ID == "" && f.Data == "" {
			continue
		}
		var end struct {
			Code   string `json:"code"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(f.Data), &end); err != nil || f.Event != "end" || f.ID != "" || end.Code != code || end.Reason == "" {
			t.Fatalf("got %+v, want \"event: end\" with code %q and a reason", f, code)
		}
		st.ended(t)
		return
	}
}

// TestEventStreamAccessEnds checks that an open stream ends, with an end
// frame that says why and no event after the change, when its token is
// revoked, its user disabled or given no grant in the tenant, or its tenant
// disabled; and that a stream whose access is unchanged goes on.
func TestEventStreamAccessEnds(t *testing.T) {
	s := newEventTestServer(t, 50*time.Millisecond, nil)
	s.api.events.recheck = -1 // check before every batch and heartbeat
	ctx := context.Background()
	viewer := []weft.Grant{{TenantID: "acme", Role: weft.RoleViewer}}
	n := 0
	for _, tc := range []struct {
		name     string
		session  bool
		change   func(t *testing.T, tokenID, userID string)
		wantCode string // "": the stream goes on
	}{
		{name: "OK_Unchanged"},
		{name: "TokenRevoked", change: func(t *testing.T, tokenID, _ string) {
			if err := s.store.RevokeToken(ctx, tokenID); err != nil {
				t.Fatal(err)
			}
		}, wantCode: weft.EUNAUTHENTICATED},
		{name: "TenantDisabled", change: func(t *testing.T, _, _ string) {
			if _, err := s.store.UpdateTenant(ctx, "acme", nil, new(true)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.store.UpdateTenant(ctx, "acme", nil, new(false)) })
		}, wantCode: weft.EFORBIDDEN},
		{name: "GrantTakenAway", session: true, change: func(t *testing.T, _, userID string) {
			other := []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer}}
			if _, err := s.store.UpdateUser(ctx, userID, nil, &other, nil); err != nil {
				t.Fatal(err)
			}
		}, wantCode: weft.ENOTFOUND},
		{name: "UserDisabled", session: true, change: func(t *testing.T, _, userID string) {
			if _, err := s.store.UpdateUser(ctx, userID, nil, nil, new(true)); err != nil {
				t.Fatal(err)
			}
		}, wantCode: weft.EUNAUTHENTICATED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var creds []string
			var tokenID, userID string
			if tc.session {
				u, err := s.store.CreateUser(ctx, &weft.User{Name: "jane-" + tc.name, Grants: viewer}, "correct horse battery staple")
				if err != nil {
					t.Fatal(err)
				}
				secret, _, err := s.store.CreateSession(ctx, u.ID, "", "")
				if err != nil {
					t.Fatal(err)
				}
				userID, creds = u.ID, []string{"Cookie", SessionCookie + "=" + secret}
			} else {
				tok, secret, err := s.store.CreateToken(ctx, &weft.Token{Name: "viewer-" + tc.name, Grants: viewer, CreatedBy: "test"})
				if err != nil {
					t.Fatal(err)
				}
				tokenID, creds = tok.ID, []string{"Authorization", "Bearer " + secret}
			}
			st := s.openStream(t, "/api/v1/events", append(creds, TenantHeader, "acme")...)
			n++
			_, inc := s.ingest(t, "acme", alertOn("before-"+tc.name, fmt.Sprintf("ws-%d.acme.com", n)))
			if e := st.nextEvent(t); e.IncidentID != inc {
				t.Fatalf("before the change: got %+v, want an event of incident %d", e, inc)
			}
			if tc.change != nil {
				tc.change(t, tokenID, userID)
			}
			if tc.name != "TenantDisabled" { // a disabled tenant takes no alert
				s.ingest(t, "acme", alertOn("after-"+tc.name, fmt.Sprintf("ws-%d.acme.com", n)))
			}
			if tc.wantCode == "" {
				if e := st.nextEvent(t); e.AlertID == "" {
					t.Fatalf("after: got %+v, want the alert added", e)
				}
				return
			}
			st.endFrame(t, tc.wantCode)
		})
	}
}

// TestEventStreamDeviceGroups checks that a principal limited to device
// groups gets the events of the incidents in its groups only.
func TestEventStreamDeviceGroups(t *testing.T) {
	s := newEventTestServer(t, time.Hour, nil)
	ctx := context.Background()
	if resp, raw := s.request(t, "PUT", "/api/v1/assets", `[{"id":"ws-fin","kind":"device","deviceGroup":"Finance","deviceDnsName":"ws-fin.contoso.com"},`+
		`{"id":"srv-01","kind":"device","deviceGroup":"Servers","deviceDnsName":"srv-01.contoso.com"}]`); resp.StatusCode != http.StatusOK {
		t.Fatalf("storing assets: got %s %s", resp.Status, raw)
	}
	_, secret, err := s.store.CreateToken(ctx, &weft.Token{Name: "finance", CreatedBy: "test",
		Grants: []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer, DeviceGroups: []string{"Finance"}}}})
	if err != nil {
		t.Fatal(err)
	}
	finance := s.openStream(t, "/api/v1/events", "Authorization", "Bearer "+secret)
	all := s.openStream(t, "/api/v1/events")
	_, outside := s.ingest(t, "", alertOn("srv", "srv-01.contoso.com"))
	_, none := s.ingest(t, "", alertOn("none", "ws-none.contoso.com"))
	_, inside := s.ingest(t, "", alertOn("fin", "ws-fin.contoso.com"))
	for _, want := range []int64{outside, none, inside} {
		if e := all.nextEvent(t); e.IncidentID != want {
			t.Fatalf("the unlimited stream: got %+v, want an event of incident %d", e, want)
		}
	}
	if e := finance.nextEvent(t); e.IncidentID != inside {
		t.Fatalf("the Finance stream: got %+v, want the event of incident %d (in Finance) first", e, inside)
	}
}
