package deliver

import "errors"

// Errors of the deliver package. The errors records fail with wrap one of
// them, so a dead letter's error-message starts with what happened.
var (
	// ErrConfig is returned by New for an invalid destination or option.
	ErrConfig = errors.New("deliver: invalid configuration")
	// ErrUnknownDestination is returned for a destination id the stage
	// does not deliver to.
	ErrUnknownDestination = errors.New("deliver: unknown destination")
	// ErrFailed is wrapped by the error of an attempt that may succeed
	// later: a network error, a timeout, 3xx, 408, 425, 429 or 5xx.
	ErrFailed = errors.New("deliver: delivery failed")
	// ErrRejected is wrapped by the error of an event the destination
	// refused for good (a 4xx other than 408, 410, 425, 429), or that
	// could not be sent to it at all (a forbidden address).
	ErrRejected = errors.New("deliver: destination refused the event")
	// ErrGone is wrapped by the error of an event whose destination
	// answered 410 Gone; the destination is disabled.
	ErrGone = errors.New("deliver: destination is gone (410)")
	// ErrDisabled is wrapped by the error of an event whose destination is
	// disabled; the event is dead-lettered.
	ErrDisabled = errors.New("deliver: destination is disabled")
	// ErrExpired is wrapped by the error of an event older than the
	// destination's retry max age, given up on.
	ErrExpired = errors.New("deliver: event older than the retry max age")
	// ErrCircuitOpen is wrapped by the error of an event held back while
	// the destination's circuit breaker is open.
	ErrCircuitOpen = errors.New("deliver: circuit breaker open")
	// ErrRateLimited is wrapped by the error of an event held back by a
	// rate limit.
	ErrRateLimited = errors.New("deliver: rate limited")
	// ErrHeldBack is wrapped by the error of an event of an ordered
	// destination held back behind an earlier event of its key.
	ErrHeldBack = errors.New("deliver: held behind an earlier event of its key")
	// ErrBudget is wrapped by the error of an event deferred because its
	// batch ran out of time (BatchBudget).
	ErrBudget = errors.New("deliver: batch budget spent")
	// ErrNoEventID is the error of a record without an event-id header:
	// it has no idempotency key, so it is poison.
	ErrNoEventID = errors.New("deliver: record has no event-id header")
	// ErrBody is wrapped by the error of an event whose webhook body
	// could not be built.
	ErrBody = errors.New("deliver: cannot build the body")
)
