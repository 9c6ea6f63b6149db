package dedupe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// Status is what Claim found for an event.
type Status uint8

// The answers of Claim.
const (
	// Claimed: the event is now pending for this owner (it was absent, or
	// already pending for the same owner): process it.
	Claimed Status = iota
	// Duplicate: the event is done; drop this copy.
	Duplicate
	// Busy: the event is pending for another owner whose lease is live;
	// try again later.
	Busy
)

// String returns the status's name.
func (s Status) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case Duplicate:
		return "duplicate"
	case Busy:
		return "busy"
	}
	return "unknown"
}

// Claim is a claim on one event by one owner. The owner names the record
// that carries the event into the stage ("<topic>/<partition>/<offset>" of
// the input record), so that the same record, consumed again after an
// abort, a crash or a trip through a retry topic, finds its own claim.
type Claim struct {
	Stage, Tenant, EventID string
	Owner                  string
}

// Stats count what a Store did since it was made.
type Stats struct {
	// Batches is the number of Claim calls; RoundTrips the pipelines sent
	// to Redis by Claim and Settle (with Redis Cluster, one pipeline is
	// one round trip to each node holding its keys, made in parallel).
	Batches, RoundTrips int64
	// Claimed, Duplicates and Busy count Claim's answers.
	Claimed, Duplicates, Busy int64
}

// Store is the idempotency store of the stages, in Redis. It is safe for
// concurrent use.
type Store struct {
	c      redis.UniversalClient
	prefix string
	ttl    time.Duration
	lease  time.Duration
	log    *zap.Logger

	batches, roundTrips, claimed, duplicates, busy atomic.Int64
	reg                                            prometheus.Registerer
	// scriptClaims is set once the server refused SET NX GET.
	scriptClaims atomic.Bool
	results      *prometheus.CounterVec
	errors       *prometheus.CounterVec
	seconds      *prometheus.HistogramVec
}

// Opt configures a Store.
type Opt func(*Store)

// Prefix sets the prefix of every key. Default "sluice:".
func Prefix(p string) Opt { return func(s *Store) { s.prefix = p } }

// TTL sets how long an event stays done. Default 7 days.
func TTL(d time.Duration) Opt { return func(s *Store) { s.ttl = d } }

// Lease sets how long a claim stays pending without being confirmed or
// released. It must be longer than a stage's longest transaction (the
// runner's transaction timeout, default 30s). Default 2 minutes.
func Lease(d time.Duration) Opt { return func(s *Store) { s.lease = d } }

// Logger sets the logger. Default zap.NewNop().
func Logger(l *zap.Logger) Opt { return func(s *Store) { s.log = l } }

// Registerer registers the store's metrics with reg. Default none.
func Registerer(reg prometheus.Registerer) Opt { return func(s *Store) { s.reg = reg } }

// register creates the store's metrics and registers them with reg.
func (s *Store) register(reg prometheus.Registerer) error {
	s.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_dedupe_records_total",
		Help: "Claims by result: claimed, duplicate (dropped), busy (retried later).",
	}, []string{"stage", "result"})
	s.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_dedupe_errors_total",
		Help: "Redis failures by operation (claim, settle, release).",
	}, []string{"stage", "op"})
	s.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sluice_dedupe_seconds",
		Help:    "Time of one batch's Redis work, by operation: claim (every round trip of Claim), settle (after a commit), release (after an abort).",
		Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
	}, []string{"stage", "op"})
	if err := errors.Join(telemetry.Register(reg, &s.results), telemetry.Register(reg, &s.errors), telemetry.Register(reg, &s.seconds)); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// New returns a store on c.
func New(c redis.UniversalClient, opts ...Opt) (*Store, error) {
	s := &Store{c: c, prefix: "sluice:", ttl: 7 * 24 * time.Hour, lease: 2 * time.Minute, log: zap.NewNop()}
	for _, o := range opts {
		o(s)
	}
	switch {
	case c == nil:
		return nil, fmt.Errorf("%w: no Redis client", ErrConfig)
	case s.ttl <= 0 || s.lease <= 0:
		return nil, fmt.Errorf("%w: TTL %v and lease %v must be positive", ErrConfig, s.ttl, s.lease)
	case s.lease >= s.ttl:
		return nil, fmt.Errorf("%w: lease %v must be shorter than the TTL %v", ErrConfig, s.lease, s.ttl)
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	if err := s.register(s.reg); err != nil {
		return nil, err
	}
	return s, nil
}

// Key returns the Redis key of an event: "<prefix>dedupe:<stage>:<tenant>:<event-id>".
// Tenant ids cannot hold ':', so the key is unambiguous.
func (s *Store) Key(stage, tenant, eventID string) string {
	return s.prefix + "dedupe:" + stage + ":" + tenant + ":" + eventID
}

// Marker values are "p:<owner>" (pending) and "d:<owner>" (done): a done
// marker names its owner too, for whoever reads Redis by hand.

// isPending reports whether marker v is owner's pending marker, without
// making that string.
func isPending(v, owner string) bool { return strings.HasPrefix(v, "p:") && v[2:] == owner }

// keyAndMarker returns the key of c's event (as Key makes it) and the
// marker state ("p:" or "d:") and c's owner, made in one allocation: they
// are two parts of one string.
func (s *Store) keyAndMarker(c Claim, state string) (key, marker string) {
	kv := s.prefix + "dedupe:" + c.Stage + ":" + c.Tenant + ":" + c.EventID + state + c.Owner
	n := len(kv) - len(state) - len(c.Owner)
	return kv[:n], kv[n:]
}

// claimScript moves one key: absent → pending (claimed), own pending →
// pending with a fresh lease (claimed), done → duplicate, another's
// pending → busy. One key per call, so a pipeline of calls is safe on
// Redis Cluster whatever slots the keys hash to.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 0
end
if string.sub(v, 1, 2) == 'd:' then
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
return 2
`)

// releaseScript deletes one key if it is still pending for this owner.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Claim claims every event of a batch in one pipeline and returns each
// one's status, in order. On an error nothing can be said of any claim:
// treat the batch as not processed.
//
// Each key is claimed with one plain command, SET key pending NX PX lease
// GET (Redis 7.0 and later): it takes an absent key and answers the value
// of a present one, atomically. Only a key found pending for the same
// owner (a record handled again) needs the script, to renew its lease in a
// second round trip. On a server that refuses NX with GET (before 7.0)
// every claim is a script call.
func (s *Store) Claim(ctx context.Context, claims []Claim) ([]Status, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	s.batches.Add(1)
	began := time.Now()
	out, err := s.claim(ctx, claims)
	s.seconds.WithLabelValues(claims[0].Stage, "claim").Observe(time.Since(began).Seconds())
	if err != nil {
		s.errors.WithLabelValues(claims[0].Stage, "claim").Inc()
		return nil, fmt.Errorf("%w: claim: %w", ErrUnavailable, err)
	}
	// Claims in a row of one stage and status share a counter, looked up
	// once.
	var results prometheus.Counter
	for i, st := range out {
		switch st {
		case Claimed:
			s.claimed.Add(1)
		case Duplicate:
			s.duplicates.Add(1)
		case Busy:
			s.busy.Add(1)
		}
		if i == 0 || claims[i].Stage != claims[i-1].Stage || st != out[i-1] {
			results = s.results.WithLabelValues(claims[i].Stage, st.String())
		}
		results.Inc()
	}
	return out, nil
}

func (s *Store) claim(ctx context.Context, claims []Claim) ([]Status, error) {
	out := make([]Status, len(claims))
	renew := make([]int, 0)
	if s.scriptClaims.Load() {
		renew = make([]int, len(claims))
		for i := range renew {
			renew[i] = i
		}
	} else {
		s.roundTrips.Add(1)
		keys, markers := make([]string, len(claims)), make([]string, len(claims))
		for i, c := range claims {
			keys[i], markers[i] = s.keyAndMarker(c, "p:")
		}
		prev, err := redisconn.SetNXGet(ctx, s.c, keys, markers, s.lease)
		if errors.Is(err, redisconn.ErrNXGetRefused) {
			// Before Redis 7.0: claim with the script from now on.
			s.log.Warn("dedupe: this Redis refuses SET NX GET (it is older than 7.0); claiming with a script, one call per key")
			s.scriptClaims.Store(true)
			return s.claim(ctx, claims)
		}
		for i, p := range prev {
			v := p.Value
			switch {
			case p.Err != nil:
				return nil, p.Err
			case !p.Found:
				out[i] = Claimed
			case strings.HasPrefix(v, "d:"):
				out[i] = Duplicate
			case isPending(v, claims[i].Owner):
				renew = append(renew, i)
			default:
				out[i] = Busy
			}
		}
	}
	if len(renew) == 0 {
		return out, nil
	}
	lease := strconv.FormatInt(s.lease.Milliseconds(), 10)
	cmds, err := s.evalAll(ctx, nil, claimScript, len(renew), func(j int) (string, []any) {
		key, marker := s.keyAndMarker(claims[renew[j]], "p:")
		return key, []any{marker, lease}
	})
	if err != nil {
		return nil, err
	}
	for j, cmd := range cmds {
		n, err := cmd.Int64()
		if err != nil || n < 0 || n > 2 {
			return nil, fmt.Errorf("claim script answered %v, %v", cmd.Val(), err)
		}
		out[renew[j]] = Status(n)
	}
	return out, nil
}

// Settle marks the events of done as done for the TTL and releases the
// claims of release (deleting each marker only while it is still pending
// for its owner), in one pipeline. Call it only after the transaction that
// holds done's outputs committed.
func (s *Store) Settle(ctx context.Context, done, release []Claim) error {
	if len(done)+len(release) == 0 {
		return nil
	}
	stage, op := "", "settle"
	if len(done) > 0 {
		stage = done[0].Stage
	} else {
		stage, op = release[0].Stage, "release"
	}
	defer func(began time.Time) {
		s.seconds.WithLabelValues(stage, op).Observe(time.Since(began).Seconds())
	}(time.Now())
	pipe := s.c.Pipeline()
	sets := make([]*redis.StatusCmd, len(done))
	for i, c := range done {
		key, marker := s.keyAndMarker(c, "d:")
		sets[i] = pipe.Set(ctx, key, marker, s.ttl)
	}
	_, err := s.evalAll(ctx, pipe, releaseScript, len(release), func(i int) (string, []any) {
		key, marker := s.keyAndMarker(release[i], "p:")
		return key, []any{marker}
	})
	for _, cmd := range sets {
		if err == nil {
			err = cmd.Err()
		}
	}
	if err != nil {
		s.errors.WithLabelValues(stage, op).Inc()
		return fmt.Errorf("%w: settle: %w", ErrUnavailable, err)
	}
	return nil
}

// Release releases claims (after an abort: nothing of them committed).
func (s *Store) Release(ctx context.Context, claims []Claim) error {
	return s.Settle(ctx, nil, claims)
}

// Stats returns what the store did so far.
func (s *Store) Stats() Stats {
	return Stats{
		Batches:    s.batches.Load(),
		RoundTrips: s.roundTrips.Load(),
		Claimed:    s.claimed.Load(),
		Duplicates: s.duplicates.Load(),
		Busy:       s.busy.Load(),
	}
}

// evalAll is redisconn.EvalAll on the store's client, for a script of
// one key, counting its round trips.
func (s *Store) evalAll(ctx context.Context, pipe redis.Pipeliner, script *redis.Script, n int, arg func(i int) (string, []any)) ([]*redis.Cmd, error) {
	cmds, trips, err := redisconn.EvalAll(ctx, s.c, pipe, script, n, func(i int) ([]string, []any) {
		key, args := arg(i)
		return []string{key}, args
	})
	s.roundTrips.Add(int64(trips))
	return cmds, err
}
