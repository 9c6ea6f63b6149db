package dedupe

import "errors"

// Errors of the dedupe package.
var (
	// ErrUnavailable wraps a Redis failure. The middleware returns it as
	// its batch's error, unclassified, so the runner puts the batch back
	// and handles it again after a backoff: nothing is dropped while
	// Redis is down.
	ErrUnavailable = errors.New("dedupe: redis unavailable")
	// ErrBusy fails, as retryable, a record whose event another record is
	// being processed for right now.
	ErrBusy = errors.New("dedupe: event is being processed by another record")
	// ErrNoEventID fails, as permanent, a record without an event-id
	// header: it cannot be deduplicated.
	ErrNoEventID = errors.New("dedupe: record has no event-id header")
	// ErrConfig is returned by New for an invalid option.
	ErrConfig = errors.New("dedupe: invalid configuration")
)
