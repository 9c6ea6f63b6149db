package signature

import (
	"fmt"
	"time"
)

// Defaults of the options.
const (
	// DefaultTolerance is how far a signed timestamp may be from now.
	DefaultTolerance = 5 * time.Minute
	// MaxTolerance is the largest tolerance Tolerance accepts.
	MaxTolerance = 24 * time.Hour
	// DefaultMaxBody is the longest body a verifier accepts: 1 MiB, the
	// same as an integration's default request limit.
	DefaultMaxBody int64 = 1 << 20
)

// Opt configures a verifier; every scheme's constructor takes them.
type Opt func(*Options)

// Options are a verifier's resolved settings. Schemes get them from
// NewOptions; callers configure them with Opt values.
type Options struct {
	// Tolerance is how far a signed timestamp may be from now.
	Tolerance time.Duration
	// MaxBody is the longest body accepted, in bytes.
	MaxBody int64
}

// Tolerance sets how far a signed timestamp may be from now, in the past
// or the future, for schemes whose signature covers a timestamp. Default
// 5 minutes; it must be more than 0 and at most 24 hours. Schemes without
// a signed timestamp ignore it.
func Tolerance(d time.Duration) Opt { return func(o *Options) { o.Tolerance = d } }

// MaxBody sets the longest body accepted, in bytes; a longer body is
// refused with ErrBodyTooLarge before any signature is computed. Default
// 1 MiB; it must be more than 0.
func MaxBody(n int64) Opt { return func(o *Options) { o.MaxBody = n } }

// NewOptions applies opts over the defaults and validates the result.
func NewOptions(opts ...Opt) (Options, error) {
	o := Options{Tolerance: DefaultTolerance, MaxBody: DefaultMaxBody}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.Tolerance <= 0 || o.Tolerance > MaxTolerance {
		return Options{}, fmt.Errorf("%w: tolerance must be more than 0 and at most %s; got %s", ErrBadConfig, MaxTolerance, o.Tolerance)
	}
	if o.MaxBody <= 0 {
		return Options{}, fmt.Errorf("%w: the body limit must be more than 0 bytes; got %d", ErrBadConfig, o.MaxBody)
	}
	return o, nil
}
