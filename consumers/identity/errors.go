package identity

import "errors"

// Errors of the identity package.
var (
	// ErrUnavailable wraps a failure of Redis or Kafka. The transform
	// stage returns it as its batch's error, unclassified, so the batch is
	// handled again after a backoff: no event goes without an id.
	ErrUnavailable = errors.New("identity: unavailable")
	// ErrNotLoaded is returned by Resolve when Redis lost the map (it was
	// flushed) and rebuilding it from the identity topic did not stick.
	ErrNotLoaded = errors.New("identity: the map is not loaded in Redis")
	// ErrRecord is wrapped by the error of an identity topic record that
	// cannot be read.
	ErrRecord = errors.New("identity: bad identity record")
	// ErrSubject is returned by Resolve for a subject it cannot key: no
	// tenant, object, system or external id, or a '|' where none may be.
	ErrSubject = errors.New("identity: bad subject")
	// ErrConfig is returned by New for an invalid option.
	ErrConfig = errors.New("identity: invalid configuration")
)
