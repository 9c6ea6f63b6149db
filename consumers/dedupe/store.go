package dedupe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
	// to Redis by Claim, Settle and Release (with Redis Cluster, one
	// pipeline is one round trip to each node holding its keys, made in
	// parallel).
	Batches, RoundTrips int64
	// Claimed, Duplicates and Busy count Claim's answers.
	Claimed, Duplicates, Busy int64
}

// Store is the idempotency store of the stages, in Redis. It is safe for
// concurrent use.
type Store struct {
	c      redis.UniversalClient
	nxGet  *redisconn.NXGetter
	prefix string
	ttl    time.Duration
	lease  time.Duration
	log    *zap.Logger

	batches, roundTrips, claimed, duplicates, busy atomic.Int64

	reg     prometheus.Registerer
	results *prometheus.CounterVec
	errors  *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

// Opt configures a Store.
type Opt func(*Store)

// Prefix sets the prefix of every key. Default "sluice:".
func Prefix(p string) Opt { return func(s *Store) { s.prefix = p } }

// TTL sets how long an event stays done: how long its marker, and its
// group's commit key, are kept. Default 7 days.
func TTL(d time.Duration) Opt { return func(s *Store) { s.ttl = d } }

// Lease sets how long a claim whose group did not commit keeps other
// records of its event waiting, from when the group was made. It must be
// longer than a stage's longest transaction (the runner's transaction
// timeout, default 30s). Default 2 minutes.
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
	s.nxGet = redisconn.NewNXGetter(c, func() {
		s.log.Warn("dedupe: this Redis refuses SET NX GET (it is older than 7.0); claiming with a script, one call per key")
	})
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

// CommitKey returns the Redis key that says group g committed, and which
// of its claims it released: "<prefix>dedupe-commit:<group>".
func (s *Store) CommitKey(g Group) string { return s.prefix + "dedupe-commit:" + string(g) }

// A Group is the claims of one batch: made by NewGroup before the batch
// is claimed, named in each of its markers, and settled (after its
// transaction committed) or released (after an abort) as one. Its id is
// "<unix-ms>-<random hex>": when it was made, and 64 random bits that
// tell it from every other group.
type Group string

// NewGroup returns a new group, made now.
func NewGroup() Group {
	return Group(fmt.Sprintf("%d-%016x", time.Now().UnixMilli(), rand.Uint64()))
}

// made returns when g was made, and false for an id that is not a
// group's.
func (g Group) made() (time.Time, bool) {
	ms, _, ok := strings.Cut(string(g), "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n), true
}

// Marker values are "g:<group>:<owner>" (claimed by owner in group; done
// once the group committed). Older sluice versions wrote "p:<owner>"
// (pending for a lease) and "d:<owner>" (done); both are still read.

// keyAndMarker returns the key of c's event (as Key makes it) and c's
// marker in group g, made in one allocation: they are two parts of one
// string.
func (s *Store) keyAndMarker(c Claim, g Group) (key, marker string) {
	kv := s.prefix + "dedupe:" + c.Stage + ":" + c.Tenant + ":" + c.EventID + "g:" + string(g) + ":" + c.Owner
	n := len(kv) - len("g:") - len(g) - len(":") - len(c.Owner)
	return kv[:n], kv[n:]
}

// markerKind tells the marker values apart.
type markerKind uint8

const (
	kindUnknown markerKind = iota // no version of the store wrote it
	kindGroup                     // "g:<group>:<owner>"
	kindPending                   // "p:<owner>", an older version's pending claim
	kindDone                      // "d:<owner>", an older version's done marker
)

// marker is a marker value read back.
type marker struct {
	kind  markerKind
	group Group
	owner string
}

func parseMarker(v string) marker {
	switch {
	case strings.HasPrefix(v, "g:"):
		if g, owner, ok := strings.Cut(v[2:], ":"); ok && g != "" {
			return marker{kind: kindGroup, group: Group(g), owner: owner}
		}
	case strings.HasPrefix(v, "p:"):
		return marker{kind: kindPending, owner: v[2:]}
	case strings.HasPrefix(v, "d:"):
		return marker{kind: kindDone, owner: v[2:]}
	}
	return marker{}
}

// takeScript sets one key to ARGV[2] for ARGV[3] ms and answers 1, only
// while it still holds the value Claim read (ARGV[1]); else it answers 0.
var takeScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

// releaseScript deletes one key if it still holds this claim's marker.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Claim claims every event of a batch for group g and returns each one's
// status, in order. On an error nothing can be said of any claim: treat
// the batch as not processed.
//
// Each key is claimed with one plain command in one pipeline, SET key
// "g:<group>:<owner>" NX PX ttl GET (Redis 7.0 and later): it takes an
// absent key and answers the value of a present one, atomically. Only
// the keys found present need more: one pipeline reads their groups'
// commit keys (GET), which says which are duplicates, and one more takes
// over, with a script per key, those that are free (freed by their
// group, own, or another's past its lease), each only if it still holds
// what the first read. On a server that refuses NX with GET (before 7.0)
// every claim is a script call.
func (s *Store) Claim(ctx context.Context, g Group, claims []Claim) ([]Status, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	s.batches.Add(1)
	var out []Status
	if err := s.observe(claims[0].Stage, "claim", func() (err error) {
		out, err = s.claim(ctx, g, claims)
		return err
	}); err != nil {
		return nil, err
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

// found is a key Claim found present.
type found struct {
	i     int    // the claim's index
	value string // the value read
	m     marker
}

func (s *Store) claim(ctx context.Context, g Group, claims []Claim) ([]Status, error) {
	out := make([]Status, len(claims))
	keys, markers := make([]string, len(claims)), make([]string, len(claims))
	for i, c := range claims {
		keys[i], markers[i] = s.keyAndMarker(c, g)
	}
	prev, trips, err := s.nxGet.SetNXGet(ctx, keys, markers, s.ttl)
	s.roundTrips.Add(int64(trips))
	if err != nil {
		return nil, err
	}
	var present []found
	for i, p := range prev {
		switch {
		case p.Err != nil:
			return nil, p.Err
		case !p.Found:
			out[i] = Claimed
			continue
		}
		m := parseMarker(p.Value)
		switch {
		case m.kind == kindDone:
			out[i] = Duplicate
		case m.kind == kindUnknown, m.kind == kindPending && m.owner != claims[i].Owner:
			// An older version's live claim (it ends with its lease), or
			// a value no version of the store wrote: wait.
			out[i] = Busy
		case m.kind == kindGroup && m.group == g && m.owner == claims[i].Owner:
			// Claimed in this very group already.
			out[i] = Claimed
		default:
			out[i] = Busy
			present = append(present, found{i: i, value: p.Value, m: m})
		}
	}
	if len(present) == 0 {
		return out, nil
	}
	takes, err := s.decide(ctx, claims, present, out)
	if err != nil || len(takes) == 0 {
		return out, err
	}
	// A key free to take is taken by a script that sets it only if it
	// still holds what was read: of two copies that read the same marker,
	// one takes it and the other is busy.
	ttl := strconv.FormatInt(s.ttl.Milliseconds(), 10)
	cmds, err := s.evalAll(ctx, nil, takeScript, len(takes), func(j int) (string, []any) {
		f := takes[j]
		return keys[f.i], []any{f.value, markers[f.i], ttl}
	})
	if err != nil {
		return nil, err
	}
	for j, cmd := range cmds {
		n, err := cmd.Int64()
		if err != nil || n < 0 || n > 1 {
			return nil, fmt.Errorf("take script answered %v, %v", cmd.Val(), err)
		}
		if n == 1 {
			out[takes[j].i] = Claimed
		}
	}
	return out, nil
}

// decide reads, in one pipeline, the commit keys of the groups of the
// keys found present, and decides each key: a duplicate (out) if its
// group committed and did not release it; free to take over if its group
// committed and released it, or did not commit and the claim is this
// owner's or another's made longer ago than the lease (its transaction
// cannot still commit); else busy. It returns the keys free to take.
func (s *Store) decide(ctx context.Context, claims []Claim, present []found, out []Status) ([]found, error) {
	pipe := s.c.Pipeline()
	gets := make(map[Group]*redis.StringCmd, len(present))
	for _, f := range present {
		if f.m.kind == kindGroup && gets[f.m.group] == nil {
			gets[f.m.group] = pipe.Get(ctx, s.CommitKey(f.m.group))
		}
	}
	if len(gets) > 0 {
		s.roundTrips.Add(1)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	// Each group's commit key is read once, however many keys it holds.
	commits := make(map[Group]commit, len(gets))
	for g, cmd := range gets {
		v, err := cmd.Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, err
		default:
			commits[g] = parseCommit(v)
		}
	}
	now := time.Now()
	var takes []found
	for _, f := range present {
		if f.m.kind == kindGroup {
			c, committed := commits[f.m.group]
			made, ok := f.m.group.made()
			switch {
			case committed && !c.freed[f.m.owner]:
				out[f.i] = Duplicate
				continue
			case committed, f.m.owner == claims[f.i].Owner, ok && now.Sub(made) > s.lease:
			default:
				continue // busy
			}
		}
		takes = append(takes, f)
	}
	return takes, nil
}

// commitValue is the value of a group's commit key: "1", and when the
// group released claims, ":" and their owners, comma-separated (owners
// hold no ',': Kafka topic names cannot).
func commitValue(release []Claim) string {
	var b strings.Builder
	b.WriteString("1")
	for i, c := range release {
		if i == 0 {
			b.WriteByte(':')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(c.Owner)
	}
	return b.String()
}

// commit is a group's commit key read back: the owners of the claims
// it freed (nil when none).
type commit struct{ freed map[string]bool }

// parseCommit reads a commit value (see commitValue).
func parseCommit(v string) commit {
	_, list, ok := strings.Cut(v, ":")
	if !ok {
		return commit{}
	}
	owners := strings.Split(list, ",")
	c := commit{freed: make(map[string]bool, len(owners))}
	for _, o := range owners {
		c.freed[o] = true
	}
	return c
}

// Settle settles group g after the transaction holding its outputs
// committed, with one command: it writes g's commit key for the TTL,
// listing the owners of the claims in release (records routed to a retry
// or dead-letter topic). That makes every other claim of g done, and
// those free, at once. On an error g is not marked committed; calling
// Settle again is safe.
func (s *Store) Settle(ctx context.Context, g Group, stage string, release []Claim) error {
	return s.observe(stage, "settle", func() error {
		s.roundTrips.Add(1)
		return s.c.Set(ctx, s.CommitKey(g), commitValue(release), s.ttl).Err()
	})
}

// Release releases the claims of group g (after an abort: nothing of them
// committed), deleting each marker only while it still holds its claim,
// in one pipeline.
func (s *Store) Release(ctx context.Context, g Group, claims []Claim) error {
	if len(claims) == 0 {
		return nil
	}
	return s.observe(claims[0].Stage, "release", func() error {
		_, err := s.evalAll(ctx, nil, releaseScript, len(claims), func(i int) (string, []any) {
			key, marker := s.keyAndMarker(claims[i], g)
			return key, []any{marker}
		})
		return err
	})
}

// observe runs fn, one operation (claim, settle, release) of a batch of
// stage: it times it, and counts and wraps its failure in ErrUnavailable.
func (s *Store) observe(stage, op string, fn func() error) error {
	began := time.Now()
	err := fn()
	s.seconds.WithLabelValues(stage, op).Observe(time.Since(began).Seconds())
	if err != nil {
		s.errors.WithLabelValues(stage, op).Inc()
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
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
