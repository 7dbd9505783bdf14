package weft

import (
	"errors"
	"fmt"
)

// Error codes of the one user-facing error type. The HTTP adapter maps each to
// a status code in one table; every other error is an internal error.
const (
	EINVALID      = "invalid"             // the request or a record is malformed or breaks a rule
	ENOTFOUND     = "not_found"           // the thing asked for does not exist in this tenant
	ECONFLICT     = "conflict"            // the write conflicts with the current state
	ETOOLARGE     = "too_large"           // a size, depth or count limit was passed
	EUNAVAILABLE  = "unavailable"         // the service is shutting down or not ready
	EINTERNAL     = "internal"            // anything else; details are logged, never shown
	EUNSUPPORTED  = "unsupported"         // a valid request for something weft does not do
	EPRECONDITION = "precondition_failed" // a version check failed
	// EUNAUTHENTICATED: no credentials, or credentials that prove nothing
	// (unknown, expired, revoked, a wrong password).
	EUNAUTHENTICATED = "unauthenticated"
	// EFORBIDDEN: the principal is known but its role does not allow it.
	EFORBIDDEN = "forbidden"
	// ETOOMANY: a rate or attempt limit was passed; retry later.
	ETOOMANY = "too_many_requests"
)

// Error is the one error type whose message may be shown to a user. Anything
// else that reaches an edge (HTTP, CLI) becomes "internal error", is logged and
// is never shown, so that no driver detail or secret leaks out.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("weft error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the *Error in err's chain, or
// "internal error" for any other non-nil error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
