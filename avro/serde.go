package avro

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"sync"
	"time"

	havro "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// newAPI returns the hamba API every encode and decode of this package
// goes through: its own codec cache, never hamba's process-wide default.
// Struct fields are matched by their avro tag; a union branch of a
// primitive type decodes bare and any other branch as {name: value}
// (hamba's partial union resolution), which is the native form the
// Validator produces. An array may hold maxBytes items: hamba allocates an
// array's items before reading them, so an unbounded count in a hostile
// body would allocate without bound (every item but a null takes a byte
// of the body, and a body of more than maxBytes is beyond Kafka's default
// largest message).
func newAPI() havro.API {
	return havro.Config{
		TagKey:                     "avro",
		PartialUnionTypeResolution: true,
		MaxSliceAllocSize:          maxBytes,
	}.Freeze()
}

// SerdeOpt configures a Serde.
type SerdeOpt func(*serdeConfig)

type serdeConfig struct {
	log          *zap.Logger
	autoRegister bool
	unknownTTL   time.Duration
}

// Logger sets the logger. Default zap.NewNop().
func Logger(l *zap.Logger) SerdeOpt {
	return func(c *serdeConfig) { c.log = l }
}

// AutoRegister says whether Encode registers a subject's schema (true,
// the default, as sluice dev and tests want) or only looks it up and fails
// with ErrNotRegistered when it is missing (for registries managed with
// `sluice schema register`).
func AutoRegister(on bool) SerdeOpt {
	return func(c *serdeConfig) { c.autoRegister = on }
}

// UnknownIDTTL sets how long a schema id that the registry did not know is
// remembered as unknown, so that a stream of records with a bad id does
// not cost one registry call each. Default 30s.
func UnknownIDTTL(d time.Duration) SerdeOpt {
	return func(c *serdeConfig) { c.unknownTTL = d }
}

// Serde encodes and decodes sluice's events in the Confluent wire format
// (magic byte 0, big-endian four-byte schema id, Avro binary body),
// against a schema registry. It is safe for concurrent use.
//
// Encoding writes with the local contract of the subject's record: the
// first Encode of a subject registers (or looks up) the schema once and
// caches its id; every later record costs no registry call.
//
// Decoding reads the schema id of the record; the first record of an id
// fetches the writer schema once (GET /schemas/ids/{id}, following schema
// references), and the decoder is kept in an sr.Serde, whose lookup by id
// is lock-free. When a local contract of the same record name exists, the
// writer schema is resolved to it, so a consumer always sees the shape it
// was built with: fields a newer writer added are skipped, fields an older
// writer lacked take their defaults. A new writer version is therefore
// picked up on its first record, without a restart. A record holding a
// value the local contract has no place for (an enum symbol it lacks and
// has no default for, a union branch it lacks) fails alone, with
// ErrIncompatible.
type Serde struct {
	cl      *sr.Client
	schemas *Schemas
	cfg     serdeConfig
	api     havro.API

	// dec maps schema ids to their decoders (copy-on-write, lock-free
	// reads).
	dec *sr.Serde
	// subjects maps subjects to their *encoding.
	subjects sync.Map
	// decodings maps schema ids to their *decoding.
	decodings sync.Map
	group     singleflight.Group

	mu      sync.Mutex
	unknown map[int]time.Time // ids the registry did not know, until when

	writers sync.Pool // *havro.Writer
	readers sync.Pool // *havro.Reader
	scratch sync.Pool // *[]byte, native encodings
}

// encoding is what Encode needs of a subject.
type encoding struct {
	id     int
	header []byte // Confluent header of id
	schema havro.Schema
	// native is the record compiled for encoding native values without
	// hamba (see appendRecord), or nil.
	native *vnode
}

// decoding is what Decode knows of a schema id.
type decoding struct {
	id     int
	record string // full name of the writer's record
	// reader is the schema of the bodies decoded: the writer's, or the
	// local reader's when resolved.
	reader havro.Schema
	err    error // set when the writer cannot be read locally
	// resolved is set when reader differs from the writer's schema.
	resolved bool
	// resolve transcodes a body of the writer's schema into one of
	// reader's (resolve.go); nil unless resolved.
	resolve *xnode
	// native decodes the record without hamba (decode.go); nil where
	// reader holds what the native decoder does not read.
	native *vnode
	// slots is the decoded value's schema compiled, to make Records of
	// what hamba decodes (see DecodeRecord); nil where it does not
	// compile.
	slots *vnode
	// render renders the record as JSON (render.go); nil where native
	// is, where resolved, or where the schema holds values it does not
	// render.
	render *renderPlan
	// check is reader compiled, to check a body before hamba decodes it
	// (see checkRecord); nil where it does not compile.
	check *vnode
	// skips maps the types of Decode's targets to whether hamba may skip
	// part of the reader decoding into one (see mayskip).
	skips sync.Map
}

// mayskip reports whether hamba may skip part of a body it decodes into v
// with d.reader, which then needs checking first (see check.go).
func (d *decoding) mayskip(v any) bool {
	switch v.(type) {
	case *map[string]any:
		return false
	case *any, nil:
		return true // decoded as the value it holds, if any
	}
	t := reflect.TypeOf(v)
	if known, ok := d.skips.Load(t); ok {
		return known.(bool)
	}
	skips := t.Kind() != reflect.Pointer || skipsInto(d.reader, t.Elem(), map[skipKey]bool{})
	d.skips.Store(t, skips)
	return skips
}

// NewSerde returns a Serde that talks to the registry through cl and
// encodes with the contracts in schemas.
func NewSerde(cl *sr.Client, schemas *Schemas, opts ...SerdeOpt) (*Serde, error) {
	if cl == nil {
		return nil, errors.New("avro: NewSerde needs a registry client")
	}
	if schemas == nil {
		return nil, errors.New("avro: NewSerde needs the schemas")
	}
	cfg := serdeConfig{log: zap.NewNop(), autoRegister: true, unknownTTL: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = zap.NewNop()
	}
	s := &Serde{
		cl:      cl,
		schemas: schemas,
		cfg:     cfg,
		api:     newAPI(),
		dec:     sr.NewSerde(sr.Header(&sr.ConfluentHeader{})),
		unknown: map[int]time.Time{},
	}
	s.writers.New = func() any { return havro.NewWriter(nil, 1024, havro.WithWriterConfig(s.api)) }
	s.readers.New = func() any { return havro.NewReader(nil, 0, havro.WithReaderConfig(s.api)) }
	s.scratch.New = func() any { b := make([]byte, 0, 1024); return &b }
	return s, nil
}

// Encode encodes v, a Go value shaped like the subject's record (a struct
// of package canonical, or any struct with matching avro tags), in the
// wire format. The subject follows the TopicRecordNameStrategy (see
// Subject); its record must be one of the local event contracts.
func (s *Serde) Encode(ctx context.Context, subject string, v any) ([]byte, error) {
	return s.AppendEncode(ctx, nil, subject, v)
}

// AppendEncode is Encode appending to b. A native value (a
// map[string]any or *Record, see EncodeNative) or an *Event is encoded
// too.
func (s *Serde) AppendEncode(ctx context.Context, b []byte, subject string, v any) ([]byte, error) {
	enc, err := s.encoding(ctx, subject)
	if err != nil {
		return b, err
	}
	switch v.(type) {
	case map[string]any, *Record, *Event:
		if enc.native == nil {
			break
		}
		if out, ok := s.appendNative(b, enc, v); ok {
			return out, nil
		}
	}
	// hamba knows the native values as maps.
	switch x := v.(type) {
	case *Event:
		v = x.native()
	case map[string]any, *Record:
		v = Plain(x)
	}
	w := s.writers.Get().(*havro.Writer)
	w.Reset(nil)
	_, _ = w.Write(enc.header)
	w.WriteVal(enc.schema, v)
	if err := w.Error; err != nil {
		w.Error = nil
		s.writers.Put(w)
		return b, fmt.Errorf("%w: %s: %v", ErrEncode, subject, err)
	}
	if b == nil {
		b = make([]byte, 0, len(w.Buffer()))
	}
	b = append(b, w.Buffer()...)
	if cap(w.Buffer()) <= 1<<20 { // do not keep huge buffers around
		s.writers.Put(w)
	}
	return b, nil
}

// EncodeNative encodes a native value (see Validator) of the subject's
// record: a map with "envelope" and "data", as NativeEvent builds it.
//
// The values the Validator and NativeEvent produce are written by an
// encoder of sluice's own, driven by the compiled schema, which writes the
// bytes hamba/avro would; any other value is encoded by hamba/avro.
func (s *Serde) EncodeNative(ctx context.Context, subject string, v map[string]any) ([]byte, error) {
	return s.AppendEncode(ctx, nil, subject, v)
}

// appendNative appends the wire format of native value m to b with the
// compiled record of enc; ok is false when m holds a value only hamba
// encodes (see appendRecord), and then b is returned unchanged.
func (s *Serde) appendNative(b []byte, enc *encoding, v any) ([]byte, bool) {
	bp := s.scratch.Get().(*[]byte)
	body, ok := appendNative((*bp)[:0], enc.native, v)
	if ok {
		if b == nil {
			b = make([]byte, 0, len(enc.header)+len(body))
		}
		b = append(append(b, enc.header...), body...)
	}
	if cap(body) <= 1<<20 { // do not keep huge buffers around
		*bp = body[:0]
		s.scratch.Put(bp)
	}
	return b, ok
}

// Decode decodes a wire-format value into v, a pointer to a Go value
// shaped like the record (a struct of package canonical, *map[string]any
// or *any). A body that is truncated, or malformed for its schema, is an
// ErrDecode. Into a *map[string]any whose writer schema is the local one
// (or there is none), the record is read without hamba (see Validator
// for the native form).
func (s *Serde) Decode(ctx context.Context, b []byte, v any) error {
	err := s.dec.Decode(b, v)
	if errors.Is(err, sr.ErrNotRegistered) {
		var id int
		id, _, err = s.dec.DecodeID(b)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrWireFormat, err)
		}
		if _, err := s.learn(ctx, id); err != nil {
			return err
		}
		err = s.dec.Decode(b, v)
	}
	if errors.Is(err, sr.ErrBadHeader) {
		return fmt.Errorf("%w: %v", ErrWireFormat, err)
	}
	return err
}

// DecodeNative decodes a wire-format value into its native form: records
// are map[string]any (see Validator for the rest).
func (s *Serde) DecodeNative(ctx context.Context, b []byte) (map[string]any, error) {
	var m map[string]any
	if err := s.Decode(ctx, b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeRecord decodes a wire-format value into its native form as a
// Record, and returns it with the full name of its record (as Record
// does, from the same lookup). Every record in it, at any depth, is a
// Record of the reader's fields in the reader's order (a null field is a
// nil slot); its Map is what DecodeNative returns. Readers that know the
// schema read a field by its position instead of hashing its name into a
// map, and nothing builds the maps. Errors are DecodeNative's.
func (s *Serde) DecodeRecord(ctx context.Context, b []byte) (string, *Record, error) {
	d, body, err := s.decodingOf(ctx, b)
	if err != nil {
		return "", nil, err
	}
	if d.err == nil && d.native != nil {
		body, done, err := s.readable(d, body)
		if err != nil {
			return "", nil, err
		}
		defer done()
		rec, err := decodeSlots(body, d.native)
		if err != nil {
			return "", nil, fmt.Errorf("%w: schema id %d (%s): %v", ErrDecode, d.id, d.record, err)
		}
		return d.record, rec, nil
	}
	// Resolved by hamba, into maps.
	m, err := s.DecodeNative(ctx, b)
	if err != nil {
		return "", nil, err
	}
	if d.slots != nil {
		return d.record, slotsOf(m, d.slots).(*Record), nil
	}
	return d.record, recordOfMap(m), nil
}

// Record returns the full name of the record a wire-format value holds,
// fetching its schema if it is not known yet.
func (s *Serde) Record(ctx context.Context, b []byte) (string, error) {
	d, _, err := s.decodingOf(ctx, b)
	if err != nil {
		return "", err
	}
	return d.record, nil
}

// decodingOf returns the decoding of a wire-format value's schema id,
// fetching the schema if it is not known yet, and the value's body.
func (s *Serde) decodingOf(ctx context.Context, b []byte) (*decoding, []byte, error) {
	id, body, err := s.dec.DecodeID(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrWireFormat, err)
	}
	d, err := s.learn(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return d, body, nil
}

// SchemaID returns the schema id of a wire-format value.
func SchemaID(b []byte) (int, error) {
	var h sr.ConfluentHeader
	id, _, err := h.DecodeID(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrWireFormat, err)
	}
	return id, nil
}

// encoding returns the cached encoding of subject, registering or looking
// up its schema on first use.
func (s *Serde) encoding(ctx context.Context, subject string) (*encoding, error) {
	if e, ok := s.subjects.Load(subject); ok {
		return e.(*encoding), nil
	}
	e, err, _ := s.group.Do("subject:"+subject, func() (any, error) {
		if e, ok := s.subjects.Load(subject); ok {
			return e, nil
		}
		_, record, err := ParseSubject(subject)
		if err != nil {
			return nil, err
		}
		sc, err := s.schemas.event(record)
		if err != nil {
			return nil, err
		}
		schema := sr.Schema{Schema: sc.text, Type: sr.TypeAvro}
		var id int
		if s.cfg.autoRegister {
			id, err = s.cl.RegisterSchema(ctx, subject, schema, -1, -1)
		} else {
			var ss sr.SubjectSchema
			ss, err = s.cl.LookupSchema(ctx, subject, schema)
			id = ss.ID
		}
		switch {
		case err == nil:
		case IsIncompatible(err):
			return nil, fmt.Errorf("%w: %s: %v", ErrIncompatible, subject, err)
		case !s.cfg.autoRegister && isNotFound(err):
			return nil, fmt.Errorf("%w: %s", ErrNotRegistered, subject)
		default:
			return nil, fmt.Errorf("%w: register %s: %v", ErrRegistry, subject, err)
		}
		header, err := (&sr.ConfluentHeader{}).AppendEncode(nil, id, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrEncode, err)
		}
		enc := &encoding{id: id, header: header, schema: sc.parsed}
		// A record that does not compile is encoded by hamba alone.
		if native, err := compileNode(sc.parsed, map[string]*vnode{}); err == nil && native.kind == vRecord {
			enc.native = native
		}
		s.subjects.Store(subject, enc)
		// What this process writes it can read back without asking.
		s.addDecoding(&decoding{id: id, record: sc.Name, reader: sc.parsed}, sc.parsed)
		s.cfg.log.Info("avro: subject ready", zap.String("subject", subject), zap.Int("schema_id", id))
		return enc, nil
	})
	if err != nil {
		return nil, err
	}
	return e.(*encoding), nil
}

// learn returns the decoding of schema id, fetching the writer schema on
// first use.
func (s *Serde) learn(ctx context.Context, id int) (*decoding, error) {
	if d, ok := s.decodings.Load(id); ok {
		return d.(*decoding), nil
	}
	s.mu.Lock()
	until, bad := s.unknown[id]
	s.mu.Unlock()
	if bad && time.Now().Before(until) {
		return nil, fmt.Errorf("%w: %d", ErrUnknownSchemaID, id)
	}
	d, err, _ := s.group.Do("id:"+strconv.Itoa(id), func() (any, error) {
		if d, ok := s.decodings.Load(id); ok {
			return d, nil
		}
		writer, err := s.fetch(ctx, id)
		if err != nil {
			if isNotFound(err) {
				s.mu.Lock()
				s.unknown[id] = time.Now().Add(s.cfg.unknownTTL)
				s.mu.Unlock()
				s.cfg.log.Warn("avro: schema id unknown to the registry", zap.Int("schema_id", id))
				return nil, fmt.Errorf("%w: %d", ErrUnknownSchemaID, id)
			}
			if errors.Is(err, ErrDecode) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: fetch schema %d: %v", ErrRegistry, id, err)
		}
		d := &decoding{id: id, record: recordName(writer), reader: writer}
		shape := writer // the decoded value's schema
		if local, ok := s.schemas.Lookup(d.record); ok && local.parsed.Fingerprint() != writer.Fingerprint() {
			x, err := resolution(local.parsed, writer, s.api)
			if err != nil {
				d.err = fmt.Errorf("%w: schema id %d cannot be read as the local %s: %v", ErrIncompatible, id, d.record, err)
			} else {
				// A body is transcoded into one of the local reader's
				// schema, then decoded as such.
				d.reader, d.resolved, d.resolve, shape = local.parsed, true, x, local.parsed
			}
		}
		s.addDecoding(d, shape)
		s.cfg.log.Info("avro: learnt writer schema", zap.Int("schema_id", id), zap.String("record", d.record),
			zap.Bool("resolved", d.resolved))
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	return d.(*decoding), nil
}

// addDecoding makes id decodable; shape is the schema of the values it
// decodes to.
func (s *Serde) addDecoding(d *decoding, shape havro.Schema) {
	if d.err == nil {
		if n, err := compileNode(shape, map[string]*vnode{}); err == nil && n.kind == vRecord {
			d.slots = n
			if prepareDecode(n) {
				d.native = n
				if !d.resolved {
					d.render = newRenderPlan(n)
				}
			}
			prepareCheck(n)
			d.check = n
		}
	}
	if _, loaded := s.decodings.LoadOrStore(d.id, d); loaded {
		return
	}
	s.dec.Register(d.id, map[string]any(nil), sr.DecodeFn(func(body []byte, v any) error {
		if d.err != nil {
			return d.err
		}
		body, done, err := s.readable(d, body)
		if err != nil {
			return err
		}
		defer done()
		if p, ok := v.(*map[string]any); ok && d.native != nil {
			// What the native decoder cannot read is not handed to
			// hamba: a hostile block count would make it allocate
			// without bound.
			m, err := decodeRecord(body, d.native, *p)
			if err != nil {
				return fmt.Errorf("%w: schema id %d (%s): %v", ErrDecode, d.id, d.record, err)
			}
			*p = m
			return nil
		}
		// hamba skips what a Go struct lacks trusting the body's block
		// counts (see check.go): the body is checked first.
		if d.check != nil && d.mayskip(v) {
			if err := checkRecord(body, d.check); err != nil {
				return fmt.Errorf("%w: schema id %d (%s): %v", ErrDecode, d.id, d.record, err)
			}
		}
		r := s.readers.Get().(*havro.Reader)
		err = readBody(r, d.reader, body, v)
		r.Reset(nil)
		s.readers.Put(r)
		if err != nil {
			return fmt.Errorf("%w: schema id %d (%s): %v", ErrDecode, d.id, d.record, err)
		}
		return nil
	}))
}

// readable returns the body of d's reader schema that body, of its
// writer's, stands for: body itself unless d is resolved, else the body
// it transcodes to, in a buffer of s.scratch that done gives back. A
// datum the reader has no place for is ErrIncompatible, a malformed body
// ErrDecode.
func (s *Serde) readable(d *decoding, body []byte) (out []byte, done func(), err error) {
	if d.resolve == nil {
		return body, func() {}, nil
	}
	bp := s.scratch.Get().(*[]byte)
	*bp, err = transcode((*bp)[:0], body, d.resolve)
	if err != nil {
		s.release(bp)
		class := ErrDecode
		if errors.Is(err, errUnresolved) {
			class = ErrIncompatible
		}
		return nil, nil, fmt.Errorf("%w: schema id %d (%s): %v", class, d.id, d.record, err)
	}
	return *bp, func() { s.release(bp) }, nil
}

// release puts a buffer of s.scratch back, unless it has grown huge.
func (s *Serde) release(bp *[]byte) {
	if cap(*bp) <= 1<<20 {
		*bp = (*bp)[:0]
		s.scratch.Put(bp)
	}
}

// readBody decodes body with hamba's reader r into v. Unlike hamba's
// Unmarshal, it refuses a body that ends inside a varint: Unmarshal takes
// that end (io.EOF) for a clean one and leaves what follows unread, with
// zero values.
func readBody(r *havro.Reader, schema havro.Schema, body []byte, v any) error {
	r.Reset(body)
	r.ReadVal(schema, v)
	err := r.Error
	r.Error = nil
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("body ends early: %w", err)
	}
	return err
}

// fetch gets the schema with id from the registry and parses it, with its
// references, in a cache of its own.
func (s *Serde) fetch(ctx context.Context, id int) (havro.Schema, error) {
	sch, err := s.cl.SchemaByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if sch.Type != sr.TypeAvro {
		return nil, fmt.Errorf("%w: schema id %d is %s, not Avro", ErrDecode, id, sch.Type)
	}
	cache := &havro.SchemaCache{}
	if err := s.parseReferences(ctx, sch.References, cache, map[string]bool{}); err != nil {
		return nil, err
	}
	parsed, err := havro.ParseWithCache(sch.Schema, "", cache)
	if err != nil {
		return nil, fmt.Errorf("%w: schema id %d: %v", ErrDecode, id, err)
	}
	return parsed, nil
}

// parseReferences parses referenced schemas, depth first, into cache.
func (s *Serde) parseReferences(ctx context.Context, refs []sr.SchemaReference, cache *havro.SchemaCache, seen map[string]bool) error {
	for _, ref := range refs {
		key := ref.Subject + "/" + strconv.Itoa(ref.Version)
		if seen[key] {
			continue
		}
		seen[key] = true
		ss, err := s.cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			return err
		}
		if err := s.parseReferences(ctx, ss.References, cache, seen); err != nil {
			return err
		}
		if _, err := havro.ParseWithCache(ss.Schema.Schema, "", cache); err != nil {
			return fmt.Errorf("%w: reference %s version %d: %v", ErrDecode, ref.Subject, ref.Version, err)
		}
	}
	return nil
}

// recordName returns the full name of a named schema, or its type.
func recordName(s havro.Schema) string {
	if n, ok := s.(havro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}
