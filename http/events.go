package http

import (
	"bytes"
	"cmp"
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
	// MaxEventStreams. Tests lower them.
	heartbeat time.Duration
	max       int
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
	// tenant; a principal limited to device groups is refused there (403),
	// because an event names incidents without their devices. Filtering
	// the stream to the groups is a step still to take.
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
		for i := range evs {
			q.after = evs[i].ID
			if q.wants(&evs[i]) {
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
