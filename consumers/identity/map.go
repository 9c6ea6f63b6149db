package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/redisconn"
)

// Outcome is how Resolve found a subject's canonical id.
type Outcome uint8

// The outcomes of Resolve.
const (
	// Known: the external id was bound already.
	Known Outcome = iota
	// Matched: the external id is new, its match key (e-mail, domain)
	// was bound: the object is one already known from another system or
	// another id, and takes its canonical id.
	Matched
	// Minted: nothing was known; the object gets a new canonical id.
	Minted
)

// String returns the outcome's name, as used in metric labels.
func (o Outcome) String() string {
	switch o {
	case Known:
		return "known"
	case Matched:
		return "matched"
	case Minted:
		return "new"
	}
	return "unknown"
}

// Subject is an object to give a canonical id.
type Subject struct {
	// Tenant and Object (account, contact, order, ticket) say whose and
	// what it is.
	Tenant, Object string
	// System is the source system, Integration the catalog integration it
	// came through, ExternalID its id there.
	System, Integration, ExternalID string
	// Email is a contact's raw e-mail address, its match key ("" for
	// none).
	Email string
	// Domains are an account's raw domains, URLs or e-mail addresses,
	// tried in order: the first that gives a company domain is its match
	// key.
	Domains []string
	// Ref marks a subject that is only referred to (an order's account):
	// Resolve binds its external id but does not list its external ids.
	Ref bool
}

// Resolution is what Resolve found for one subject.
type Resolution struct {
	// ID is the canonical id.
	ID string
	// Outcome says how it was found.
	Outcome Outcome
	// Conflict is true when the subject's match key is bound to another
	// canonical id than its external id: two canonical objects turned
	// out to be one. The binding is left as it is (see the package doc).
	Conflict bool
	// ExternalIDs are every external id bound to ID, sorted by system,
	// integration and id (nil for a Ref subject).
	ExternalIDs []canonical.ExternalID
	// Pending are the bindings the subject relies on that may not be in
	// the identity topic yet: the caller writes them there in the same
	// transaction as the events that use the id (Binding.Record), and
	// calls Confirm once that committed.
	Pending []Binding
}

// Result is what one Resolve call found.
type Result struct {
	// Resolutions, one per subject, in order.
	Resolutions []Resolution
	// RoundTrips is the number of Redis pipelines the call sent.
	RoundTrips int
	// Rebuilt is true when the call found the map gone from Redis and
	// rebuilt it from the identity topic.
	Rebuilt bool
}

// Stats count what a Map did since it was made.
type Stats struct {
	// Resolves counts Resolve calls, Subjects the subjects they resolved.
	Resolves, Subjects int64
	// RoundTrips counts the Redis pipelines of Resolve and Confirm.
	RoundTrips int64
	// Known, Matched, Minted and Conflicts count the resolutions.
	Known, Matched, Minted, Conflicts int64
	// Rebuilds counts rebuilds from the identity topic, Loaded the
	// records the last one read.
	Rebuilds, Loaded int64
	// CacheHits counts the subjects whose bindings were all in the
	// map's memory (see CacheSize), so were not read from Redis.
	CacheHits int64
}

// Map is the identity map: (tenant, object, source system, external id)
// → canonical id, with match rules that give one customer seen in two
// systems one id. Its source of truth is the compacted identity topic;
// Redis holds a copy that Resolve reads in one pipeline per batch. It is
// safe for concurrent use.
type Map struct {
	rc          redis.UniversalClient
	kc          kafka.Config
	topic       string
	prefix      string
	partitions  int32
	replication int16
	tenants     []string
	norm        *Normalizer
	log         *zap.Logger
	kafkaOpts   []kgo.Opt
	loadTimeout time.Duration
	cacheSize   int
	reg         prometheus.Registerer
	metrics     *metrics
	// cache holds the bindings known durable, nil when off (see cache).
	cache *cache

	// resolve, confirm, add, mark and join are the Lua scripts
	// (resolveScript, confirmScript, addScript, markScript, joinScript).
	resolve, confirm, add, mark, join *redis.Script

	ready atomic.Bool
	sf    singleflight.Group

	resolves, subjects, roundTrips   atomic.Int64
	known, matched, fresh, conflicts atomic.Int64
	rebuilds, loaded                 atomic.Int64
}

// Opt configures a Map.
type Opt func(*Map)

// Topic sets the identity topic, taken as it is. Default
// kafka.IdentityTopic ("sluice.identity") in the cluster config's
// namespace.
func Topic(name string) Opt { return func(m *Map) { m.topic = name } }

// Prefix sets the prefix of every Redis key. Default "sluice:".
func Prefix(p string) Opt { return func(m *Map) { m.prefix = p } }

// TopicPartitions sets the partitions of the identity topic when Load
// creates it. Default 6.
func TopicPartitions(n int32) Opt { return func(m *Map) { m.partitions = n } }

// TopicReplication sets the replication factor of the identity topic
// when Load creates it. Default: the broker's default.
func TopicReplication(n int16) Opt { return func(m *Map) { m.replication = n } }

// Tenants names the tenants whose map is marked loaded after a rebuild
// even if the topic holds nothing of theirs yet (the catalog's tenants).
// Default none: a tenant is marked when the topic holds a binding of its,
// when it is in the tenant set (see the package doc), or when Resolve
// first meets it.
func Tenants(ids ...string) Opt { return func(m *Map) { m.tenants = append(m.tenants, ids...) } }

// Normalize sets the rules for e-mail and domain match keys. Default
// NewNormalizer(false, nil, nil): no +tag stripping, the default free-mail
// list and shared hosts.
func Normalize(n *Normalizer) Opt { return func(m *Map) { m.norm = n } }

// Logger sets the logger. Default zap.NewNop().
func Logger(l *zap.Logger) Opt { return func(m *Map) { m.log = l } }

// Registerer registers the map's metrics with reg. Default none.
func Registerer(reg prometheus.Registerer) Opt {
	return func(m *Map) { m.reg = reg }
}

// KafkaOpts adds options to the client that reads the identity topic.
// Default none.
func KafkaOpts(opts ...kgo.Opt) Opt {
	return func(m *Map) { m.kafkaOpts = append(m.kafkaOpts, opts...) }
}

// CacheSize sets how many durable bindings the map keeps in memory, so
// that resolving objects it has seen before reads only their id lists
// from Redis (default DefaultCacheSize; 0 keeps none).
func CacheSize(n int) Opt { return func(m *Map) { m.cacheSize = n } }

// LoadTimeout bounds one rebuild from the identity topic. Default 5
// minutes.
func LoadTimeout(d time.Duration) Opt { return func(m *Map) { m.loadTimeout = d } }

// New returns the identity map kept in rc, rebuilt from the identity topic
// of the cluster kc. Call Load before Resolve.
func New(rc redis.UniversalClient, kc kafka.Config, opts ...Opt) (*Map, error) {
	m := &Map{
		rc:          rc,
		kc:          kc,
		topic:       kc.Namespace.Name(kafka.IdentityTopic),
		prefix:      "sluice:",
		partitions:  6,
		log:         zap.NewNop(),
		loadTimeout: 5 * time.Minute,
		cacheSize:   DefaultCacheSize,
		resolve:     redis.NewScript(resolveScript),
		confirm:     redis.NewScript(confirmScript),
		add:         redis.NewScript(addScript),
		mark:        redis.NewScript(markScript),
		join:        redis.NewScript(joinScript),
	}
	for _, o := range opts {
		o(m)
	}
	switch {
	case rc == nil:
		return nil, fmt.Errorf("%w: no Redis client", ErrConfig)
	case m.topic == "":
		return nil, fmt.Errorf("%w: no identity topic", ErrConfig)
	case m.partitions <= 0 || m.loadTimeout <= 0:
		return nil, fmt.Errorf("%w: partitions and load timeout must be positive", ErrConfig)
	case m.cacheSize < 0:
		return nil, fmt.Errorf("%w: the cache size must not be negative", ErrConfig)
	}
	if _, err := kc.Opts(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if m.log == nil {
		m.log = zap.NewNop()
	}
	if m.norm == nil {
		m.norm = NewNormalizer(false, nil, nil)
	}
	metrics, err := newMetrics(m.reg)
	if err != nil {
		return nil, err
	}
	m.metrics = metrics
	if m.cache, err = newCache(m.cacheSize, metrics.cacheHits); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return m, nil
}

// Topic returns the identity topic.
func (m *Map) Topic() string { return m.topic }

// TopicSpec returns the identity topic's spec: compacted, with the
// configured partitions.
func (m *Map) TopicSpec() kafka.TopicSpec {
	return kafka.TopicSpec{Name: m.topic, Partitions: m.partitions, Replication: m.replication, Configs: kafka.Compacted()}
}

// Normalizer returns the rules the map normalises match keys with.
func (m *Map) Normalizer() *Normalizer { return m.norm }

// Ready reports whether the map is loaded in Redis.
func (m *Map) Ready() bool { return m.ready.Load() }

// Stats returns what the map did so far.
func (m *Map) Stats() Stats {
	return Stats{
		Resolves: m.resolves.Load(), Subjects: m.subjects.Load(), RoundTrips: m.roundTrips.Load(),
		Known: m.known.Load(), Matched: m.matched.Load(), Minted: m.fresh.Load(), Conflicts: m.conflicts.Load(),
		Rebuilds: m.rebuilds.Load(), Loaded: m.loaded.Load(), CacheHits: m.cache.hitCount(),
	}
}

// resolveScript resolves the subjects of one tenant, each atomically and
// in order, so a subject sees what the ones before it bound. All its keys
// carry the tenant's hash tag, so one call is one slot on Redis Cluster.
//
//	KEYS[1]   the tenant's loaded marker
//	then, per subject, its external id's binding and, if it has one,
//	its match key's binding
//	ARGV[1]   the prefix of the id lists (the id is appended)
//	then, per subject, 4 values: its number of keys, the id to give it
//	if it is new, its external id as a member of its id's list, and "1"
//	to return the id's list
//
// A binding's value is "p:<id>" (pending: written by a transaction that
// may not have committed) or "d:<id>" (durable: in the identity topic).
// It returns {"reload"} when the marker is missing (Redis lost the map)
// or holds another node's replication id (a failover may have lost
// writes), else, per subject: id, outcome, conflict, pending flags (per
// key in order: whether the caller must write it to the topic) and the
// id's list ("" when not asked for).
const resolveScript = luaLists + luaReplID + `
local marker = redis.call('GET', KEYS[1])
if not marker or marker ~= replid() then
  return {'reload'}
end
local out = {}
local k = 2
local a = 2
local prefix = ARGV[1]
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local candidate, mem, want = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  a = a + 4
  local vals = {}
  for i = 0, n - 1 do vals[i] = redis.call('GET', KEYS[k + i]) end
  local id, outcome
  if vals[0] then
    id = string.sub(vals[0], 3)
    outcome = 'known'
  else
    for i = 1, n - 1 do
      if vals[i] then
        id = string.sub(vals[i], 3)
        outcome = 'matched'
        break
      end
    end
    if not id then
      id = candidate
      outcome = 'new'
    end
  end
  local pend = {}
  local conflict = '0'
  for i = 0, n - 1 do
    local v = vals[i]
    if not v then
      redis.call('SET', KEYS[k + i], 'p:' .. id)
      pend[#pend + 1] = '1'
    elseif string.sub(v, 3) ~= id then
      conflict = '1'
      pend[#pend + 1] = '0'
    elseif string.sub(v, 1, 2) == 'p:' then
      pend[#pend + 1] = '1'
    else
      pend[#pend + 1] = '0'
    end
  end
  k = k + n
  local lkey = prefix .. id
  -- A durable external id is in its id's list already, unless a writer
  -- of the format before lists bound it: an object adds itself.
  if want == '1' or not (vals[0] and string.sub(vals[0], 1, 2) == 'd:') then
    add(lkey, mem)
  end
  out[#out + 1] = id
  out[#out + 1] = outcome
  out[#out + 1] = conflict
  out[#out + 1] = table.concat(pend)
  if want == '1' then
    out[#out + 1] = list(lkey).s
  else
    out[#out + 1] = ''
  end
end
return out
`

// confirmScript marks bindings of one tenant durable once the
// transaction that wrote them to the topic committed. A binding missing
// from Redis (a flush since it was resolved) is written back, with its
// external id in its id's list: it is in the topic now. A pending
// binding's list needs no look: the resolve that wrote the binding added
// the external id to the list in the same script, so the two were kept
// or lost together. It returns a flag per binding, "1" when the binding is
// durable with its id now, "0" when Redis holds it bound to another id
// (a flush since it was resolved, and another instance bound it first).
//
//	KEYS      per binding: the binding, its id's list
//	ARGV      per binding: the id, the member to add to the list ("" for
//	          a match key)
const confirmScript = luaLists + `
local out = {}
for i = 1, #KEYS, 2 do
  local id, mem = ARGV[i], ARGV[i + 1]
  local v = redis.call('GET', KEYS[i])
  if not v then
    redis.call('SET', KEYS[i], 'd:' .. id)
    if mem ~= '' then add(KEYS[i + 1], mem) end
    out[#out + 1] = '1'
  elseif v == 'p:' .. id then
    redis.call('SET', KEYS[i], 'd:' .. id)
    out[#out + 1] = '1'
  elseif v == 'd:' .. id then
    out[#out + 1] = '1'
  else
    out[#out + 1] = '0'
  end
end
return table.concat(out)
`

// maxGroup bounds the subjects of one script call, so one call never
// holds Redis for long.
const maxGroup = 200

// planned is a subject turned into keys: its external id's and, if it
// has one, its match key's. They are held in the struct, not in slices of
// their own, to spare two allocations per subject; the bindings the keys
// stand for are made only when one is pending (binding), as a batch
// plans every subject and most are known.
type planned struct {
	n   int // keys in use: 1 or 2
	key [2]string
	// candKind and match derive the id a new object gets (NewID): from
	// the normalised match value, or from the external id when there is
	// none.
	candKind string
	match    string
}

// keys returns the subject's keys, in order.
func (p *planned) keys() []string { return p.key[:p.n] }

// binding returns the binding of key j of subject s, planned as p, without
// its id.
func (p *planned) binding(j int, s Subject) Binding {
	if j == 0 {
		return Binding{Tenant: s.Tenant, Object: s.Object, Kind: KindExternal, System: s.System, Integration: s.Integration, ExternalID: s.ExternalID}
	}
	k := p.key[1]
	return Binding{Tenant: s.Tenant, Object: s.Object, Kind: p.candKind, Hash: k[len(k)-hashLen:]}
}

// plan turns subject s into keys, in p (in place: a planned is large).
func (m *Map) plan(p *planned, s Subject) error {
	for _, f := range [...]string{s.Tenant, s.Object, s.System} {
		if f == "" || hasAnyByte(f, "|{}") {
			return fmt.Errorf("%w: tenant, object and system must be set and hold no '|', '{' or '}'", ErrSubject)
		}
	}
	if s.ExternalID == "" || strings.Contains(s.Integration, "|") {
		return fmt.Errorf("%w: an external id is required and the integration holds no '|'", ErrSubject)
	}
	p.n, p.candKind = 1, KindExternal
	p.key[0] = m.bindingKey(p.binding(0, s))
	switch {
	case s.Email != "":
		if e, ok := m.norm.Email(s.Email); ok {
			p.candKind, p.match = KindEmail, e
		}
	case len(s.Domains) > 0:
		for _, raw := range s.Domains {
			if d, ok := m.norm.Domain(raw); ok {
				p.candKind, p.match = KindDomain, d
				break
			}
		}
	}
	if p.candKind != KindExternal {
		p.n = 2
		p.key[1] = m.matchKey(s.Tenant, s.Object, p.candKind, p.match)
	}
	return nil
}

// appendArgs appends the script's arguments for subject s planned as p:
// how many keys, the id a new object gets, the external id's member and
// whether the subject is an object (not a reference).
func (p *planned) appendArgs(args []any, s Subject) []any {
	want := "1"
	if s.Ref {
		want = "0"
	}
	cand := p.match
	if p.candKind == KindExternal {
		cand = s.System + "\x00" + s.ExternalID
	}
	return append(args, p.n, NewID(s.Tenant, s.Object, p.candKind, cand), member(s.System, s.Integration, s.ExternalID), want)
}

// Resolve gives each subject its canonical id, in two Redis pipelines
// (one when the map remembers every subject's bindings, none when every
// subject is also a reference; more only after a Redis restart, when
// scripts are loaded again, or a flush, when the map is rebuilt; see
// resolveOnce). Each subject is resolved atomically, in order: the
// external id's binding if known; else the match key's (the object is one
// already known); else a new id, derived from the match key (or the
// external id when there is none), so that instances meeting the same new
// object at once derive the same id. New bindings are written pending;
// see Resolution.Pending.
//
// On a Redis failure nothing can be said of any subject: the error wraps
// ErrUnavailable, and the batch should be handled again later.
func (m *Map) Resolve(ctx context.Context, subjects []Subject) (Result, error) {
	res := Result{}
	if len(subjects) == 0 {
		return res, nil
	}
	plans := make([]planned, len(subjects))
	for i := range subjects {
		if err := m.plan(&plans[i], subjects[i]); err != nil {
			return res, err
		}
	}
	m.resolves.Add(1)
	m.subjects.Add(int64(len(subjects)))
	defer func(began time.Time) {
		m.metrics.seconds.WithLabelValues("resolve").Observe(time.Since(began).Seconds())
	}(time.Now())
	groups := m.group(subjects)
	for attempt := 0; ; attempt++ {
		out, reload, trips, err := m.resolveOnce(ctx, subjects, plans, groups)
		res.RoundTrips += trips
		if err != nil {
			m.metrics.errors.WithLabelValues("resolve").Inc()
			return res, fmt.Errorf("%w: resolve: %w", ErrUnavailable, err)
		}
		if len(reload) == 0 {
			res.Resolutions = out
			break
		}
		if attempt > 0 {
			return res, fmt.Errorf("%w: it was rebuilt and is gone again", ErrNotLoaded)
		}
		rebuilt, trips, err := m.reload(ctx, reload)
		res.RoundTrips += trips
		if err != nil {
			return res, err
		}
		res.Rebuilt = rebuilt
	}
	// Subjects in a row of one object and outcome share a counter, looked
	// up once.
	var resolved prometheus.Counter
	for i, r := range res.Resolutions {
		switch r.Outcome {
		case Known:
			m.known.Add(1)
		case Matched:
			m.matched.Add(1)
		case Minted:
			m.fresh.Add(1)
		}
		if i == 0 || subjects[i].Object != subjects[i-1].Object || r.Outcome != res.Resolutions[i-1].Outcome {
			resolved = m.metrics.resolutions.WithLabelValues(subjects[i].Object, r.Outcome.String())
		}
		resolved.Inc()
		if r.Conflict {
			m.conflicts.Add(1)
			m.metrics.conflicts.WithLabelValues(subjects[i].Object).Inc()
		}
	}
	return res, nil
}

// resolveOnce resolves subjects in two round trips: it reads every key
// of theirs that the cache does not hold (one MGET per group, with the
// tenant's loaded marker), then reads the id lists of the subjects found
// wholly durable (one MGET per group) and runs the resolve script for the
// others. It returns the resolutions, or the tenants whose map must be
// reloaded first. When the cache holds every subject's keys, the first
// round trip is left out.
//
// A subject whose keys are all bound durably to one id is Known, with
// nothing to write: a durable binding never changes (the topic holds it),
// so reading it outside the script, or from the cache, is as good as
// reading it inside. Its id's list holds its own external id. When it
// does not (the map went from Redis after the first MGET, or a writer of
// the format before id lists bound it), the subject goes to the script,
// which sees that and adds it.
func (m *Map) resolveOnce(ctx context.Context, subjects []Subject, plans []planned, groups []group) (out []Resolution, reload []string, trips int, err error) {
	cached := make([]string, len(subjects)) // a subject → its id, if the cache knew it
	read := make([]group, len(groups))      // the subjects of each group read from Redis
	peek, hits := false, 0
	for g, grp := range groups {
		read[g].tenant = grp.tenant
		for _, i := range grp.subjects {
			if id, ok := m.cache.id(&plans[i]); ok {
				cached[i] = id
				hits++
				continue
			}
			read[g].subjects = append(read[g].subjects, i)
			peek = true
		}
	}
	m.cache.hit(hits)
	peeks := make([]*redis.SliceCmd, len(groups))
	if peek {
		trips++
		m.roundTrips.Add(1)
		pipe := m.rc.Pipeline()
		for g, grp := range read {
			if len(grp.subjects) > 0 {
				peeks[g] = pipe.MGet(ctx, m.groupKeys(grp, plans)...)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, nil, trips, err
		}
	}
	out = make([]Resolution, len(subjects))
	var slow []group
	reads := make([]listRead, len(subjects)) // a subject → where its id's list is read, if it is
	lists := false
	pipe := m.rc.Pipeline()
	for g, grp := range groups {
		var vals []any
		if peeks[g] != nil {
			if vals = peeks[g].Val(); len(vals) == 0 || vals[0] == nil {
				if !slices.Contains(reload, grp.tenant) {
					reload = append(reload, grp.tenant)
				}
				continue
			}
		}
		sg := group{tenant: grp.tenant}
		var keys []string
		var at map[string]int // a list key → its place in keys
		prefix := ""
		v := 1
		var listed []int
		for _, i := range grp.subjects {
			id, ok := cached[i], cached[i] != ""
			if !ok {
				n := plans[i].n
				if v+n > len(vals) {
					return nil, nil, trips, fmt.Errorf("MGET answered %d values for more keys", len(vals))
				}
				id, ok = durable(vals[v : v+n])
				v += n
				if ok {
					m.cache.add(id, plans[i].keys()...)
				}
			}
			if !ok {
				sg.subjects = append(sg.subjects, i)
				continue
			}
			out[i] = Resolution{ID: id, Outcome: Known}
			if subjects[i].Ref {
				continue
			}
			if prefix == "" {
				prefix = m.listKeyPrefix(grp.tenant)
				at = make(map[string]int)
			}
			k := prefix + id
			j, ok := at[k]
			if !ok {
				j = len(keys)
				at[k] = j
				keys = append(keys, k)
			}
			reads[i].at = j
			listed = append(listed, i)
		}
		if len(keys) > 0 {
			cmd := pipe.MGet(ctx, keys...)
			for _, i := range listed {
				reads[i].cmd = cmd
			}
			lists = true
		}
		if len(sg.subjects) > 0 {
			slow = append(slow, sg)
		}
	}
	if len(reload) > 0 {
		return nil, reload, trips, nil
	}
	if !lists && len(slow) == 0 {
		return out, nil, trips, nil
	}
	reload, n, err := m.script(ctx, pipe, slow, subjects, plans, out)
	trips += n
	if err != nil || len(reload) > 0 {
		return nil, reload, trips, err
	}
	redo := map[string]*group{}
	var order []string
	for i, r := range reads {
		if r.cmd == nil {
			continue
		}
		vals, err := r.cmd.Result()
		if err != nil {
			return nil, nil, trips, err
		}
		if r.at >= len(vals) {
			return nil, nil, trips, fmt.Errorf("MGET answered %d values for more keys", len(vals))
		}
		if l, ok := vals[r.at].(string); ok {
			members, err := parseList(l)
			if err != nil {
				return nil, nil, trips, fmt.Errorf("%s: %w", m.listKeyPrefix(subjects[i].Tenant)+out[i].ID, err)
			}
			s := subjects[i]
			if hasMember(members, s.System, s.Integration, s.ExternalID) {
				out[i].ExternalIDs = externalIDs(members)
				continue
			}
		}
		t := subjects[i].Tenant
		if redo[t] == nil {
			redo[t] = &group{tenant: t}
			order = append(order, t)
		}
		redo[t].subjects = append(redo[t].subjects, i)
	}
	if len(redo) == 0 {
		return out, nil, trips, nil
	}
	again := make([]group, 0, len(order))
	for _, t := range order {
		again = append(again, *redo[t]) // subjects in order, as in the batch
	}
	reload, n, err = m.script(ctx, nil, again, subjects, plans, out)
	trips += n
	if err != nil || len(reload) > 0 {
		return nil, reload, trips, err
	}
	return out, nil, trips, nil
}

// listRead is where a known subject's id list is read: the MGET of its
// group and the list's place in it.
type listRead struct {
	cmd *redis.SliceCmd
	at  int
}

// script runs the resolve script for each group, in pipe (a new pipeline
// when nil) with what pipe already holds, and parses the answers into out.
// It returns the tenants the script found not loaded.
func (m *Map) script(ctx context.Context, pipe redis.Pipeliner, groups []group, subjects []Subject, plans []planned, out []Resolution) (reload []string, trips int, err error) {
	cmds, trips, err := m.evalAll(ctx, pipe, m.resolve, len(groups), func(g int) ([]string, []any) {
		grp := groups[g]
		args := make([]any, 1, 1+4*len(grp.subjects))
		args[0] = m.listKeyPrefix(grp.tenant)
		for _, i := range grp.subjects {
			args = plans[i].appendArgs(args, subjects[i])
		}
		return m.groupKeys(grp, plans), args
	})
	if err != nil {
		return nil, trips, err
	}
	for g, cmd := range cmds {
		if vals, _ := cmd.Slice(); len(vals) == 1 && vals[0] == "reload" {
			reload = append(reload, groups[g].tenant)
		}
	}
	if len(reload) > 0 {
		return reload, trips, nil
	}
	for g, cmd := range cmds {
		if err := m.parse(cmd, groups[g].subjects, plans, subjects, out); err != nil {
			return nil, trips, fmt.Errorf("answered: %w", err)
		}
	}
	return nil, trips, nil
}

// groupKeys returns the keys of a group's subjects, after its tenant's
// loaded marker.
func (m *Map) groupKeys(grp group, plans []planned) []string {
	n := 1
	for _, i := range grp.subjects {
		n += plans[i].n
	}
	keys := make([]string, 1, n)
	keys[0] = m.sentinelKey(grp.tenant)
	for _, i := range grp.subjects {
		keys = append(keys, plans[i].keys()...)
	}
	return keys
}

// durable returns the id that every value binds durably ("d:<id>"), and
// whether there is one.
func durable(vals []any) (string, bool) {
	var id string
	for j, v := range vals {
		s, ok := v.(string)
		if !ok || !strings.HasPrefix(s, "d:") || (j > 0 && s[2:] != id) {
			return "", false
		}
		id = s[2:]
	}
	return id, id != ""
}

// group is subjects of one tenant, resolved by one script call.
type group struct {
	tenant   string
	subjects []int // indexes, in order
}

// group splits subjects by tenant, keeping their order, in groups of at
// most maxGroup.
func (m *Map) group(subjects []Subject) []group {
	var out []group
	open := map[string]int{} // tenant → its group being filled
	for i, s := range subjects {
		g, ok := open[s.Tenant]
		if !ok || len(out[g].subjects) == maxGroup {
			out = append(out, group{tenant: s.Tenant})
			g = len(out) - 1
			open[s.Tenant] = g
		}
		out[g].subjects = append(out[g].subjects, i)
	}
	return out
}

// reload answers the tenants whose loaded marker the resolve script
// found missing or stale, and reports whether it rebuilt the map from the
// topic. It asks the tenant set first (one slot, apart from the
// tenants'): when the set is gone, Redis lost the map (a flush, or the
// set's node lost its data), and when another node made it, the node was
// promoted since (a failover); the map is rebuilt from the topic either
// way. Else a tenant new to the set was never loaded, so nothing of its
// can be in the topic: it is marked loaded now, and nothing is rebuilt.
// A tenant of the set without its marker was loaded before and lost its
// map (its node of a Redis Cluster lost its data), and a tenant whose
// marker holds another node's replication id may have lost writes in a
// failover: the map is rebuilt from the topic for them.
func (m *Map) reload(ctx context.Context, tenants []string) (rebuilt bool, trips int, err error) {
	st, trips, err := m.check(ctx, tenants)
	if err != nil {
		return false, trips, err
	}
	switch {
	case st.set == setGone:
		m.log.Warn("identity: the map is gone from Redis (flushed?); rebuilding it from the topic before going on",
			zap.String("topic", m.topic), zap.Int("tenants", len(tenants)))
	case len(st.lost) > 0:
		m.log.Warn("identity: the map of tenants loaded before is gone from Redis (a node lost its data?); rebuilding it from the topic before going on",
			zap.String("topic", m.topic), zap.Strings("tenants", st.lost))
	case st.set == setMoved || len(st.stale) > 0:
		m.log.Warn("identity: Redis has a new master since the map was loaded (a failover, which may have lost its last writes); rebuilding the map from the topic before going on",
			zap.String("topic", m.topic), zap.Int("tenants", len(tenants)))
	default:
		return false, trips, nil
	}
	m.ready.Store(false)
	if err := m.rebuildOnce(ctx, tenants); err != nil {
		return false, trips, err
	}
	return true, trips, nil
}

// The states of the tenant set, as joinScript answers.
const (
	setOK    = "ok"
	setGone  = "gone"
	setMoved = "moved"
)

// loadState is what Redis says of the maps of some tenants (see check).
type loadState struct {
	// set is the tenant set's state: setOK, setGone or setMoved. Unless
	// it is setOK, nothing is said of the tenants.
	set string
	// stale are the tenants whose marker holds another node's
	// replication id.
	stale []string
	// lost are the tenants of the set without a marker.
	lost []string
}

// markGrace is how long check looks again at the markers of tenants of
// the set without one, before it takes them for lost.
const markGrace = time.Second

// check asks Redis about tenants: the tenant set, then their markers. A
// tenant new to the set joins it and is marked loaded (nx); the markers of
// the others are only read. A tenant of the set without a marker may be
// one another instance has just added and is about to mark (as when
// several instances meet a new tenant at once), so its marker is looked
// at again for up to markGrace before the tenant is taken for lost: this
// spares a rebuild, and a tenant lost indeed is rebuilt all the same.
func (m *Map) check(ctx context.Context, tenants []string) (st loadState, trips int, err error) {
	state, joined, _, trips, err := m.joinSet(ctx, tenants, joinAdd)
	st.set = state
	if err != nil || state != setOK {
		return st, trips, err
	}
	modes := make([]string, len(tenants))
	for i := range tenants {
		modes[i] = markCheck
		if joined[i] {
			modes[i] = markNX
		}
	}
	missing := tenants
	deadline := time.Now().Add(markGrace)
	for wait := 20 * time.Millisecond; ; wait *= 2 {
		marks, t, err := m.markAll(ctx, missing, modes)
		trips += t
		if err != nil {
			return st, trips, err
		}
		var still []string
		for i, v := range marks {
			switch v {
			case 0:
				st.stale = append(st.stale, missing[i])
			case -1:
				still = append(still, missing[i])
			}
		}
		missing, modes = still, slices.Repeat([]string{markCheck}, len(still))
		if len(missing) == 0 || len(st.stale) > 0 || !time.Now().Before(deadline) {
			break
		}
		timer := time.NewTimer(min(wait, time.Until(deadline)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return st, trips, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		case <-timer.C:
		}
	}
	st.lost = missing
	return st, trips, nil
}

// The modes of joinScript.
const (
	joinAdd    = ""
	joinList   = "list"
	joinCreate = "create"
)

// joinSet runs joinScript in mode (see there) and returns the set's state,
// whether each tenant joined it now, every tenant of the set (joinList
// and joinCreate) and the round trips taken.
func (m *Map) joinSet(ctx context.Context, tenants []string, mode string) (state string, joined []bool, all []string, trips int, err error) {
	args := make([]any, 0, 1+len(tenants))
	args = append(args, mode)
	for _, t := range tenants {
		args = append(args, t)
	}
	cmds, trips, err := m.evalAll(ctx, nil, m.join, 1, func(int) ([]string, []any) {
		return []string{m.tenantSet()}, args
	})
	if err != nil {
		return "", nil, nil, trips, fmt.Errorf("%w: the tenant set: %w", ErrUnavailable, err)
	}
	vals, err := cmds[0].StringSlice()
	if err == nil && (len(vals) == 0 || vals[0] == setOK && (len(vals) < 2 || len(vals[1]) != len(tenants))) {
		err = fmt.Errorf("answered %q", vals)
	}
	if err != nil {
		return "", nil, nil, trips, fmt.Errorf("%w: the tenant set: %w", ErrUnavailable, err)
	}
	if vals[0] != setOK {
		return vals[0], nil, nil, trips, nil
	}
	joined = make([]bool, len(tenants))
	for i := range tenants {
		joined[i] = vals[1][i] == '1'
	}
	return setOK, joined, vals[2:], trips, nil
}

// markAll marks the tenants' maps loaded with markScript, one call per
// tenant in one pipeline, tenant i in modes[i], and returns what each
// call answered and the round trips taken.
func (m *Map) markAll(ctx context.Context, tenants, modes []string) ([]int64, int, error) {
	cmds, trips, err := m.evalAll(ctx, nil, m.mark, len(tenants), func(i int) ([]string, []any) {
		return []string{m.sentinelKey(tenants[i])}, []any{modes[i]}
	})
	if err != nil {
		return nil, trips, fmt.Errorf("%w: marking the map loaded: %w", ErrUnavailable, err)
	}
	out := make([]int64, len(cmds))
	for i, c := range cmds {
		if out[i], err = c.Int64(); err != nil {
			return nil, trips, fmt.Errorf("%w: marking the map loaded: %w", ErrUnavailable, err)
		}
	}
	return out, trips, nil
}

// loadScripts loads the scripts into Redis (every node of a cluster), so
// the first pipelines do not meet NOSCRIPT.
func (m *Map) loadScripts(ctx context.Context) error {
	for _, s := range []*redis.Script{m.resolve, m.confirm, m.add, m.mark, m.join} {
		m.roundTrips.Add(1)
		if err := s.Load(ctx, m.rc).Err(); err != nil {
			return fmt.Errorf("%w: loading scripts: %w", ErrUnavailable, err)
		}
	}
	return nil
}

// parse reads the answer of one group's script call into the
// resolutions of its subjects.
func (m *Map) parse(cmd *redis.Cmd, idx []int, plans []planned, subjects []Subject, out []Resolution) error {
	vals, err := cmd.Slice()
	if err != nil {
		return err
	}
	strs := make([]string, len(vals))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("value %d is %T", i, v)
		}
		strs[i] = s
	}
	if len(strs) != 5*len(idx) {
		return fmt.Errorf("%d values for %d subjects", len(strs), len(idx))
	}
	for k, i := range idx {
		a := strs[5*k : 5*k+5]
		r := Resolution{ID: a[0], Conflict: a[2] == "1"}
		switch a[1] {
		case "known":
			r.Outcome = Known
		case "matched":
			r.Outcome = Matched
		case "new":
			r.Outcome = Minted
		default:
			return fmt.Errorf("outcome %q", a[1])
		}
		flags := a[3]
		p := &plans[i]
		if len(flags) != p.n {
			return fmt.Errorf("%d pending flags for %d bindings", len(flags), p.n)
		}
		if n := strings.Count(flags, "1"); n > 0 {
			r.Pending = make([]Binding, 0, n)
		}
		for j := range p.n {
			if flags[j] == '1' {
				b := p.binding(j, subjects[i])
				b.ID = r.ID
				r.Pending = append(r.Pending, b)
			}
		}
		if !subjects[i].Ref {
			members, err := parseList(a[4])
			if err != nil {
				return fmt.Errorf("the id list of %s: %w", r.ID, err)
			}
			r.ExternalIDs = externalIDs(members)
		}
		out[i] = r
	}
	return nil
}

// externalIDs turns the members of a canonical id's list into its
// external ids, sorted by system, integration and id.
func externalIDs(members []string) []canonical.ExternalID {
	out := make([]canonical.ExternalID, 0, len(members))
	integs := make([]string, len(members)) // what the Integration fields point to: one allocation
	for k, mem := range members {
		sys, integ, ext, ok := parseMember(mem)
		if !ok {
			continue
		}
		e := canonical.ExternalID{System: sys, ID: ext}
		if integ != "" {
			integs[k] = integ
			e.Integration = &integs[k]
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b canonical.ExternalID) int {
		if c := strings.Compare(a.System, b.System); c != 0 {
			return c
		}
		if c := strings.Compare(deref(a.Integration), deref(b.Integration)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Confirm marks bindings durable after the transaction that wrote them to
// the identity topic committed, in one pipeline, and returns the round
// trips it took. A binding left pending costs only its being written to
// the topic again by the next batch that uses it.
func (m *Map) Confirm(ctx context.Context, bindings []Binding) (int, error) {
	if len(bindings) == 0 {
		return 0, nil
	}
	defer func(began time.Time) {
		m.metrics.seconds.WithLabelValues("confirm").Observe(time.Since(began).Seconds())
	}(time.Now())
	byTenant := map[string][]Binding{}
	var tenants []string
	for _, b := range bindings {
		if _, ok := byTenant[b.Tenant]; !ok {
			tenants = append(tenants, b.Tenant)
		}
		byTenant[b.Tenant] = append(byTenant[b.Tenant], b)
	}
	cmds, trips, err := m.evalAll(ctx, nil, m.confirm, len(tenants), func(g int) ([]string, []any) {
		bs := byTenant[tenants[g]]
		keys := make([]string, 0, 2*len(bs))
		args := make([]any, 0, 2*len(bs))
		listKeyPrefix := m.listKeyPrefix(tenants[g])
		for _, b := range bs {
			mem := ""
			if b.Kind == KindExternal {
				mem = member(b.System, b.Integration, b.ExternalID)
			}
			keys = append(keys, m.bindingKey(b), listKeyPrefix+b.ID)
			args = append(args, b.ID, mem)
		}
		return keys, args
	})
	if err != nil {
		m.metrics.errors.WithLabelValues("confirm").Inc()
		return trips, fmt.Errorf("%w: confirm: %w", ErrUnavailable, err)
	}
	// The bindings Redis now holds durable are remembered, so the next
	// events of these objects resolve without reading them.
	for g, cmd := range cmds {
		durable, _ := cmd.Text()
		for i, b := range byTenant[tenants[g]] {
			if i < len(durable) && durable[i] == '1' {
				m.cache.add(b.ID, m.bindingKey(b))
			}
		}
	}
	return trips, nil
}

// evalAll is redisconn.EvalAll on the map's client, counting its round
// trips.
func (m *Map) evalAll(ctx context.Context, pipe redis.Pipeliner, script *redis.Script, n int, arg func(i int) ([]string, []any)) ([]*redis.Cmd, int, error) {
	cmds, trips, err := redisconn.EvalAll(ctx, m.rc, pipe, script, n, arg)
	m.roundTrips.Add(int64(trips))
	return cmds, trips, err
}
