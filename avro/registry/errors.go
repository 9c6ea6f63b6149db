package registry

import "errors"

var (
	// ErrNilClient is returned by New without a Kafka client.
	ErrNilClient = errors.New("registry: a Kafka client is required")
	// ErrClientRole is returned by New when the Kafka client consumes or is
	// transactional: the registry builds its own reader and writer from
	// the client's connection settings and needs a plain client.
	ErrClientRole = errors.New("registry: the Kafka client must be a plain client (no consumer options, no transactional id)")
	// ErrBadOption is returned by New when an option has an invalid value.
	ErrBadOption = errors.New("registry: invalid option")
	// ErrRunning is returned by Run when the Server already runs or ran.
	ErrRunning = errors.New("registry: Run may be called only once")
	// ErrStopped is returned when the Server is no longer running.
	ErrStopped = errors.New("registry: stopped")
	// ErrTopicLayout is returned by Run when the storage topic does not
	// have exactly one partition.
	ErrTopicLayout = errors.New("registry: the storage topic must have exactly one partition")
)
