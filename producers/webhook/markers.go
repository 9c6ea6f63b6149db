package webhook

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/internal/redisconn"
)

// Marker values: "done" once an event is accepted, "pending:<instance>:<n>"
// while one delivery writes it.
const (
	markerDone    = "done"
	markerPending = "pending:"
)

// The claim is one SET key pending NX PX lease GET per event id (Redis 7.0
// and later), all of a request's ids in one pipelined round trip: atomic
// per id, a plain command on the hot path, and one key per command, so
// that on Redis Cluster each goes to its own slot's node. On a server that
// refuses NX with GET (before 7.0) the claim is a script doing the same,
// one call per id (redisconn.NXGetter). Releasing and renewing compare the
// marker first, so they are one-key Lua scripts; they run only when a
// write fails or is outstanding.
const (
	// releaseScript deletes the marker only while it is still ARGV[1].
	releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`
	// renewScript extends the marker to ARGV[2] ms only while it is
	// still ARGV[1].
	renewScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`
)

// claim is the outcome of claiming one event id.
type claim int

const (
	claimed    claim = iota // this delivery holds the id and writes the event
	claimDone               // the event was accepted before
	claimInUse              // another delivery is writing it
)

// markers keeps the idempotency markers in Redis and remembers the ones
// this instance holds while their writes are outstanding, renewing their
// leases until the writes settle. Safe for concurrent use.
type markers struct {
	rdb      redis.UniversalClient
	prefix   string
	instance string
	lease    time.Duration
	doneTTL  time.Duration

	nxGet                *redisconn.NXGetter
	releaseScr, renewScr *redis.Script

	mu   sync.Mutex
	seq  uint64
	held map[string]string // key -> token
}

// key is "<prefix>ingress:<tenant>:<integration>:<event id>".
func (m *markers) key(tenant, integration, id string) string {
	var b strings.Builder
	b.Grow(len(m.prefix) + len("ingress:") + len(tenant) + len(integration) + len(id) + 2)
	b.WriteString(m.prefix)
	b.WriteString("ingress:")
	b.WriteString(tenant)
	b.WriteByte(':')
	b.WriteString(integration)
	b.WriteByte(':')
	b.WriteString(id)
	return b.String()
}

// token returns a new pending marker of this instance.
func (m *markers) token() string {
	m.mu.Lock()
	m.seq++
	n := m.seq
	m.mu.Unlock()
	return markerPending + m.instance + ":" + strconv.FormatUint(n, 10)
}

// claimAll claims every key in one pipelined round trip. tokens[i] is the
// pending marker set on keys[i] when it is claimed. On an error nothing is
// held: what was claimed is released again.
func (m *markers) claimAll(ctx context.Context, keys, tokens []string) ([]claim, error) {
	prev, _, err := m.nxGet.SetNXGet(ctx, keys, tokens, m.lease)
	if err != nil {
		return nil, fmt.Errorf("webhook: claim event ids: %w", err)
	}
	out := make([]claim, len(keys))
	var got []int
	var errs []error
	for i, p := range prev {
		switch {
		case p.Err != nil:
			errs = append(errs, p.Err)
		case !p.Found:
			out[i] = claimed
			got = append(got, i)
		case p.Value == markerDone:
			out[i] = claimDone
		default:
			out[i] = claimInUse // pending: another delivery's
		}
	}
	if err := errors.Join(errs...); err != nil {
		for _, i := range got {
			_ = m.release(context.WithoutCancel(ctx), keys[i], tokens[i])
		}
		return nil, fmt.Errorf("webhook: claim event ids: %w", err)
	}
	m.mu.Lock()
	for _, i := range got {
		m.held[keys[i]] = tokens[i]
	}
	m.mu.Unlock()
	return out, nil
}

// finish marks the done keys as accepted, for DoneTTL, and releases the
// others ({key, token}) while they are still theirs, in one round trip,
// and forgets their leases.
func (m *markers) finish(ctx context.Context, done []string, release [][2]string) error {
	for _, k := range done {
		m.forget(k)
	}
	for _, kt := range release {
		m.forget(kt[0])
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pipe := m.rdb.Pipeline()
	for _, k := range done {
		pipe.Set(ctx, k, markerDone, m.doneTTL)
	}
	for _, kt := range release {
		m.releaseScr.Eval(ctx, pipe, []string{kt[0]}, kt[1])
	}
	_, err := pipe.Exec(ctx)
	return err
}

// release deletes a pending marker that is still token, so the next
// delivery of the event can write it, and forgets the lease.
func (m *markers) release(ctx context.Context, key, token string) error {
	m.forget(key)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return m.releaseScr.Eval(ctx, m.rdb, []string{key}, token).Err()
}

func (m *markers) forget(key string) {
	m.mu.Lock()
	delete(m.held, key)
	m.mu.Unlock()
}

// renew extends the lease of every marker held, in one pipelined round
// trip, and returns how many it renewed and how many it held.
func (m *markers) renew(ctx context.Context) (renewed, held int, err error) {
	m.mu.Lock()
	keys := make([]string, 0, len(m.held))
	tokens := make([]string, 0, len(m.held))
	for k, t := range m.held {
		keys = append(keys, k)
		tokens = append(tokens, t)
	}
	m.mu.Unlock()
	if len(keys) == 0 {
		return 0, 0, nil
	}
	pipe := m.rdb.Pipeline()
	lease := strconv.FormatInt(m.lease.Milliseconds(), 10)
	cmds := make([]*redis.Cmd, len(keys))
	for i, k := range keys {
		cmds[i] = m.renewScr.Eval(ctx, pipe, []string{k}, tokens[i], lease)
	}
	_, err = pipe.Exec(ctx)
	for _, c := range cmds {
		if n, e := c.Int(); e == nil && n == 1 {
			renewed++
		}
	}
	return renewed, len(keys), err
}
