package deploy

import (
	"errors"
	"fmt"
)

// Sentinel errors. User-facing errors wrap them in an *Error with a message written on purpose.
var (
	ErrInvalid  = errors.New("invalid")
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrDenied   = errors.New("permission denied")
	// ErrLeaseLost: another process took over the env-repo writer lease (the leadership).
	ErrLeaseLost = errors.New("writer lease lost")
)

// Error is an error whose text is safe and meant to be shown to the user. Kind is one of the
// sentinel errors above, so callers can map it (for example to an HTTP status) with errors.Is.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// Invalidf returns a user error of kind ErrInvalid.
func Invalidf(format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a user error of kind ErrNotFound.
func NotFoundf(format string, args ...any) error {
	return &Error{Kind: ErrNotFound, Msg: fmt.Sprintf(format, args...)}
}

// Conflictf returns a user error of kind ErrConflict.
func Conflictf(format string, args ...any) error {
	return &Error{Kind: ErrConflict, Msg: fmt.Sprintf(format, args...)}
}

// Deniedf returns a user error of kind ErrDenied.
func Deniedf(format string, args ...any) error {
	return &Error{Kind: ErrDenied, Msg: fmt.Sprintf(format, args...)}
}

// UserMessage returns the text of err if it is a user error, and false otherwise.
func UserMessage(err error) (string, bool) {
	var ue *Error
	if errors.As(err, &ue) {
		return ue.Msg, true
	}
	return "", false
}
