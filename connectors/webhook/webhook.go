package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/standardwebhooks"
)

// Verdict is what an answer means for the delivery.
type Verdict uint8

// The verdicts.
const (
	// Delivered: the endpoint took the message (2xx).
	Delivered Verdict = iota + 1
	// Retry: the message may get through later (network error, timeout,
	// 3xx, 408, 425, 429, 5xx).
	Retry
	// Reject: the endpoint refused the message for good (a 4xx other than
	// 408, 410, 425 and 429), or it could not be sent at all (a forbidden
	// address, a bad message id).
	Reject
	// Gone: the endpoint answered 410 Gone: it no longer exists.
	Gone
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Reject:
		return "reject"
	case Gone:
		return "gone"
	}
	return "none"
}

// Classify returns the verdict of an HTTP status.
func Classify(status int) Verdict {
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == http.StatusGone:
		return Gone
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return Retry
	case status >= 400 && status < 500:
		return Reject
	}
	return Retry // 1xx that escaped the client, 3xx, 5xx and beyond
}

// Message is one webhook to send.
type Message struct {
	// ID is the webhook-id and idempotency key: the event id, the same on
	// every attempt. It must be a valid Standard Webhooks message id (see
	// MessageID).
	ID string
	// Body is the JSON body, sent and signed exactly as given.
	Body []byte
	// Header holds extra headers. Default none.
	Header http.Header
}

// Result is what became of one attempt.
type Result struct {
	// Verdict says what the answer means.
	Verdict Verdict
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// RetryAfter is the wait the endpoint asked for in Retry-After (in
	// seconds or as an HTTP date), 0 when it asked for none.
	RetryAfter time.Duration
	// Body is the start of the answer's body, at most ResponseBodyLimit
	// bytes, with control characters replaced by spaces.
	Body string
	// Latency is the time from sending the request to reading the answer.
	Latency time.Duration
	// Err is why no usable answer came: a network error, a timeout, a
	// forbidden address. Nil when an answer came.
	Err error
}

// Client sends webhooks to one endpoint. It is safe for concurrent use.
type Client struct {
	u      *url.URL // never changed after New
	host   string
	signer *standardwebhooks.Signer
	// transport sends each request once, as it is: a webhook follows no
	// redirect and keeps no cookie, so what http.Client adds (a copy of
	// the headers for redirects, a timer of its own) is work for nothing;
	// Send bounds each exchange with a context deadline instead.
	transport *http.Transport
	cfg       config
}

// New returns a client for the endpoint rawURL (http or https) that signs
// with secrets: whsec_ symmetric secrets (v1) and whsk_ Ed25519 secret
// keys (v1a), one signature per secret. See the Opt functions for the
// options and their defaults.
func New(rawURL string, secrets []string, opts ...Opt) (*Client, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: expected an http or https URL", ErrConfig)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: the URL must not hold credentials", ErrConfig)
	}
	u.Host = strings.TrimSuffix(u.Host, ":") // an empty port, as http.NewRequest drops it
	signer, err := standardwebhooks.NewSigner(secrets)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	dialer := guardedDialer(cfg.allowPrivate, cfg.resolver)
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would be dialled instead of the checked address
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          cfg.maxConns,
		MaxIdleConnsPerHost:   cfg.maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: cfg.timeout,
	}
	if cfg.transport != nil {
		cfg.transport(tr)
	}
	return &Client{u: u, host: u.Host, signer: signer, cfg: cfg, transport: tr}, nil
}

// Host returns the endpoint's host and port, which is safe to show (the
// URL's path and query may hold a token).
func (c *Client) Host() string { return c.host }

// Close drops the client's idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// Send signs m and posts it once. It never returns without a Result; the
// Result's Verdict says what to do next.
func (c *Client) Send(ctx context.Context, m Message) Result {
	if !ValidMessageID(m.ID) {
		return Result{Verdict: Reject, Err: fmt.Errorf("%w: %q", ErrBadMessageID, m.ID)}
	}
	signed, err := c.signer.Sign(m.ID, c.cfg.now(), m.Body)
	if err != nil {
		return Result{Verdict: Reject, Err: fmt.Errorf("webhook: sign: %w", err)}
	}
	// The timeout bounds the whole exchange: connecting, sending, and
	// reading the answer's start below.
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()
	// The endpoint's URL was parsed once, in New; each request gets its
	// own copy of it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "", bytes.NewReader(m.Body))
	if err != nil {
		return Result{Verdict: Reject, Err: fmt.Errorf("webhook: request: %w", err)}
	}
	u := *c.u
	req.URL, req.Host = &u, u.Host
	req.Header = make(http.Header, len(m.Header)+6)
	for k, vs := range m.Header {
		req.Header[k] = vs
	}
	// Set as Header.Set would, in one allocation. idempotency-key goes
	// under its lower-case name, which net/http does not look for: with
	// "Idempotency-Key" it takes a POST for replayable and sends it again
	// by itself when a reused connection is reset after the request went
	// out, an attempt nobody would see or record. Names are
	// case-insensitive on the wire.
	vs := []string{"application/json", c.cfg.userAgent, m.ID}
	req.Header["Content-Type"] = vs[0:1:1]
	req.Header["User-Agent"] = vs[1:2:2]
	req.Header["idempotency-key"] = vs[2:3:3]
	signed.Set(req.Header)

	began := time.Now()
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		res := Result{Verdict: Retry, Latency: time.Since(began), Err: describe(err)}
		if errors.Is(err, ErrForbiddenAddress) {
			res.Verdict = Reject
		}
		return res
	}
	defer resp.Body.Close()
	head := make([]byte, c.cfg.bodyLimit)
	n, _ := io.ReadFull(resp.Body, head)
	// Read what is left, within reason, so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return Result{
		Verdict:    Classify(resp.StatusCode),
		Status:     resp.StatusCode,
		RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.now()),
		Body:       printable(head[:n]),
		Latency:    time.Since(began),
	}
}

// describe turns a transport error into one that names what failed
// without the URL, whose path or query may hold a token.
func describe(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			return oe.Err
		}
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("webhook: timeout: %w", err)
	}
	return fmt.Errorf("webhook: %w", err)
}

// ParseRetryAfter reads a Retry-After value: whole seconds (RFC 9110's
// delay-seconds, digits only, capped at a year however many there are),
// or an HTTP date, taken relative to now. It returns 0 for an empty,
// malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	const maxSeconds = int64(365 * 24 * time.Hour / time.Second)
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if strings.Trim(v, "0123456789") == "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s > maxSeconds { // only digits: too large for int64
			s = maxSeconds
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// printable replaces control characters and invalid UTF-8, so an answer's
// body fits in a header and a log field.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return ' '
		}
		return r
	}, string(bytes.ToValidUTF8(b, []byte(" "))))
}

// ValidMessageID reports whether id is a message id the Standard Webhooks
// specification allows: 1 to 256 bytes of printable ASCII without spaces
// or full stops.
func ValidMessageID(id string) bool {
	if id == "" || len(id) > standardwebhooks.MaxIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '.' || c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// MessageID returns the message id of an event: the event id itself when
// it is a valid message id, otherwise "evt_" and the first 32 hex digits
// of its SHA-256. The derived id is the same on every attempt, so it is
// as good an idempotency key as the event id.
func MessageID(eventID string) string {
	if ValidMessageID(eventID) {
		return eventID
	}
	sum := sha256.Sum256([]byte(eventID))
	return "evt_" + hex.EncodeToString(sum[:16])
}
