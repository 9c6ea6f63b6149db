package webhook

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// Opt configures a Client.
type Opt func(*config)

type config struct {
	timeout      time.Duration
	allowPrivate bool
	resolver     *net.Resolver
	maxConns     int
	bodyLimit    int
	userAgent    string
	now          func() time.Time
	transport    func(*http.Transport)
}

func defaults() config {
	return config{
		timeout:   20 * time.Second,
		maxConns:  16,
		bodyLimit: 256,
		userAgent: "sluice-webhooks/1",
		now:       time.Now,
	}
}

func (c *config) validate() error {
	switch {
	case c.timeout <= 0:
		return fmt.Errorf("%w: timeout %v must be positive", ErrConfig, c.timeout)
	case c.maxConns <= 0:
		return fmt.Errorf("%w: max connections %d must be positive", ErrConfig, c.maxConns)
	case c.bodyLimit < 0:
		return fmt.Errorf("%w: response body limit %d must not be negative", ErrConfig, c.bodyLimit)
	case c.now == nil:
		return fmt.Errorf("%w: no clock", ErrConfig)
	}
	return nil
}

// Timeout bounds one request, from dialling to reading the answer.
// Default 20s, within the 15 to 30 seconds the Standard Webhooks guidance
// gives.
func Timeout(d time.Duration) Opt { return func(c *config) { c.timeout = d } }

// AllowPrivateNetwork lets the client connect to loopback, private,
// link-local and other addresses it refuses by default (see the package
// doc). Default false; set it only for a destination on a network you
// trust, such as a local test sink.
func AllowPrivateNetwork(allow bool) Opt { return func(c *config) { c.allowPrivate = allow } }

// Resolver sets the name resolver. Default the system's.
func Resolver(r *net.Resolver) Opt { return func(c *config) { c.resolver = r } }

// MaxConns sets how many idle connections the client keeps to its
// endpoint; size it to the destination's concurrency. Default 16.
func MaxConns(n int) Opt { return func(c *config) { c.maxConns = n } }

// ResponseBodyLimit sets how many bytes of an answer's body Result.Body
// keeps. Default 256.
func ResponseBodyLimit(n int) Opt { return func(c *config) { c.bodyLimit = n } }

// UserAgent sets the User-Agent header. Default "sluice-webhooks/1".
func UserAgent(ua string) Opt { return func(c *config) { c.userAgent = ua } }

// Clock sets the clock that dates signatures. Default time.Now.
func Clock(now func() time.Time) Opt { return func(c *config) { c.now = now } }

// Transport lets f adjust the HTTP transport after the client has set it
// up (TLS roots for a private CA, for instance). f must not replace the
// dialer, which enforces the address policy. Default none.
func Transport(f func(*http.Transport)) Opt { return func(c *config) { c.transport = f } }
