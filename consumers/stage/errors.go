package stage

import (
	"errors"
	"fmt"
	"time"
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

// delayed is a retryable error that asks for its own delay.
type delayed struct {
	err   error
	after time.Duration
	// deferred: the record was not tried, so the attempt does not count.
	deferred bool
}

func (d *delayed) Error() string { return d.err.Error() }
func (d *delayed) Unwrap() error { return d.err }

// RetryAfter marks err as retryable, due no sooner than after d, instead
// of after the delay of the retry topic its attempt number picks: the
// runner sends the record to the retry topic with the shortest delay that
// is at least d, or the longest when none is (retry topics keep their
// fixed delays, so their partitions stay in due order). A stage uses it to
// honour a destination's Retry-After or to spread retries with jitter. The
// attempt counts towards MaxAttempts as any other. It returns nil for a
// nil err.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &delayed{err: Retryable(err), after: d}
}

// Defer sends a record that was not tried at all (a rate limit or an open
// circuit breaker held it back) to a retry topic chosen as RetryAfter
// chooses it, without using up an attempt: its attempts header keeps its
// value, and MaxAttempts never dead-letters it. A stage that defers must
// bound how long a record may be deferred itself (by the event's age, for
// instance). It returns nil for a nil err.
func Defer(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &delayed{err: Retryable(err), after: d, deferred: true}
}

// Delay returns the delay asked for with RetryAfter or Defer in err's
// chain, and whether the record was deferred without an attempt.
func Delay(err error) (d time.Duration, deferred, ok bool) {
	var de *delayed
	if !errors.As(err, &de) {
		return 0, false, false
	}
	return de.after, de.deferred, true
}
