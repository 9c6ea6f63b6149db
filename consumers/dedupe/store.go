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

	"github.com/sluicehq/sluice/internal/telemetry"
)

// Status is what Claim found for an event.
type Status uint8

// The answers of Claim.
const (
	// Claimed: the event is now pending for this owner (it was absent, or
	// already pending for the same owner): process it.
	Claimed Status = iota
	// Duplicate: another record carried the event through a committed
	// transaction; drop this copy.
	Duplicate
	// Busy: another record holds the event in a transaction not known to
	// be committed; try again later.
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

// Offsets returns the offsets a stage's consumer group has committed, by
// topic and partition: each the offset of the next record to consume. A
// record below it went through a committed transaction of the stage.
// stage.Batch.Committed is one.
type Offsets func(ctx context.Context) (map[string]map[int32]int64, error)

// Stats count what a Store did since it was made.
type Stats struct {
	// Batches is the number of Claim calls; RoundTrips the pipelines sent
	// to Redis by Claim and Release (with Redis Cluster, one pipeline is
	// one round trip to each node holding its keys, made in parallel).
	Batches, RoundTrips int64
	// Claimed, Duplicates and Busy count Claim's answers.
	Claimed, Duplicates, Busy int64
	// OffsetFetches counts the committed offsets Claim asked Kafka for, to
	// tell a duplicate from a busy event.
	OffsetFetches int64
}

// Store is the idempotency store of the stages, in Redis. It is safe for
// concurrent use.
type Store struct {
	c      redis.UniversalClient
	prefix string
	ttl    time.Duration
	log    *zap.Logger

	batches, roundTrips, claimed, duplicates, busy, fetches atomic.Int64
	reg                                                     prometheus.Registerer
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

// TTL sets how long a claim holds: the window within which a second copy
// of an event is recognised. Default 7 days.
func TTL(d time.Duration) Opt { return func(s *Store) { s.ttl = d } }

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
		Help: "Failures by operation: claim and release (Redis), offsets (the committed offsets of the stage's group, from Kafka).",
	}, []string{"stage", "op"})
	s.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sluice_dedupe_seconds",
		Help:    "Time of one batch's Redis work, by operation: claim (all of Claim), release (after an abort, or of records sent to a retry or dead-letter topic).",
		Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
	}, []string{"stage", "op"})
	if err := errors.Join(telemetry.Register(reg, &s.results), telemetry.Register(reg, &s.errors), telemetry.Register(reg, &s.seconds)); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// New returns a store on c.
func New(c redis.UniversalClient, opts ...Opt) (*Store, error) {
	s := &Store{c: c, prefix: "sluice:", ttl: 7 * 24 * time.Hour, log: zap.NewNop()}
	for _, o := range opts {
		o(s)
	}
	switch {
	case c == nil:
		return nil, fmt.Errorf("%w: no Redis client", ErrConfig)
	case s.ttl <= 0:
		return nil, fmt.Errorf("%w: TTL %v must be positive", ErrConfig, s.ttl)
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

// pending is the marker of a claim: "p:<owner>".
func pending(owner string) string { return "p:" + owner }

// claimScript is SET key marker NX PX ttl GET for a server before Redis
// 7.0: it sets the key if absent and answers its earlier value (nil if
// there was none). One key per call, so a pipeline of calls is safe on
// Redis Cluster whatever slots the keys hash to.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return v
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
// Each key is claimed with one plain command, SET key "p:<owner>" NX PX
// ttl GET (Redis 7.0 and later): it takes an absent key and answers the
// value of a present one, atomically. On a server that refuses NX with GET
// (before 7.0) every claim is a script call doing the same.
//
// A key held by another owner is a duplicate if that owner's offset is
// below what the stage's group committed for its partition (committed,
// asked once per call and only then), and busy otherwise, or when
// committed is nil or fails.
func (s *Store) Claim(ctx context.Context, claims []Claim, committed Offsets) ([]Status, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	s.batches.Add(1)
	began := time.Now()
	out, err := s.claim(ctx, claims, committed)
	s.seconds.WithLabelValues(claims[0].Stage, "claim").Observe(time.Since(began).Seconds())
	if err != nil {
		s.errors.WithLabelValues(claims[0].Stage, "claim").Inc()
		return nil, fmt.Errorf("%w: claim: %w", ErrUnavailable, err)
	}
	for i, st := range out {
		switch st {
		case Claimed:
			s.claimed.Add(1)
		case Duplicate:
			s.duplicates.Add(1)
		case Busy:
			s.busy.Add(1)
		}
		s.results.WithLabelValues(claims[i].Stage, st.String()).Inc()
	}
	return out, nil
}

func (s *Store) claim(ctx context.Context, claims []Claim, committed Offsets) ([]Status, error) {
	held, err := s.claimKeys(ctx, claims)
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(claims))
	var others []int
	for i, v := range held {
		switch {
		case v == nil:
			out[i] = Claimed
		case strings.HasPrefix(*v, "d:"):
			// A done marker, as sluice wrote them before claims held for
			// the TTL.
			out[i] = Duplicate
		case *v == pending(claims[i].Owner):
			out[i] = Claimed
		default:
			out[i] = Busy
			others = append(others, i)
		}
	}
	if len(others) == 0 || committed == nil {
		return out, nil
	}
	s.fetches.Add(1)
	offsets, err := committed(ctx)
	if err != nil {
		// Busy is always safe: the record comes back later.
		s.errors.WithLabelValues(claims[0].Stage, "offsets").Inc()
		s.log.Warn("dedupe: committed offsets unknown; events claimed by other records are retried later",
			zap.String(telemetry.FieldStage, claims[0].Stage), zap.Int("records", len(others)), zap.Error(err))
		return out, nil
	}
	for _, i := range others {
		topic, partition, offset, ok := parseOwner(strings.TrimPrefix(*held[i], "p:"))
		if !ok {
			continue
		}
		if at, ok := offsets[topic][partition]; ok && offset < at {
			out[i] = Duplicate
		}
	}
	return out, nil
}

// claimKeys sets each claim's key to its marker where it is absent and
// returns each key's earlier value (nil where it was absent).
func (s *Store) claimKeys(ctx context.Context, claims []Claim) ([]*string, error) {
	held := make([]*string, len(claims))
	if s.scriptClaims.Load() {
		ttl := strconv.FormatInt(s.ttl.Milliseconds(), 10)
		cmds, err := s.evalAll(ctx, claimScript, len(claims), func(i int) (string, []any) {
			c := claims[i]
			return s.Key(c.Stage, c.Tenant, c.EventID), []any{pending(c.Owner), ttl}
		})
		if err != nil {
			return nil, err
		}
		for i, cmd := range cmds {
			v, err := cmd.Text()
			switch {
			case err == redis.Nil:
			case err != nil:
				return nil, err
			default:
				held[i] = &v
			}
		}
		return held, nil
	}
	s.roundTrips.Add(1)
	pipe := s.c.Pipeline()
	cmds := make([]*redis.StatusCmd, len(claims))
	for i, c := range claims {
		cmds[i] = pipe.SetArgs(ctx, s.Key(c.Stage, c.Tenant, c.EventID), pending(c.Owner), redis.SetArgs{Mode: "NX", TTL: s.ttl, Get: true})
	}
	_, err := pipe.Exec(ctx)
	if err != nil && err != redis.Nil {
		if !isSyntaxError(err) {
			return nil, err
		}
		// NX with GET is refused before Redis 7.0: claim with the script
		// from now on.
		s.log.Warn("dedupe: this Redis refuses SET NX GET (it is older than 7.0); claiming with a script, one call per key")
		s.scriptClaims.Store(true)
		return s.claimKeys(ctx, claims)
	}
	for i, cmd := range cmds {
		v, err := cmd.Result()
		switch {
		case err == redis.Nil:
		case err != nil:
			return nil, err
		default:
			held[i] = &v
		}
	}
	return held, nil
}

// parseOwner splits an owner, "<topic>/<partition>/<offset>" (topic names
// hold no '/').
func parseOwner(owner string) (topic string, partition int32, offset int64, ok bool) {
	rest, off, ok1 := cutLast(owner, "/")
	topic, part, ok2 := cutLast(rest, "/")
	if !ok1 || !ok2 {
		return "", 0, 0, false
	}
	p, err1 := strconv.ParseInt(part, 10, 32)
	o, err2 := strconv.ParseInt(off, 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, 0, false
	}
	return topic, int32(p), o, true
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// isSyntaxError reports whether err is Redis refusing a command's
// arguments.
func isSyntaxError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.Contains(re.Error(), "syntax error")
}

// Release deletes claims, each only while it is still pending for its
// owner, in one pipeline: after an abort (nothing of them committed), or
// for records the committed transaction sent to a retry or dead-letter
// topic, so that another copy of the event may go through.
func (s *Store) Release(ctx context.Context, claims []Claim) error {
	if len(claims) == 0 {
		return nil
	}
	stage := claims[0].Stage
	defer func(began time.Time) {
		s.seconds.WithLabelValues(stage, "release").Observe(time.Since(began).Seconds())
	}(time.Now())
	_, err := s.evalAll(ctx, releaseScript, len(claims), func(i int) (string, []any) {
		c := claims[i]
		return s.Key(c.Stage, c.Tenant, c.EventID), []any{pending(c.Owner)}
	})
	if err != nil {
		s.errors.WithLabelValues(stage, "release").Inc()
		return fmt.Errorf("%w: release: %w", ErrUnavailable, err)
	}
	return nil
}

// Stats returns what the store did so far.
func (s *Store) Stats() Stats {
	return Stats{
		Batches:    s.batches.Load(),
		RoundTrips: s.roundTrips.Load(),
		Claimed:    s.claimed.Load(),
		Duplicates: s.duplicates.Load(),
		Busy:       s.busy.Load(),

		OffsetFetches: s.fetches.Load(),
	}
}

// evalAll runs script once per key in one pipeline (EVALSHA), and once
// more with the script's text (EVAL) for the calls a node answered
// NOSCRIPT, which happens after a Redis restart or failover. A call that
// answered nil is no error.
func (s *Store) evalAll(ctx context.Context, script *redis.Script, n int, arg func(i int) (string, []any)) ([]*redis.Cmd, error) {
	s.roundTrips.Add(1)
	pipe := s.c.Pipeline()
	cmds := make([]*redis.Cmd, n)
	for i := range n {
		key, args := arg(i)
		cmds[i] = script.EvalSha(ctx, pipe, []string{key}, args...)
	}
	_, _ = pipe.Exec(ctx) // each command's error is read below
	missing, err := failed(cmds)
	if err != nil || len(missing) == 0 {
		return cmds, err
	}
	s.roundTrips.Add(1)
	pipe = s.c.Pipeline()
	for _, i := range missing {
		key, args := arg(i)
		cmds[i] = script.Eval(ctx, pipe, []string{key}, args...)
	}
	_, _ = pipe.Exec(ctx)
	if missing, err = failed(cmds); err == nil && len(missing) > 0 {
		err = cmds[missing[0]].Err()
	}
	return cmds, err
}

// failed returns the calls of cmds that a node answered NOSCRIPT, or the
// first other error.
func failed(cmds []*redis.Cmd) ([]int, error) {
	var missing []int
	for i, cmd := range cmds {
		switch err := cmd.Err(); {
		case err == nil, err == redis.Nil:
		case isNoScript(err):
			missing = append(missing, i)
		default:
			return nil, err
		}
	}
	return missing, nil
}

func isNoScript(err error) bool { return redis.HasErrorPrefix(err, "NOSCRIPT") }
