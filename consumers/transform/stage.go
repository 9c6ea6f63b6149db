package transform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/transform/mapping"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// Identities gives objects their canonical ids: *identity.Map.
type Identities interface {
	// Resolve gives each subject its canonical id, in at most two round
	// trips.
	Resolve(ctx context.Context, subjects []identity.Subject) (identity.Result, error)
	// Confirm marks bindings durable once they committed to the topic.
	Confirm(ctx context.Context, bindings []identity.Binding) (int, error)
	// Topic is the identity topic the bindings are written to.
	Topic() string
}

// Stage is the transform stage's handler: source events in, canonical
// events out. Run it with a stage.Runner (see Runner). It is safe for
// concurrent use.
type Stage struct {
	cfg     options
	tenants map[string]*config.Tenant // the catalog's, by id
	serde   *avro.Serde
	ids     Identities
	log     *zap.Logger
	metrics *metrics

	byTopic map[string]*integration // by input topic
	inputs  []string
	outputs []kafka.TopicSpec
}

// integration is what the stage knows of one catalog integration.
type integration struct {
	id      string
	source  string
	lane    string
	topic   string
	mapping *mapping.Mapping
	// idHeader and laneHeader are id and lane as header values.
	idHeader, laneHeader []byte
	// objects are the outputs of the object types of its mapping, by
	// type.
	objects map[string]*objectOutput
}

// objectOutput is where and as what the canonical events of one object
// type of an integration are written, worked out once in New rather than
// for every event.
type objectOutput struct {
	topic   string
	subject string // of the type's canonical event record in topic
	// eventTypes are "<object>.<action>" by action, as strings and as
	// header values.
	eventTypes map[string]eventType
}

// eventType is a canonical event type, as a string and a header value.
type eventType struct {
	name   string
	header []byte
}

// newObjectOutput returns the output of object type typ to topic, whose
// canonical event record is record.
func newObjectOutput(topic, typ, record string) *objectOutput {
	out := &objectOutput{topic: topic, subject: avro.Subject(topic, record), eventTypes: map[string]eventType{}}
	for _, a := range []string{mapping.ActionCreated, mapping.ActionUpdated, mapping.ActionDeleted} {
		name := typ + "." + a
		out.eventTypes[a] = eventType{name: name, header: []byte(name)}
	}
	return out
}

// New returns the transform stage of the catalog's enabled integrations.
// Each integration's mapping is its own (Integration.Mapping, a path
// relative to the catalog) or its source connector's (Connector); each is
// compiled against the contracts in schemas now, so a mapping that does
// not fit them fails here, naming its file, line and path. serde decodes
// the source events and encodes the canonical ones; ids stitches
// identities.
func New(cat *config.Catalog, schemas *avro.Schemas, serde *avro.Serde, ids Identities, opts ...Opt) (*Stage, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cat == nil || schemas == nil || serde == nil || ids == nil:
		return nil, fmt.Errorf("%w: New needs a catalog, the schemas, a serde and an identity map", ErrConfig)
	case cfg.name == "" || cfg.partitions <= 0:
		return nil, fmt.Errorf("%w: a name and positive partitions are required", ErrConfig)
	}
	if _, err := kafka.ParseNamespace(string(cfg.namespace)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.topic == nil {
		ns := cfg.namespace
		cfg.topic = func(object, lane string) string { return ns.Name(kafka.CanonicalLaneTopic(object, lane)) }
	}
	if cfg.log == nil {
		cfg.log = zap.NewNop()
	}
	m, err := newMetrics(cfg.reg)
	if err != nil {
		return nil, err
	}
	s := &Stage{cfg: cfg, tenants: map[string]*config.Tenant{}, serde: serde, ids: ids, log: cfg.log, metrics: m, byTopic: map[string]*integration{}}
	for i := range cat.Tenants {
		s.tenants[cat.Tenants[i].ID] = &cat.Tenants[i]
	}
	norm := identity.NewNormalizer(false, nil, nil)
	if n, ok := ids.(interface{ Normalizer() *identity.Normalizer }); ok {
		norm = n.Normalizer()
	}
	compiled := map[string]*mapping.Mapping{} // by file, so integrations share one
	outputs := map[string]bool{}
	var errs []error
	for i := range cat.Integrations {
		in := &cat.Integrations[i]
		if !in.IsEnabled() {
			continue
		}
		file, data, err := s.mappingOf(cat, in)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		mp, ok := compiled[file]
		if !ok {
			mp, err = mapping.Compile(file, data, schemas, mapping.Normalizer(norm))
			if err != nil {
				errs = append(errs, fmt.Errorf("integration %s: %w", in.ID, err))
				continue
			}
			compiled[file] = mp
		}
		if mp.Source() != in.Source {
			errs = append(errs, fmt.Errorf("%w: integration %s is of source %s, its mapping %s is for %s", ErrConfig, in.ID, in.Source, file, mp.Source()))
			continue
		}
		if strings.ContainsAny(in.Source, "|{}") {
			errs = append(errs, fmt.Errorf("%w: integration %s: a source name holds no '|', '{' or '}'", ErrConfig, in.ID))
			continue
		}
		lane := in.Lane
		if lane == "" {
			lane = config.LaneInteractive
		}
		ig := &integration{
			id: in.ID, source: in.Source, lane: lane, topic: cfg.namespace.Name(kafka.InTopic(in.ID)), mapping: mp,
			idHeader: []byte(in.ID), laneHeader: []byte(lane), objects: map[string]*objectOutput{},
		}
		s.byTopic[ig.topic] = ig
		s.inputs = append(s.inputs, ig.topic)
		parts := in.Partitions
		if parts == 0 {
			parts = 6
		}
		s.outputs = append(s.outputs, kafka.TopicSpec{Name: ig.topic, Partitions: parts})
		for _, obj := range mp.Objects() {
			t := cfg.topic(obj, lane)
			record, ok := mapping.EventRecord(obj)
			if !ok { // a compiled mapping holds canonical types only
				errs = append(errs, fmt.Errorf("%w: integration %s: %s is not a canonical object type", ErrConfig, in.ID, obj))
				continue
			}
			ig.objects[obj] = newObjectOutput(t, obj, record)
			if !outputs[t] {
				outputs[t] = true
				s.outputs = append(s.outputs, kafka.TopicSpec{Name: t, Partitions: cfg.partitions})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(s.inputs) == 0 {
		return nil, fmt.Errorf("%w: the catalog has no enabled integration", ErrConfig)
	}
	slices.Sort(s.inputs)
	return s, nil
}

// mappingOf returns the mapping of an integration: its own file, or its
// source connector's.
func (s *Stage) mappingOf(cat *config.Catalog, in *config.Integration) (string, []byte, error) {
	if in.Mapping != "" {
		p := in.Mapping
		if !filepath.IsAbs(p) && cat.Dir() != "" {
			p = filepath.Join(cat.Dir(), p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return "", nil, fmt.Errorf("%w: integration %s: mapping: %w", ErrConfig, in.ID, err)
		}
		return in.Mapping, data, nil
	}
	data, ok := s.cfg.connectors[in.Source]
	if !ok {
		known := make([]string, 0, len(s.cfg.connectors))
		for k := range s.cfg.connectors {
			known = append(known, k)
		}
		slices.Sort(known)
		return "", nil, fmt.Errorf("%w: integration %s: source %s has no connector mapping (known: %s); give the integration a mapping file",
			ErrConfig, in.ID, in.Source, strings.Join(known, ", "))
	}
	return "connectors/" + in.Source + "/mapping.yaml", data, nil
}

// Name returns the stage's name.
func (s *Stage) Name() string { return s.cfg.name }

// Inputs returns the topics the stage consumes: sluice.in.<integration>
// of every enabled integration, in the stage's namespace, sorted.
func (s *Stage) Inputs() []string { return slices.Clone(s.inputs) }

// Topics returns the topics the stage's runner makes sure exist: the
// input topics, with their integrations' partition counts, and the
// canonical topics the mappings write to.
func (s *Stage) Topics() []kafka.TopicSpec { return slices.Clone(s.outputs) }

// Runner returns the stage runner of s, consuming Inputs in the group
// "sluice-<name>" with dedupe (dd's middleware, keyed by tenant, stage and
// source event id) in front of the handler. opts come after the stage's
// own and win; middleware they add (stage.Use) sits outside dedupe. kc's
// namespace must be the stage's (Namespace).
func (s *Stage) Runner(kc kafka.Config, dd *dedupe.Store, opts ...stage.Opt) (*stage.Runner, error) {
	if dd == nil {
		return nil, fmt.Errorf("%w: the stage needs its dedupe store", ErrConfig)
	}
	if kc.Namespace != s.cfg.namespace {
		return nil, fmt.Errorf("%w: the stage's topics are in namespace %q, the cluster config is in %q", ErrConfig, s.cfg.namespace, kc.Namespace)
	}
	base := []stage.Opt{
		stage.Consume(s.inputs...),
		stage.EnsureTopics(s.outputs...),
		stage.Logger(s.log),
	}
	if s.cfg.reg != nil {
		base = append(base, stage.Registerer(s.cfg.reg))
	}
	all := append(append(base, opts...), stage.Use(s.observe(), dd.Middleware()))
	return stage.New(s.cfg.name, kc, s, all...)
}

// item is one record of a batch on its way through Handle.
type item struct {
	r       *stage.Record
	ig      *integration
	tenant  *config.Tenant
	env     canonical.Envelope
	objects []mapping.Object
	first   int // index of its first subject
	outs    []*kgo.Record
	pending []identity.Binding
	stats   []stitch
	// out and stat back outs and stats for an item of one object.
	out  [1]*kgo.Record
	stat [1]stitch
	// err is why its canonical events could not be built (classified).
	err error
}

// stitch is what identity stitching did for one object, for the metrics.
type stitch struct {
	object  string
	outcome string
}

// work is the decoding, mapping, identity resolution and building of a
// batch's canonical events, begun in the background before dedupe claims
// the records (see Prepare) or by Handle. Records that dedupe then drops
// were worked on for nothing, which changes nothing: an id is the same
// whoever resolves it, and building emits nothing.
type work struct {
	index    map[*stage.Record]int
	prepared []*item
	errs     []error
	done     chan struct{} // closed when every chunk is built

	mu sync.Mutex
	// failed is an unclassified error of decoding or building (the
	// registry is down), resErr one of identity resolution: the batch's.
	failed, resErr error
	trips          int
}

// fail keeps with in *err (w.failed or w.resErr) unless it holds an
// error already.
func (w *work) fail(err *error, with error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if *err == nil {
		*err = with
	}
}

// chunkSize is how many records of a batch go through decoding and
// identity resolution together. A batch goes through in chunks, as a
// pipeline: while the ids of one chunk are resolved in Redis, the next
// chunk is decoded and mapped and the one before is built, so the stage
// does not sit idle through the round trips. Each chunk costs its own two
// round trips, or one when the identity map remembers its objects'
// bindings.
const chunkSize = 256

// begin starts working on recs in the background, chunk after chunk:
// decoding and mapping a chunk spread over the cores, then resolving its
// identities (one chunk at a time, in batch order, as one Resolve of the
// whole batch would), then building its canonical events; w.done closes
// when all is done.
func (s *Stage) begin(ctx context.Context, recs []*stage.Record) *work {
	w := &work{
		index:    make(map[*stage.Record]int, len(recs)),
		prepared: make([]*item, len(recs)),
		errs:     make([]error, len(recs)),
		done:     make(chan struct{}),
	}
	for i, r := range recs {
		w.index[r] = i
	}
	go func() {
		defer close(w.done)
		var chunks sync.WaitGroup
		defer chunks.Wait()
		var prev chan struct{} // closed when the chunk before is resolved
		for lo := 0; lo < len(recs); lo += chunkSize {
			hi := min(lo+chunkSize, len(recs))
			parallel(hi-lo, func(i int) {
				r := recs[lo+i]
				w.errs[lo+i] = s.safely(r, func() (err error) {
					w.prepared[lo+i], err = s.prepare(ctx, r)
					return err
				})
			})
			var items []*item
			var subjects []identity.Subject
			for i := lo; i < hi; i++ {
				if err := w.errs[i]; err != nil {
					if !isClassified(err) {
						w.fail(&w.failed, err)
						return // the batch comes again
					}
					continue
				}
				if it := w.prepared[i]; len(it.objects) > 0 {
					it.first = len(subjects)
					subjects = append(subjects, s.subjects(it)...)
					items = append(items, it)
				}
			}
			if len(items) == 0 {
				continue
			}
			after, resolved := prev, make(chan struct{})
			prev = resolved
			chunks.Add(1)
			go func() {
				defer chunks.Done()
				if after != nil {
					<-after
				}
				w.mu.Lock()
				failed := w.resErr != nil || w.failed != nil
				w.mu.Unlock()
				if failed {
					close(resolved) // the batch comes again; no need to resolve the rest
					return
				}
				res, err := s.resolve(ctx, subjects)
				close(resolved)
				w.mu.Lock()
				w.trips += res.RoundTrips
				w.mu.Unlock()
				if err != nil {
					w.fail(&w.resErr, err)
					return
				}
				s.buildAll(ctx, w, items, res.Resolutions)
			}()
		}
	}()
	return w
}

// Prepare starts working on the batch in the background (see work), as
// the runner calls it (stage.Preparer): when the batch is polled, before
// dedupe claims its records, so that the claims' round trip to Redis
// overlaps that work; and, for a batch polled ahead, while the
// transaction before ends and its commit hooks run.
func (s *Stage) Prepare(ctx context.Context, b *stage.Batch) any {
	return s.begin(ctx, b.Records)
}

// Handle maps a batch of source events to canonical events: decode,
// map, stitch identities (one or two Redis round trips for each chunk of
// the batch), encode, and emit the canonical events with the identity
// bindings they rely on, in the batch's transaction.
func (s *Stage) Handle(ctx context.Context, b *stage.Batch) error {
	st := statsFrom(ctx)
	w, ok := b.Prepared().(*work)
	if !ok {
		w = s.begin(ctx, b.Records)
	}
	<-w.done
	if st != nil {
		st.trips.Add(int64(w.trips))
	}
	if w.failed != nil {
		return w.failed // a dependency is down: the batch comes again
	}
	items := make([]*item, 0, len(b.Records))
	for _, r := range b.Records {
		i, ok := w.index[r]
		if !ok {
			return fmt.Errorf("transform: a record of the batch was not prepared")
		}
		if it := w.prepared[i]; w.errs[i] == nil && len(it.objects) > 0 {
			items = append(items, it)
		}
	}
	if len(items) > 0 && w.resErr != nil {
		if errors.Is(w.resErr, identity.ErrSubject) {
			// Cannot happen with a compiled mapping; never hold the
			// partition up for it.
			return stage.Permanent(w.resErr)
		}
		return w.resErr
	}
	// Only now that the batch will not come again are records decided.
	for _, r := range b.Records {
		i := w.index[r]
		it, err := w.prepared[i], w.errs[i]
		switch {
		case err != nil:
			if errors.Is(err, mapping.ErrMapping) {
				s.metrics.mappingErrors.WithLabelValues(r.Tenant, s.integrationOf(r)).Inc()
			}
			r.Fail(err)
		case len(it.objects) == 0:
			r.Skip("unmapped")
		case it.err != nil:
			r.Fail(it.err)
		}
	}
	if len(items) > 0 {
		s.emit(b, items)
	}
	return nil
}

// buildAll builds the canonical events of items, spread over the cores;
// an item whose events could not be built holds the error (classified)
// in err. An unclassified error (the registry is down) is the batch's.
func (s *Stage) buildAll(ctx context.Context, w *work, items []*item, resolutions []identity.Resolution) {
	errs := make([]error, len(items))
	parallel(len(items), func(i int) {
		errs[i] = s.safely(items[i].r, func() error { return s.build(ctx, items[i], resolutions) })
	})
	for i, it := range items {
		if err := errs[i]; err != nil {
			if !isClassified(err) {
				w.fail(&w.failed, err)
				continue
			}
			it.err = err
		}
	}
}

// emit emits the items' canonical events in record order, each identity
// binding once (it commits with the first event that relies on it), and
// counts the events and confirms the bindings once the batch committed
// (the confirm beside the next batch, as no batch waits for it).
func (s *Stage) emit(b *stage.Batch, items []*item) {
	emitted := map[string]bool{}
	var confirm []identity.Binding
	for _, it := range items {
		if it.err != nil {
			continue
		}
		for _, bd := range it.pending {
			k := bd.Key()
			if emitted[k] {
				continue
			}
			emitted[k] = true
			it.r.Emit(bd.Record(s.ids.Topic()))
			confirm = append(confirm, bd)
		}
		for _, out := range it.outs {
			it.r.Emit(out)
		}
	}
	if len(confirm) > 0 {
		// No later batch waits for this: one that meets a binding still
		// pending writes it to the topic again, which is harmless.
		b.AfterCommitAsync(func(ctx context.Context) {
			if _, err := s.ids.Confirm(ctx, confirm); err != nil {
				s.log.Warn("transform: identity bindings not confirmed; the next event using them writes them again", zap.Int("bindings", len(confirm)), zap.Error(err))
			}
		})
	}
	b.AfterCommit(func(context.Context) {
		// Counted by label values first: a batch holds few of them.
		mapped := map[[3]string]int{}   // tenant, integration, object
		stitched := map[[4]string]int{} // and outcome
		for _, it := range items {
			if it.r.Outcome() != stage.OutcomeDone {
				continue
			}
			for _, o := range it.objects {
				mapped[[3]string{it.r.Tenant, it.ig.id, o.Type}]++
			}
			for _, sc := range it.stats {
				stitched[[4]string{it.r.Tenant, it.ig.id, sc.object, sc.outcome}]++
			}
		}
		for l, n := range mapped {
			s.metrics.mapped.WithLabelValues(l[:]...).Add(float64(n))
		}
		for l, n := range stitched {
			s.metrics.stitched.WithLabelValues(l[:]...).Add(float64(n))
		}
	})
}

// safely calls f, the work on record r, and turns a panic in it into r's
// error, poison: the work runs in goroutines of the stage's own, where the
// runner cannot recover a panic to find the record that caused it, and
// one unrecovered would stop the process, and again after each restart.
func (s *Stage) safely(r *stage.Record, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = stage.Poison(stage.PanicError(v))
			s.log.Error("transform: panicked on a record; it is poison", zap.String(telemetry.FieldTenant, r.Tenant),
				zap.String(telemetry.FieldTopic, r.Source.Topic), zap.Int32(telemetry.FieldPartition, r.Source.Partition),
				zap.Int64(telemetry.FieldOffset, r.Source.Offset), zap.Error(err), zap.ByteString("stack", debug.Stack()))
		}
	}()
	return f()
}

// resolve resolves subjects, and turns a panic in it into an error of the
// batch, which comes again after a backoff: unrecovered in the goroutine
// that resolves, it would stop the process.
func (s *Stage) resolve(ctx context.Context, subjects []identity.Subject) (res identity.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("transform: identity resolution: %w", stage.PanicError(v))
			s.log.Error("transform: identity resolution panicked; the batch comes again after a backoff",
				zap.Int("subjects", len(subjects)), zap.Error(err), zap.ByteString("stack", debug.Stack()))
		}
	}()
	return s.ids.Resolve(ctx, subjects)
}

// parallel calls f(0) to f(n-1), spread over the available cores in
// contiguous chunks; it returns when every call has.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/minChunk)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for start := 0; start < n; start += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				f(i)
			}
		}(start, min(start+chunk, n))
	}
	wg.Wait()
}

// minChunk is the fewest records worth a goroutine of their own.
const minChunk = 64

// isClassified reports whether err carries a stage class.
func isClassified(err error) bool {
	var e *stage.Error
	return errors.As(err, &e)
}

// prepare decodes and maps one record. An unclassified error is the
// batch's (the registry is down).
func (s *Stage) prepare(ctx context.Context, r *stage.Record) (*item, error) {
	ig, ok := s.byTopic[r.Source.Topic]
	if !ok {
		return nil, stage.Permanent(fmt.Errorf("%w: %s", ErrNoIntegration, r.Source.Topic))
	}
	t, ok := s.tenants[r.Tenant]
	if !ok {
		return nil, stage.Permanent(fmt.Errorf("%w: %s", ErrUnknownTenant, r.Tenant))
	}
	// Slots: the mapping reads each field it maps by its position.
	record, native, err := s.serde.DecodeRecord(ctx, r.Raw.Value)
	if err != nil {
		return nil, classifyDecode(err)
	}
	env, err := avro.EnvelopeOf(native)
	if err != nil {
		return nil, stage.Poison(fmt.Errorf("%w: %w", ErrDecode, err))
	}
	if env.TenantID != r.Tenant {
		return nil, stage.Poison(ErrTenantMismatch)
	}
	objs, err := ig.mapping.Apply(record, native)
	if err != nil {
		return nil, stage.Permanent(err)
	}
	return &item{r: r, ig: ig, tenant: t, env: env, objects: objs}, nil
}

// integrationOf names the integration a record came through, for
// metrics.
func (s *Stage) integrationOf(r *stage.Record) string {
	if ig, ok := s.byTopic[r.Source.Topic]; ok {
		return ig.id
	}
	return "unknown"
}

// classifyDecode sorts decoding failures: the registry unreachable is the
// batch's problem (unclassified); a schema id the registry does not know
// may become known (retryable); a writer that cannot be read as the local
// contract will not change (permanent); anything else is not a source
// event at all (poison).
func classifyDecode(err error) error {
	switch {
	case errors.Is(err, avro.ErrRegistry):
		return fmt.Errorf("%w: %w", ErrDecode, err)
	case errors.Is(err, avro.ErrUnknownSchemaID):
		return stage.Retryable(fmt.Errorf("%w: %w", ErrDecode, err))
	case errors.Is(err, avro.ErrIncompatible):
		return stage.Permanent(fmt.Errorf("%w: %w", ErrDecode, err))
	}
	return stage.Poison(fmt.Errorf("%w: %w", ErrDecode, err))
}

// subjects lists what identity stitching must resolve for an item: each
// object, then each reference by external id.
func (s *Stage) subjects(it *item) []identity.Subject {
	var out []identity.Subject
	for _, o := range it.objects {
		out = append(out, identity.Subject{
			Tenant: it.r.Tenant, Object: o.Type,
			System: it.ig.source, Integration: it.ig.id, ExternalID: o.ExternalID,
			Email: o.Email, Domains: o.Domains,
		})
	}
	for _, o := range it.objects {
		for _, ref := range o.Refs {
			if ref.Sibling != "" {
				continue
			}
			out = append(out, identity.Subject{
				Tenant: it.r.Tenant, Object: ref.Type,
				System: it.ig.source, Integration: it.ig.id, ExternalID: ref.ExternalID,
				Ref: true,
			})
		}
	}
	return out
}
