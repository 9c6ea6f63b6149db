// Package sink is a webhook receiver for development and tests: it
// verifies each request's signature with the destination's secrets,
// remembers what came, answers as a script tells it (a 2xx, a 5xx, a 429
// with Retry-After, a slow answer, a reset connection, a redirect) and can
// print a line per request.
//
// `sluice sink` serves one for a destination of the catalog, and `sluice
// dev` starts one for the demo destination. Tests of the delivery stage
// use it to inject failures and to check that every event arrived once,
// signed.
package sink

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
)

// Request is one request the sink received.
type Request struct {
	// N counts the requests that carried this message id, from 1.
	N int
	// ID is the webhook-id, the message id.
	ID string
	// EventType and Tenant are read from the body ("type" and
	// "envelope.tenant_id"), when it has them.
	EventType string
	Tenant    string
	// Header and Body are the request's.
	Header http.Header
	Body   []byte
	// Verified says whether the signature was good; Refusal says why not.
	Verified bool
	Refusal  string
	// At is when it arrived.
	At time.Time
}

// Answer is how the sink answers a request. The zero Answer is 200 with
// {"ok":true}.
type Answer struct {
	// Status of the answer. Default 200.
	Status int
	// RetryAfter is the Retry-After header, if any.
	RetryAfter string
	// Location is the Location header, for a redirect.
	Location string
	// Body of the answer.
	Body string
	// Delay before answering; the answer is not given when the client
	// leaves first (its timeout).
	Delay time.Duration
	// Reset closes the connection without an answer.
	Reset bool
}

// Script chooses the answer to a request. It is called concurrently.
type Script func(r Request) Answer

// Sink is an http.Handler that receives webhooks. It is safe for
// concurrent use.
type Sink struct {
	v         signature.Verifier
	script    Script
	out       io.Writer
	printBody bool
	maxBody   int64
	stateless bool

	mu        sync.Mutex
	requests  []Request
	counts    map[string]int
	delivered map[string]int
	order     []string
}

// Opt configures a Sink.
type Opt func(*Sink)

// WithScript sets how the sink answers. Default: 200 to every request
// whose signature verifies.
func WithScript(s Script) Opt { return func(k *Sink) { k.script = s } }

// Print writes one line per request to w, and the body after it when
// body is true (bodies hold the events' data: personal data, in
// production). Default: nothing is printed.
func Print(w io.Writer, body bool) Opt { return func(k *Sink) { k.out, k.printBody = w, body } }

// Stateless makes the sink keep no record of its requests, for a
// long-running receiver: Requests, Delivered, Order, Duplicates and
// Unverified stay empty, and Request.N is always 1. Default: every request
// is kept.
func Stateless() Opt { return func(k *Sink) { k.stateless = true } }

// New returns a sink that verifies signatures with v. A request whose
// signature does not verify is answered 401, whatever the script says.
func New(v signature.Verifier, opts ...Opt) *Sink {
	k := &Sink{v: v, maxBody: signature.DefaultMaxBody, counts: map[string]int{}, delivered: map[string]int{}}
	for _, o := range opts {
		o(k)
	}
	return k
}

// NewFromSecrets returns a sink that verifies Standard Webhooks
// signatures with secrets: whsec_ secrets, whpk_ public keys or whsk_
// secret keys, as a destination is configured with.
func NewFromSecrets(secrets []string, opts ...Opt) (*Sink, error) {
	v, err := standardwebhooks.New(secrets)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	return New(v, opts...), nil
}

// ServeHTTP receives one webhook.
func (k *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	sreq, err := signature.ReadRequest(r, k.maxBody)
	req := Request{Header: r.Header.Clone(), Body: sreq.Body, At: now, ID: r.Header.Get(standardwebhooks.HeaderID)}
	if err == nil {
		_, err = k.v.Verify(sreq, now)
	}
	req.Verified = err == nil
	if err != nil {
		req.Refusal = signature.Code(err)
	}
	var body struct {
		Type     string `json:"type"`
		Envelope struct {
			TenantID string `json:"tenant_id"`
		} `json:"envelope"`
	}
	_ = json.Unmarshal(req.Body, &body)
	req.EventType, req.Tenant = body.Type, body.Envelope.TenantID

	req.N = 1
	if !k.stateless {
		k.mu.Lock()
		k.counts[req.ID]++
		req.N = k.counts[req.ID]
		k.requests = append(k.requests, req)
		k.mu.Unlock()
	}

	var a Answer
	switch {
	case !req.Verified:
		a = Answer{Status: http.StatusUnauthorized, Body: fmt.Sprintf(`{"code":%q}`, req.Refusal)}
	case k.script != nil:
		a = k.script(req)
	}
	if a.Status == 0 && !a.Reset {
		a.Status, a.Body = http.StatusOK, `{"ok":true}`
	}
	if a.Delay > 0 {
		t := time.NewTimer(a.Delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			k.print(req, 0, "client left")
			return
		case <-t.C:
		}
	}
	if a.Reset {
		k.print(req, 0, "connection reset")
		reset(w)
		return
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if a.Location != "" {
		w.Header().Set("Location", a.Location)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if a.Status >= 200 && a.Status < 300 && r.Context().Err() == nil && !k.stateless {
		k.mu.Lock()
		if k.delivered[req.ID] == 0 {
			k.order = append(k.order, req.ID)
		}
		k.delivered[req.ID]++
		k.mu.Unlock()
	}
	k.print(req, a.Status, "")
}

// reset closes the connection under w at once, with a TCP reset where it
// can.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (k *Sink) print(r Request, status int, note string) {
	if k.out == nil {
		return
	}
	verified := "signature ok"
	if !r.Verified {
		verified = "SIGNATURE REFUSED (" + r.Refusal + ")"
	}
	answer := fmt.Sprint(status)
	if note != "" {
		answer = note
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	fmt.Fprintf(k.out, "%s  %-36s  %-22s tenant=%-12s %s  answer=%s  bytes=%d\n",
		r.At.Format("15:04:05.000"), r.ID, r.EventType, r.Tenant, verified, answer, len(r.Body))
	if k.printBody {
		fmt.Fprintf(k.out, "    %s\n", r.Body)
	}
}

// Requests returns every request received, in arrival order.
func (k *Sink) Requests() []Request {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Request(nil), k.requests...)
}

// Delivered returns how many times each message id was answered 2xx.
func (k *Sink) Delivered() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string]int, len(k.delivered))
	for id, n := range k.delivered {
		out[id] = n
	}
	return out
}

// Count returns how many message ids were answered 2xx.
func (k *Sink) Count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.delivered)
}

// Order returns the message ids answered 2xx, in the order of their first
// 2xx.
func (k *Sink) Order() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.order...)
}

// Duplicates returns the message ids answered 2xx more than once, sorted.
func (k *Sink) Duplicates() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var ids []string
	for id, n := range k.delivered {
		if n > 1 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Unverified returns the requests whose signature did not verify.
func (k *Sink) Unverified() []Request {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []Request
	for _, r := range k.requests {
		if !r.Verified {
			out = append(out, r)
		}
	}
	return out
}
