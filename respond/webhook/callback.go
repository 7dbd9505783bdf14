package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond/wire"
)

// Callback is the body a receiver POSTs to weft's callback route to complete
// an action it answered "pending" for, signed like a dispatch (HeaderTimestamp,
// HeaderSignature) with the connector's secret.
type Callback struct {
	TenantID string `json:"tenantId"`
	// ActionID is the payload's actionId; a JSON number is accepted too.
	ActionID string `json:"actionId"`
	// Attempt is the payload's attempt: a callback for an attempt that is
	// no longer the current one changes nothing.
	Attempt int `json:"attempt"`
	// Status is "succeeded" or "failed".
	Status string `json:"status"`
	// Retryable, for a failure, asks weft to try again (with the same
	// idempotency key).
	Retryable  bool   `json:"retryable,omitempty"`
	Message    string `json:"message,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
}

// Callback statuses.
const (
	CallbackSucceeded = "succeeded"
	CallbackFailed    = "failed"
)

// maxCallbackSize bounds a callback body.
const maxCallbackSize = 64 << 10

// CallbackHandler returns the handler of weft's callback route (POST
// /api/v1/actions/callback), which completes, through c, the actions this
// connector's receiver answered pending for. It is public (no token): the
// signature is the credential. It verifies the timestamp and the signature
// over the raw body with the connector's secret (401 when they do not
// hold), decodes a Callback (400 when it is malformed), and calls
// c.Complete with the result or the failure (marked retryable when the
// receiver says so); 204 when Complete succeeds. A replay within the
// timestamp tolerance changes nothing: Complete ignores an attempt that is
// no longer dispatched. Errors are JSON, {"error":{"code","message"}}, as
// everywhere in the API; Complete's *weft.Error is shown (404 for
// ENOTFOUND, 409 for ECONFLICT...), any other error is logged and shown
// as "internal error".
func (w *Webhook) CallbackHandler(c weft.ActionCompleter) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", http.MethodPost)
			writeError(rw, http.StatusMethodNotAllowed, weft.EUNSUPPORTED, "method: the callback takes POST only")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxCallbackSize))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(rw, http.StatusRequestEntityTooLarge, weft.ETOOLARGE, fmt.Sprintf("body: larger than %d bytes", maxCallbackSize))
				return
			}
			writeError(rw, http.StatusBadRequest, weft.EINVALID, "body: could not be read")
			return
		}
		if err := Verify(w.secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, w.now()); err != nil {
			w.logger.WarnContext(r.Context(), "webhook: callback refused", "connector", w.name, "remote", r.RemoteAddr, "err", err)
			writeError(rw, http.StatusUnauthorized, weft.EUNAUTHENTICATED, "signature: "+err.Error())
			return
		}
		cb, id, err := decodeCallback(body)
		if err != nil {
			writeError(rw, http.StatusBadRequest, weft.EINVALID, err.Error())
			return
		}
		var res weft.ActionResult
		var failure error
		msg := wire.Text(cb.Message, string(w.secret), wire.MaxMessage)
		if cb.Status == CallbackSucceeded {
			res = weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, ExternalID: wire.Text(cb.ExternalID, string(w.secret), 200), Message: msg}
		} else {
			if msg == "" {
				msg = "the receiver reported a failure"
			}
			failure = errors.New("webhook " + w.name + ": " + msg)
			if cb.Retryable {
				failure = weft.RetryableError(failure)
			}
		}
		log := w.logger.With("connector", w.name, "tenant", cb.TenantID, "action", id, "attempt", cb.Attempt, "status", cb.Status)
		if err := c.Complete(r.Context(), w.name, cb.TenantID, id, cb.Attempt, res, failure); err != nil {
			code := weft.ErrorCode(err)
			status, ok := statusByCode[code]
			if !ok {
				log.ErrorContext(r.Context(), "webhook: callback: completing the action failed", "err", err)
				writeError(rw, http.StatusInternalServerError, weft.EINTERNAL, "internal error")
				return
			}
			log.InfoContext(r.Context(), "webhook: callback refused by the action service", "err", err)
			writeError(rw, status, code, weft.ErrorMessage(err))
			return
		}
		log.InfoContext(r.Context(), "webhook: callback completed the action")
		rw.WriteHeader(http.StatusNoContent)
	})
}

// statusByCode maps the codes Complete may answer to HTTP statuses, as the
// API's own table does.
var statusByCode = map[string]int{
	weft.EINVALID:      http.StatusBadRequest,
	weft.ENOTFOUND:     http.StatusNotFound,
	weft.ECONFLICT:     http.StatusConflict,
	weft.EPRECONDITION: http.StatusPreconditionFailed,
	weft.EUNAVAILABLE:  http.StatusServiceUnavailable,
	weft.EFORBIDDEN:    http.StatusForbidden,
	weft.ETOOMANY:      http.StatusTooManyRequests,
}

// decodeCallback decodes and checks a callback body, returning the action
// id; errors name the field that is wrong.
func decodeCallback(body []byte) (Callback, int64, error) {
	var raw struct {
		Callback
		ActionID json.RawMessage `json:"actionId"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return Callback{}, 0, fmt.Errorf("%s: must be a JSON %s", strings.TrimPrefix(typ.Field, "Callback."), jsonKind(typ.Type.Kind()))
		}
		return Callback{}, 0, errors.New("body: not a JSON callback object")
	}
	if dec.More() {
		return Callback{}, 0, errors.New("body: more than one JSON value")
	}
	cb := raw.Callback
	id, err := parseID(raw.ActionID)
	switch {
	case err != nil:
		return Callback{}, 0, err
	case cb.TenantID == "":
		return Callback{}, 0, errors.New("tenantId: required")
	case cb.Attempt < 1:
		return Callback{}, 0, errors.New("attempt: required, the payload's attempt (1 or more)")
	case cb.Status != CallbackSucceeded && cb.Status != CallbackFailed:
		return Callback{}, 0, fmt.Errorf("status: %q is not %q or %q", wire.Clean(cb.Status, 40), CallbackSucceeded, CallbackFailed)
	case cb.Retryable && cb.Status != CallbackFailed:
		return Callback{}, 0, errors.New("retryable: only a failed callback can be retryable")
	}
	cb.ActionID = strconv.FormatInt(id, 10)
	return cb, id, nil
}

// jsonKind names the JSON type a Go kind decodes from.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "number"
	}
	return k.String()
}

// parseID reads an action id sent as a JSON string or number.
func parseID(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, errors.New("actionId: required")
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errors.New("actionId: not a string or number")
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("actionId: %q is not an action id", wire.Clean(s, 40))
	}
	return id, nil
}

// writeError writes the API's JSON error body.
func writeError(rw http.ResponseWriter, status int, code, message string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
