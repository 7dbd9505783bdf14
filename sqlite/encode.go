package sqlite

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// encodedAlert is an alert turned into column values, ready to be bound.
// Building it is the CPU-heavy part of storing an alert (validation, JSON,
// hashing, entity keys) and needs no database, so StoreAlerts does it on
// other goroutines while the writer writes (see encoding).
type encodedAlert struct {
	a        *weft.Alert
	severity int64
	hash     []byte // contentHash, 16 bytes
	idHash   int64

	// JSON columns; nil for an empty list, which is stored as NULL.
	evidence, mitre, systemTags, reasons, comments []byte

	// cols are the values of alertColumns, ready to be bound.
	cols []any

	entities []entityRef

	// The aggregates of the incident the alert forms when it is new: its
	// impacted entities and single-item category and source lists (JSON).
	impacted, categories, serviceSources, detectionSources []byte
}

// entityRef is one distinct entity of an alert, in evidence order: the
// weft.EntityRef of Alert.Entities plus the roles the entity plays in the
// alert's evidence (see roleBits).
type entityRef struct {
	weft.EntityRef
	roles int64
}

// roleBits returns the set of roles as a bit set: bit i is
// weft.EvidenceRoles[i]. A role that is not one of those (decoders refuse
// them) is left out; the evidence keeps it.
func roleBits(roles []weft.EvidenceRole) int64 {
	var bits int64
	for _, r := range roles {
		for i, v := range weft.EvidenceRoles {
			if v == r {
				bits |= 1 << i
				break
			}
		}
	}
	return bits
}

// rolesOf is the inverse of roleBits.
func rolesOf(bits int64) []weft.EvidenceRole {
	var roles []weft.EvidenceRole
	for i, v := range weft.EvidenceRoles {
		if bits&(1<<i) != 0 {
			roles = append(roles, v)
		}
	}
	return roles
}

// idHash is the 64-bit FNV-1a hash of an alert id, which alerts are indexed
// by (see migration/0001_init.sql).
func idHash(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int64(h.Sum64())
}

// jsonOpts are the options of every JSON column. Strings were made valid
// UTF-8 by Alert.Normalize; AllowInvalidUTF8 keeps a stray invalid byte in a
// raw properties object from failing a whole batch.
var jsonOpts = jsonv2.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// encoder holds the buffers one goroutine reuses across alerts.
type encoder struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

var encoderPool = sync.Pool{New: func() any { return &encoder{h: sha256.New(), buf: make([]byte, 0, 4096)} }}

// encodeChunk is how many alerts an encoder goroutine encodes at a time.
const encodeChunk = 32

// encoding encodes a batch in the background while the writer writes the
// alerts already encoded: on two cores, encoding then costs no wall time as
// long as it keeps ahead of the writer. Small batches are encoded up front.
type encoding struct {
	alerts []*weft.Alert
	out    []encodedAlert
	done   []chan struct{} // closed when the chunk is encoded
	errs   []error         // per chunk
	stop   atomic.Bool     // set when the writer gives up
	wg     sync.WaitGroup
}

// encodeAlerts starts encoding alerts. The caller must call wait when done
// with it.
func encodeAlerts(alerts []*weft.Alert) *encoding {
	n := (len(alerts) + encodeChunk - 1) / encodeChunk
	en := &encoding{alerts: alerts, out: make([]encodedAlert, len(alerts)),
		done: make([]chan struct{}, n), errs: make([]error, n)}
	for c := range en.done {
		en.done[c] = make(chan struct{})
	}
	// One goroutine fewer than there are processors: the writer needs one.
	workers := min(max(runtime.GOMAXPROCS(0)-1, 1), n)
	if len(alerts) < 2*encodeChunk {
		workers = 0
		en.encodeChunks(0, 1)
	}
	for w := range workers {
		en.wg.Go(func() { en.encodeChunks(w, workers) })
	}
	return en
}

// encodeChunks encodes chunks first, first+step, … in order.
func (en *encoding) encodeChunks(first, step int) {
	enc := encoderPool.Get().(*encoder)
	defer encoderPool.Put(enc)
	for c := first; c < len(en.done); c += step {
		if en.stop.Load() {
			en.errs[c] = errSkipped
		} else {
			for i := c * encodeChunk; i < min((c+1)*encodeChunk, len(en.alerts)); i++ {
				if err := enc.encode(i, en.alerts[i], &en.out[i]); err != nil {
					en.errs[c] = err
					en.stop.Store(true)
					break
				}
			}
		}
		close(en.done[c])
	}
}

// errSkipped marks a chunk left unencoded because another failed.
var errSkipped = errors.New("sqlite: encoding stopped")

// get waits for alert i to be encoded and returns it, or the error of the
// first alert of its chunk that failed. If the chunk was skipped because a
// later chunk failed first (with several encoders), get returns that
// failure.
func (en *encoding) get(i int) (*encodedAlert, error) {
	c := i / encodeChunk
	<-en.done[c]
	switch err := en.errs[c]; err {
	case nil:
		return &en.out[i], nil
	case errSkipped:
		en.wg.Wait() // every chunk is done, and its error visible
		for _, err := range en.errs {
			if err != nil && err != errSkipped {
				return nil, err
			}
		}
		return nil, err
	default:
		return nil, err
	}
}

// wait stops the encoders and waits for them to exit.
func (en *encoding) wait() {
	en.stop.Store(true)
	en.wg.Wait()
}

// encode checks that a is normalized and fills e.
func (enc *encoder) encode(i int, a *weft.Alert, e *encodedAlert) error {
	if err := checkNormalized(a); err != nil {
		return weft.Errorf(weft.EINVALID, "alert %d: %s", i, err)
	}
	return enc.encodeContent(i, a, e)
}

// encodeContent fills e from a, which has been checked.
func (enc *encoder) encodeContent(i int, a *weft.Alert, e *encodedAlert) error {
	e.a = a
	e.severity = int64(a.Severity.Rank())
	var err error
	if len(a.Evidence) > 0 {
		if e.evidence, err = jsonv2.Marshal(a.Evidence, jsonOpts); err != nil {
			return fmt.Errorf("sqlite: alert %d: encode evidence: %w", i, err)
		}
	}
	if e.mitre, err = marshalList(a.MitreTechniques); err != nil {
		return fmt.Errorf("sqlite: alert %d: encode mitreTechniques: %w", i, err)
	}
	if e.systemTags, err = marshalList(a.SystemTags); err != nil {
		return fmt.Errorf("sqlite: alert %d: encode systemTags: %w", i, err)
	}
	if e.reasons, err = marshalList(a.CorrelationReasons); err != nil {
		return fmt.Errorf("sqlite: alert %d: encode correlationReasons: %w", i, err)
	}
	if len(a.Comments) > 0 {
		if e.comments, err = jsonv2.Marshal(a.Comments, jsonOpts); err != nil {
			return fmt.Errorf("sqlite: alert %d: encode comments: %w", i, err)
		}
	}
	e.hash = enc.contentHash(e)
	e.entities = alertEntities(a)
	if len(e.entities) > 0 {
		refs := make([]weft.EntityRef, len(e.entities))
		for j := range e.entities {
			refs[j] = e.entities[j].EntityRef
		}
		if e.impacted, err = jsonv2.Marshal(refs, jsonOpts); err != nil {
			return fmt.Errorf("sqlite: alert %d: encode entities: %w", i, err)
		}
	}
	e.categories = singleton(a.Category)
	e.serviceSources = singleton(a.ServiceSource)
	e.detectionSources = singleton(a.DetectionSource)
	e.idHash = idHash(a.ID)
	e.cols = alertArgs(make([]any, 0, alertColumnCount), e)
	return nil
}

// singleton returns the JSON list holding s, or nil when s is empty.
func singleton(s string) []byte {
	if s == "" {
		return nil
	}
	b := append(make([]byte, 0, len(s)+4), '[')
	b, _ = jsontext.AppendQuote(b, s) // invalid UTF-8 is replaced, not refused
	return append(b, ']')
}

// checkNormalized refuses alerts that did not go through Alert.Normalize: the
// store relies on their identity, tenant and times.
func checkNormalized(a *weft.Alert) error {
	switch {
	case a == nil:
		return fmt.Errorf("is nil")
	case a.ID == "" || a.ID != weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID):
		return fmt.Errorf("id %q is not the id of tenant %q, source %q, providerAlertId %q; call Alert.Normalize before storing",
			truncate(a.ID, 64), truncate(a.TenantID, 64), truncate(a.Source, 64), truncate(a.ProviderAlertID, 64))
	case validTenantID(a.TenantID) != nil:
		return validTenantID(a.TenantID)
	case a.Severity == "" || (a.Severity.Rank() == 0 && a.Severity != weft.SeverityUnknown):
		return fmt.Errorf("severity %q is not one of %v", truncate(string(a.Severity), 64), weft.Severities)
	case a.FirstActivityDateTime.IsZero() || a.LastActivityDateTime.IsZero() ||
		a.CreatedDateTime.IsZero() || a.LastUpdateDateTime.IsZero():
		return fmt.Errorf("has no activity, created or last update time; call Alert.Normalize before storing")
	}
	return nil
}

func marshalList(l []string) ([]byte, error) {
	if len(l) == 0 {
		return nil, nil
	}
	return jsonv2.Marshal(l, jsonOpts)
}

// contentHashVersion is hashed first; change it when the hashed form changes,
// so that old and new hashes of the same content can never be confused (a
// repeat would then count as an update once, which is harmless).
const contentHashVersion = 1

// contentHash identifies an alert's content: everything the source said
// about it, that is every field except those weft sets at ingest
// (CreatedDateTime, LastUpdateDateTime, IncidentID) and the raw original,
// which is the source's serialization of the same content. Two copies of an
// alert with the same hash are duplicates.
//
// The hash is SHA-256, cut to 16 bytes, over the fields in a fixed order,
// each length-prefixed so that no two different alerts encode alike; list and
// evidence fields enter as the JSON that is stored. TestContentHashCoversAllFields
// fails when a field is added to weft.Alert and not here.
func (enc *encoder) contentHash(e *encodedAlert) []byte {
	a := e.a
	b := enc.buf[:0]
	b = append(b, contentHashVersion)
	for _, s := range [...]string{
		a.TenantID, a.Source, a.ProviderAlertID, a.ID,
		a.Title, a.Description, a.RecommendedActions, a.Category, string(a.Severity), string(a.Status),
		string(a.Classification), string(a.Determination), a.AssignedTo,
		a.ServiceSource, a.DetectionSource, a.ProductName, a.DetectorID, a.AlertPolicyID,
		a.ActorDisplayName, a.ThreatDisplayName, a.ThreatFamilyName, a.AlertWebURL, a.Correlation,
	} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, t := range [...]*time.Time{&a.FirstActivityDateTime, &a.LastActivityDateTime,
		a.ResolvedDateTime, a.ProviderCreatedDateTime, a.ProviderLastUpdateDateTime} {
		if t == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = binary.AppendVarint(b, t.Unix())
			b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
		}
	}
	for _, j := range [...][]byte{e.mitre, e.systemTags, e.reasons, e.comments, a.AdditionalData, e.evidence} {
		b = binary.AppendUvarint(b, uint64(len(j)))
		b = append(b, j...)
	}
	enc.buf = b
	enc.h.Reset()
	enc.h.Write(b)
	sum := enc.h.Sum(enc.sum[:0])
	return bytes.Clone(sum[:16])
}

// alertEntities returns the alert's distinct entities exactly as
// Alert.Entities does (same keys, names and order), with the union of the
// roles each plays across the alert's evidence. It computes each evidence
// key once, where Alert.Entities plus a second pass for roles would compute
// them twice.
func alertEntities(a *weft.Alert) []entityRef {
	if len(a.Evidence) == 0 {
		return nil
	}
	refs := make([]entityRef, 0, len(a.Evidence))
	var index map[string]int // for long evidence lists; a scan is faster for a few
	if len(a.Evidence) > 16 {
		index = make(map[string]int, len(a.Evidence))
	}
	for i := range a.Evidence {
		ev := &a.Evidence[i]
		k := ev.Key()
		if k == "" {
			continue
		}
		j := 0
		if index != nil {
			var ok bool
			if j, ok = index[k]; !ok {
				j = len(refs)
				index[k] = j
			}
		} else {
			for j < len(refs) && refs[j].Key != k {
				j++
			}
		}
		if j == len(refs) {
			refs = append(refs, entityRef{EntityRef: weft.EntityRef{Type: ev.EntityType, Key: k, Name: ev.Name()}})
		}
		refs[j].roles |= roleBits(ev.Roles)
	}
	return refs
}

// truncate shortens s for an error message, so that an attacker-sized value
// never floods a log.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
