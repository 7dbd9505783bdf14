package http

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// Live updates (design §10):
//
//	GET /api/v1/events   text/event-stream (Server-Sent Events)
//
// The stream is a tail of the tenant's activity log (weft.EventStore): each
// event is one activity entry, sent as
//
//	id: 1234
//	event: alertAdded
//	data: {"id":"1234","type":"alertAdded","incidentId":"17",…}
//
// followed by a blank line. A client that reconnects with the last id it
// received (Last-Event-ID, as EventSource does by itself, or
// ?lastEventId=N) gets every event it missed, once and in order, then the
// new ones; without either, the stream starts at the current end of the log.
// Filters: ?incidentId=N (one incident's events) and ?types=a,b (event
// types). The stream sends "retry: 3000" first and a comment
// (": keep-alive") every heartbeat interval, so that proxies and clients
// see a live connection; the store is also read again then, which picks up
// commits made by another process. It ends when the client goes away, when
// the store closes, or at Server.Close.
//
// The access that let the stream start is checked again while it is open
// (streamAccess): before a batch of events is sent and at each heartbeat,
// at most once per recheck interval (defaultRecheck), the token or session
// is looked up again (a revoked or expired token, an ended session, a
// disabled user), then the principal's grants in the tenant (a role that no
// longer reads it) and the tenant (disabled). When one fails, the stream
// sends a last frame
//
//	event: end
//	data: {"code":"forbidden","reason":"tenant \"acme\" is disabled: …"}
//
// and ends; nothing of the batch that was about to go is sent. The frame has
// no id, so that a client that reconnects asks from its last event; the
// reconnection is then refused (401 or 403), which stops EventSource.
//
// A principal whose grant in the tenant is limited to device groups gets
// only the events of incidents that touch a device of one of them
// (incidentInGroups), as the queue would list them; the events of other
// incidents are skipped, and so are events without an incident. Whether an
// incident is in the groups is remembered until the next recheck, so that an
// incident that joins or leaves the groups (its alerts moved, an asset's
// group changed) is seen within one interval.

// Names of the event stream's request parameters.
const (
	LastEventIDHeader = "Last-Event-ID"
	lastEventIDParam  = "lastEventId"
	incidentIDParam   = "incidentId"
	typesParam        = "types"
)

const (
	// defaultHeartbeat is the interval of keep-alive comments: well under
	// the idle timeouts of common proxies (60 s).
	defaultHeartbeat = 15 * time.Second
	// eventRetryMillis is the reconnection delay the stream asks clients
	// for.
	eventRetryMillis = 3000
	// eventWriteTimeout bounds each write to a stream: the server's
	// WriteTimeout, which bounds a whole response, is lifted for a stream,
	// and this keeps a client that stops reading (without closing) from
	// holding its handler forever.
	eventWriteTimeout = 30 * time.Second
	// defaultRecheck is the least time between two checks of an open
	// stream's access: each is a few primary-key reads (the credential,
	// the tenant), and a revoked token or a disabled tenant is cut off
	// within this time of the change, before the next batch it would get.
	defaultRecheck = 5 * time.Second
	// MaxEventStreams bounds the event streams open at once: every commit
	// wakes each of them to read the store, so that many would crowd out
	// other readers. One more is refused (503).
	MaxEventStreams = 200
)

// eventStreams lets Close end the open event streams. The zero value is
// ready to use.
type eventStreams struct {
	mu     sync.Mutex
	stop   chan struct{} // closed by Close; made on first use
	closed bool
	open   int // streams open now
	// heartbeat is the interval of keep-alive comments and max the most
	// streams open at once; zero means defaultHeartbeat and
	// MaxEventStreams. Tests lower them. recheck is the least time
	// between two checks of a stream's access (zero: defaultRecheck; a
	// negative value checks before every batch, for tests).
	heartbeat time.Duration
	max       int
	recheck   time.Duration
}

// begin counts a stream in and returns the channel that Close closes. It
// returns EUNAVAILABLE after Close and when MaxEventStreams are open. Every
// begin that returns no error is paired with done.
func (es *eventStreams) begin() (<-chan struct{}, error) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.closed {
		return nil, weft.Errorf(weft.EUNAVAILABLE, "the server is shutting down")
	}
	if es.open >= cmp.Or(es.max, MaxEventStreams) {
		return nil, weft.Errorf(weft.EUNAVAILABLE, "%d event streams are open, the most this server serves; try again later", es.open)
	}
	if es.stop == nil {
		es.stop = make(chan struct{})
	}
	es.open++
	return es.stop, nil
}

func (es *eventStreams) done() {
	es.mu.Lock()
	defer es.mu.Unlock()
	es.open--
}

// Close ends the open event streams, whose handlers return at once (or, for
// one blocked writing to a client that stopped reading, when that write
// times out), and refuses later event requests (503). Other requests are
// not affected. http.Server.Shutdown waits for responses to finish, and a
// stream never finishes on its own: have Shutdown call Close
// (http.Server.RegisterOnShutdown), or call it first. It does not wait for
// the handlers; Shutdown does. It is safe to call more than once and from
// several goroutines.
func (s *Server) Close() {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	if !s.events.closed {
		s.events.closed = true
		if s.events.stop != nil {
			close(s.events.stop)
		}
	}
}

// eventQuery is a parsed event stream request.
type eventQuery struct {
	after      int64 // -1: from the current end
	incidentID int64 // 0: any
	types      []string
}

func (q *eventQuery) wants(e *weft.Event) bool {
	return (q.incidentID == 0 || e.IncidentID == q.incidentID) &&
		(q.types == nil || slices.Contains(q.types, e.Type))
}

// parseEventQuery reads the resume point and the filters. Last-Event-ID
// wins over ?lastEventId: EventSource reconnects to the URL it was given,
// with the id of the last event it received in the header. Unknown
// parameters are refused, so that a misspelt filter does not silently
// stream everything.
func parseEventQuery(r *http.Request) (eventQuery, error) {
	q := eventQuery{after: -1}
	params := r.URL.Query()
	for k, vs := range params {
		switch k {
		case lastEventIDParam, incidentIDParam, typesParam:
			if len(vs) > 1 {
				return q, weft.Errorf(weft.EINVALID, "%s is given %d times; give it once", k, len(vs))
			}
		default:
			return q, weft.Errorf(weft.EINVALID, "unknown parameter %q; allowed: %s, %s, %s",
				truncateForMessage(k), lastEventIDParam, incidentIDParam, typesParam)
		}
	}
	last, from := r.Header.Get(LastEventIDHeader), LastEventIDHeader
	if last == "" {
		last, from = params.Get(lastEventIDParam), lastEventIDParam
	}
	if last != "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return q, weft.Errorf(weft.EINVALID, "%s: %q is not an event id; event ids are non-negative integers", from, truncateForMessage(last))
		}
		q.after = n
	}
	if params.Has(incidentIDParam) {
		v := params.Get(incidentIDParam)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return q, weft.Errorf(weft.EINVALID, "%s: %q is not an incident id; incident ids are positive integers", incidentIDParam, truncateForMessage(v))
		}
		q.incidentID = n
	}
	if params.Has(typesParam) {
		q.types = []string{}
		for t := range strings.SplitSeq(params.Get(typesParam), ",") {
			t = strings.TrimSpace(t)
			if !slices.Contains(weft.EventTypes, t) {
				return q, weft.Errorf(weft.EINVALID, "%s: %q is not an event type; allowed: %s", typesParam, truncateForMessage(t), strings.Join(weft.EventTypes, ", "))
			}
			q.types = append(q.types, t)
		}
	}
	return q, nil
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	es, ok := s.store.(weft.EventStore)
	if !ok {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this store does not stream events"))
		return
	}
	q, err := parseEventQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tenant := tenantOf(r)
	// The route table's guard has checked that the caller may read this
	// tenant; access checks it again while the stream is open, and holds
	// a principal limited to device groups to their incidents.
	access := &streamAccess{s: s, r: r, tenant: tenant, checked: s.now()}
	if a := authOf(r); a != nil {
		access.groups = a.access.DeviceGroups
	}
	stop, err := s.events.begin()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer s.events.done()

	ctx := r.Context()
	last, err := es.LastEventID(ctx, tenant)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A resume point past the end comes from another database (a restored
	// backup, a new data directory): its ids would be given again to other
	// events, so the client starts over at the end rather than miss them.
	if q.after < 0 || q.after > last {
		q.after = last
	}

	// The http.Server's WriteTimeout bounds a whole response, but a stream
	// lasts as long as the client stays: each write sets its own deadline
	// (eventWriter.flush). Its ReadTimeout bounds only the reading of the
	// request; net/http lifts it once the request is read.
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	st := &eventWriter{w: w, rc: rc}
	st.buf.WriteString("retry: " + strconv.Itoa(eventRetryMillis) + "\n\n")
	if st.flush() != nil {
		return
	}
	heartbeat := time.NewTicker(cmp.Or(s.events.heartbeat, defaultHeartbeat))
	defer heartbeat.Stop()
	for {
		// Take the channel before reading, so that a commit after the
		// read wakes the wait below.
		changed := es.EventsChanged()
		evs, err := es.Events(ctx, tenant, q.after, weft.DefaultEventBatch)
		if err != nil {
			if ctx.Err() == nil && weft.ErrorCode(err) != weft.EUNAVAILABLE {
				s.logger.Error("event stream", "tenant", tenant, "err", err)
			}
			// The client reconnects with the last id it received.
			return
		}
		if len(evs) > 0 {
			if err := access.recheck(ctx); err != nil {
				st.end(err)
				return
			}
		}
		for i := range evs {
			q.after = evs[i].ID
			if !q.wants(&evs[i]) {
				continue
			}
			if in, err := access.allows(ctx, &evs[i]); err != nil {
				s.logger.Error("event stream: device groups", "tenant", tenant, "incident", evs[i].IncidentID, "err", err)
				return
			} else if in {
				if err := st.event(&evs[i]); err != nil {
					s.logger.Error("event stream: encoding an event", "id", evs[i].ID, "err", err)
					return
				}
			}
		}
		if st.buf.Len() > 0 && st.flush() != nil {
			return
		}
		if len(evs) == weft.DefaultEventBatch { // more are waiting
			select {
			case <-stop:
				return
			default:
				continue
			}
		}
		select {
		case <-changed:
		case <-heartbeat.C:
			if err := access.recheck(ctx); err != nil {
				st.end(err)
				return
			}
			st.buf.WriteString(": keep-alive\n\n")
			if st.flush() != nil {
				return
			}
		case <-stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// streamAccess is what an open event stream may send: the principal's
// access in the tenant, checked by guard when the stream started and again
// by recheck, and the device groups it is limited to. It belongs to one
// stream's handler and is not safe for concurrent use.
type streamAccess struct {
	s      *Server
	r      *http.Request // the stream's request, with guard's authInfo
	tenant string
	groups []string // the device groups of the grant; none: every incident
	// checked is when the access was last checked; in remembers, since
	// then, whether an incident touches the groups.
	checked time.Time
	in      map[int64]bool
}

// recheck checks the stream's access again, unless it was checked less than
// the recheck interval ago: the credential (a token is looked up with
// TokenPrincipal, whose record of use is written at most once a minute; a
// session with SessionPrincipal, which extends its idle time, as any request
// of the session does), the principal's role in the tenant, whether it must
// change its password, and whether the tenant is disabled. It returns the
// weft.Error that ends the stream: EUNAUTHENTICATED, EFORBIDDEN, ENOTFOUND
// (a grant in the tenant taken away), or an internal error (logged). It
// also takes up the grant's current device groups.
func (sa *streamAccess) recheck(ctx context.Context) error {
	s, r := sa.s, sa.r
	now := s.now()
	if every := cmp.Or(s.events.recheck, defaultRecheck); every > 0 && now.Sub(sa.checked) < every {
		return nil
	}
	a := authOf(r)
	if a == nil { // a handler called without guard (not through the route table)
		return nil
	}
	var p *weft.Principal
	var err error
	gone := "the API token was revoked or has expired"
	if a.session != nil {
		p, _, err = s.auth.SessionPrincipal(ctx, a.secret)
		gone = "the session has ended (signed out, expired, or its user disabled); sign in again"
	} else {
		_, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		p, err = s.auth.TokenPrincipal(ctx, strings.TrimSpace(secret))
	}
	switch {
	case weft.ErrorCode(err) == weft.EUNAVAILABLE:
		return err
	case err != nil:
		return s.authError(r, err, gone)
	case a.session != nil && p.MustChangePassword:
		return weft.Errorf(weft.EFORBIDDEN, "%s must change their password first: POST /api/v1/auth/password", p.Name)
	}
	if err := weft.Authorize(p, sa.tenant, weft.RoleViewer); err != nil {
		return err
	}
	if err := s.checkEnabled(r, p, sa.tenant); err != nil {
		return err
	}
	access, _ := p.AccessIn(sa.tenant)
	sa.groups, sa.checked, sa.in = access.DeviceGroups, now, nil
	return nil
}

// allows reports whether the stream may send e: always without a
// device-group limit; with one, when e's incident touches the groups.
func (sa *streamAccess) allows(ctx context.Context, e *weft.Event) (bool, error) {
	if len(sa.groups) == 0 {
		return true, nil
	}
	if e.IncidentID == 0 {
		return false, nil
	}
	if in, ok := sa.in[e.IncidentID]; ok {
		return in, nil
	}
	err := sa.s.incidentInGroups(ctx, sa.tenant, e.IncidentID, sa.groups)
	if err != nil && weft.ErrorCode(err) != weft.ENOTFOUND {
		return false, err
	}
	if sa.in == nil {
		sa.in = map[int64]bool{}
	}
	sa.in[e.IncidentID] = err == nil
	return err == nil, nil
}

// eventWriter writes the events of one stream: a batch is built in buf and
// written and flushed at once.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf bytes.Buffer
}

// event adds an event to the batch. The data is one line: JSON escapes
// line breaks in strings.
func (st *eventWriter) event(e *weft.Event) error {
	data, err := json.Marshal(e, jsonOptions...)
	if err != nil {
		return err
	}
	st.buf.WriteString("id: ")
	st.buf.WriteString(strconv.FormatInt(e.ID, 10))
	st.buf.WriteString("\nevent: ")
	st.buf.WriteString(e.Type)
	st.buf.WriteString("\ndata: ")
	st.buf.Write(data)
	st.buf.WriteString("\n\n")
	return nil
}

// end drops the batch and sends the stream's last frame, "event: end"
// with the code and message of err (the reason the stream ends; an error
// that is not a weft.Error is shown as "internal error"). EUNAVAILABLE (the
// store closing) sends nothing: the stream ends as at Server.Close, and the
// client reconnects.
func (st *eventWriter) end(err error) {
	st.buf.Reset()
	if weft.ErrorCode(err) == weft.EUNAVAILABLE {
		return
	}
	data, merr := json.Marshal(struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	}{weft.ErrorCode(err), weft.ErrorMessage(err)}, jsonOptions...)
	if merr != nil {
		return
	}
	st.buf.WriteString("event: end\ndata: ")
	st.buf.Write(data)
	st.buf.WriteString("\n\n")
	_ = st.flush() // the stream ends either way
}

// flush sends the batch. An error means that the client is gone or stopped
// reading.
func (st *eventWriter) flush() error {
	// A ResponseWriter without deadlines (a test recorder) cannot set one,
	// and needs none.
	_ = st.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	_, err := st.w.Write(st.buf.Bytes())
	st.buf.Reset()
	if err != nil {
		return err
	}
	return st.rc.Flush()
}
