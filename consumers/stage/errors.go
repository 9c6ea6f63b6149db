package stage

import (
	"errors"
	"fmt"
)

// Errors of the stage package.
var (
	// ErrConfig is returned by New for an invalid configuration.
	ErrConfig = errors.New("stage: invalid configuration")
	// ErrPanic is wrapped by the error of a record whose handler
	// panicked; the record is poison.
	ErrPanic = errors.New("stage: handler panicked")
	// ErrNoTenant is the error of a record without a tenant-id header; the
	// record is poison.
	ErrNoTenant = errors.New("stage: record has no tenant-id header")
	// ErrNoTopic is the error of a record whose handler emitted an output
	// without a topic; the record is permanently failed.
	ErrNoTopic = errors.New("stage: output record has no topic")
	// ErrTransaction is returned by Run when a transaction could not be
	// ended and the Kafka client had to be replaced.
	ErrTransaction = errors.New("stage: transaction failed")
)

// Class says what the runner does with a record that failed.
type Class string

// The classes of failure.
const (
	// ClassRetryable failures are tried again later, through the stage's
	// delayed retry topics, and dead-lettered once the attempts run out.
	// An error without a class is retryable.
	ClassRetryable Class = "retryable"
	// ClassPermanent failures cannot succeed on another attempt (a mapping
	// that does not apply, a destination that refuses the event for good):
	// the record is dead-lettered at once.
	ClassPermanent Class = "permanent"
	// ClassPoison failures are records that cannot even be read (they do
	// not decode, they break the record contract, or the handler panicked
	// on them): the record is dead-lettered at once.
	ClassPoison Class = "poison"
)

// Error is an error with a class. Make one with Retryable, Permanent or
// Poison; find one in a chain with errors.As.
type Error struct {
	// Class of the failure.
	Class Class
	// Err is the failure.
	Err error
}

// Error returns the message of the wrapped error.
func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Class)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable marks err as worth another attempt later. It returns nil for a
// nil err.
func Retryable(err error) error { return classify(ClassRetryable, err) }

// Permanent marks err as one that another attempt cannot fix. It returns
// nil for a nil err.
func Permanent(err error) error { return classify(ClassPermanent, err) }

// Poison marks err as a record that cannot be read at all. It returns nil
// for a nil err.
func Poison(err error) error { return classify(ClassPoison, err) }

func classify(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Err: err}
}

// ClassOf returns the class of the first *Error in err's chain, or
// ClassRetryable when there is none.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassRetryable
}

// classified reports whether err carries a class.
func classified(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}
