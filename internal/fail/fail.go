// Package fail is the one table of the errors this module returns: every
// sentinel error of the public packages and of their internal plumbing is
// made here, with the reason code the metrics package records for it, the
// HTTP status middleware.StatusCode gives it and the words of the default
// error page. The public packages export the families users match with
// errors.Is (client.ErrInvalidIDToken, middleware.ErrBadRequest, …); the
// children stay here, each reachable through its family and still distinct.
//
// A package-level error made anywhere else fails a test
// (internal/testkit/tidy), so that the three readers of the table cannot
// drift apart again.
package fail

import "errors"

// Error is a sentinel: its text, and the family it belongs to.
type Error struct {
	msg    string
	parent *Error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the family, so that errors.Is(child, family) holds.
func (e *Error) Unwrap() error {
	if e.parent == nil {
		return nil
	}
	return e.parent
}

// Within reports whether target is e or one of its families: what a typed
// error's Is method answers for the sentinel it stands for.
func (e *Error) Within(target error) bool {
	for p := e; p != nil; p = p.parent {
		if error(p) == target {
			return true
		}
	}
	return false
}

// family makes a sentinel that belongs to no other.
func family(msg string) *Error { return &Error{msg: msg} }

// child makes a sentinel of parent's family with a text of its own.
func child(parent *Error, msg string) *Error { return &Error{msg: msg, parent: parent} }

// sub makes a sentinel of parent's family whose text continues parent's
// ("client: invalid id_token: nonce mismatch").
func sub(parent *Error, detail string) *Error {
	return &Error{msg: parent.msg + ": " + detail, parent: parent}
}

// Row classifies the errors that match Err.
type Row struct {
	Err *Error
	// Code is the metrics package's confidant.reason; "" for an error of
	// the plumbing that never leaves the SDK without a classified one
	// around it.
	Code string
	// Status is the HTTP status of a request that failed with it; 0 when
	// a typed error decides (middleware.ProviderError's code).
	Status int
	// Title and Message are the default error page's words; "" for the
	// page's defaults.
	Title, Message string
}

// Find returns the first row of Table that err matches and that has a
// code, or nil.
func Find(err error) *Row {
	if err == nil {
		return nil
	}
	for i := range Table {
		if r := &Table[i]; r.Code != "" && errors.Is(err, r.Err) {
			return r
		}
	}
	return nil
}
