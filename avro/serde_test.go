package avro

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	havro "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro/registry"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/testkit"
)

// countingRegistry is a reverse proxy in front of a real registry that
// records every request it passes on.
type countingRegistry struct {
	url   string
	mu    sync.Mutex
	calls []string
}

func newCountingRegistry(t testing.TB, target string) *countingRegistry {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &countingRegistry{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.calls = append(c.calls, r.Method+" "+r.URL.Path)
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// Calls returns the requests so far, sorted.
func (c *countingRegistry) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.calls...)
	sort.Strings(out)
	return out
}

// startRegistry starts sluice's registry on the test's Kafka and returns
// its URL.
func startRegistry(t testing.TB, opts ...registry.Opt) string {
	t.Helper()
	return registrytest.Start(t, testkit.NewKafka(t), opts...)
}

func newClient(t testing.TB, u string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(u))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// serdeEnv returns the schemas, a context for the test and a serde of
// them against a registry of the test's own.
func serdeEnv(t testing.TB) (*Schemas, context.Context, *Serde) {
	t.Helper()
	s := loadSchemas(t)
	return s, testkit.Context(t, time.Minute), newSerde(t, startRegistry(t), s)
}

func newSerde(t testing.TB, u string, s *Schemas, opts ...SerdeOpt) *Serde {
	t.Helper()
	sd, err := NewSerde(newClient(t, u), s, append([]SerdeOpt{Logger(testkit.Logger(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func TestSerdeCanonicalRoundTrip(t *testing.T) {
	t.Parallel()
	s := loadSchemas(t)
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	producer := newSerde(t, reg, s)
	consumer := newSerde(t, reg, s) // knows no id yet
	for _, fx := range canonicalFixtures() {
		t.Run(fx.record, func(t *testing.T) {
			sc, _ := s.Lookup(fx.record)
			b, err := producer.Encode(ctx, sc.Subject(), fx.value)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			id, err := SchemaID(b)
			if b[0] != 0 || err != nil || id <= 0 {
				t.Fatalf("not in the wire format: magic %d, id %d, %v", b[0], id, err)
			}
			for name, sd := range map[string]*Serde{"producer": producer, "consumer": consumer} {
				out := fx.empty()
				if err := sd.Decode(ctx, b, out); err != nil {
					t.Fatalf("%s Decode: %v", name, err)
				}
				if got := reflect.ValueOf(out).Elem().Interface(); !reflect.DeepEqual(got, fx.value) {
					t.Errorf("%s decoded\n%#v\nwant\n%#v", name, got, fx.value)
				}
			}
			rec, err := consumer.Record(ctx, b)
			if err != nil || rec != fx.record {
				t.Errorf("Record = %q, %v", rec, err)
			}
			native, err := consumer.DecodeNative(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			env, err := EnvelopeOf(native)
			if err != nil {
				t.Fatal(err)
			}
			if want := reflect.ValueOf(fx.value).FieldByName("Envelope").Interface(); !reflect.DeepEqual(env, want) {
				t.Errorf("envelope %#v, want %#v", env, want)
			}
		})
	}
}

// TestSerdeSourceEventsFromJSON takes every valid sample payload the way
// ingress will: validate the JSON, add the envelope, encode natively;
// another process decodes the same value.
func TestSerdeSourceEventsFromJSON(t *testing.T) {
	t.Parallel()
	s := loadSchemas(t)
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	producer := newSerde(t, reg, s)
	consumer := newSerde(t, reg, s)
	files, err := filepath.Glob("testdata/validate/*/valid-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		record := filepath.Base(filepath.Dir(file))
		t.Run(record+"/"+filepath.Base(file), func(t *testing.T) {
			sc, _ := s.Lookup(record)
			v, err := s.Validator(record)
			if err != nil {
				t.Fatal(err)
			}
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data, err := v.Validate(body)
			if err != nil {
				t.Fatal(err)
			}
			env := fixtureEnvelope("x.updated", sc.Source)
			env.OccurredAt = nil
			event := NativeEvent(env, data)
			b, err := producer.EncodeNative(ctx, sc.Subject(), event)
			if err != nil {
				t.Fatalf("EncodeNative: %v", err)
			}
			got, err := consumer.DecodeNative(ctx, b)
			if err != nil {
				t.Fatalf("DecodeNative: %v", err)
			}
			if !nativeEqual(got, event) {
				t.Errorf("decoded\n%#v\nwant\n%#v", got, event)
			}
			back, err := EnvelopeOf(got)
			if err != nil || !reflect.DeepEqual(back, env) {
				t.Errorf("EnvelopeOf = %#v, %v; want %#v", back, err, env)
			}
		})
	}
}

// TestSerdeHotPathMakesNoRegistryCalls encodes and decodes N records of
// two subjects through a proxy that counts the registry requests: the
// count is the same whatever N is, one registration per subject and one
// schema fetch per id, also with concurrent decoders.
func TestSerdeHotPathMakesNoRegistryCalls(t *testing.T) {
	t.Parallel()
	s := loadSchemas(t)
	reg := startRegistry(t)
	ctx := testkit.Context(t, 2*time.Minute)
	contact := fixtureContactEvent()
	contactSubject := Subject("sluice.canonical.contact", canonical.RecordContactEvent)
	v, err := s.Validator("sluice.source.crm.ContactEvent")
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("testdata/validate/sluice.source.crm.ContactEvent/valid-updated.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := v.Validate(body)
	if err != nil {
		t.Fatal(err)
	}
	sourceEvent := NativeEvent(fixtureEnvelope("contact.updated", "crm"), data)
	sourceSubject := Subject("sluice.in.crm", "sluice.source.crm.ContactEvent")

	counts := map[int][]string{}
	for _, n := range []int{1, 10, 1000} {
		proxy := newCountingRegistry(t, reg)
		producer := newSerde(t, proxy.url, s)
		consumer := newSerde(t, proxy.url, s)
		var values [][]byte
		for i := 0; i < n; i++ {
			b, err := producer.Encode(ctx, contactSubject, contact)
			if err != nil {
				t.Fatal(err)
			}
			nb, err := producer.EncodeNative(ctx, sourceSubject, sourceEvent)
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, b, nb)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(values); i += 4 {
					if _, err := consumer.DecodeNative(ctx, values[i]); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		counts[n] = proxy.Calls()
	}
	contactID, _ := SchemaID(mustEncode(t, newSerde(t, reg, s), contactSubject, contact))
	sourceID, _ := SchemaID(mustEncode(t, newSerde(t, reg, s), sourceSubject, sourceEvent))
	want := []string{
		"GET /schemas/ids/" + itoa(contactID),
		"GET /schemas/ids/" + itoa(sourceID),
		"POST /subjects/" + contactSubject + "/versions",
		"POST /subjects/" + sourceSubject + "/versions",
	}
	sort.Strings(want)
	for n, calls := range counts {
		if strings.Join(calls, "\n") != strings.Join(want, "\n") {
			t.Errorf("%d records of each subject made these registry calls:\n%s\nwant:\n%s", n, strings.Join(calls, "\n"), strings.Join(want, "\n"))
		}
	}
}

func mustEncode(t testing.TB, sd *Serde, subject string, v any) []byte {
	t.Helper()
	b, err := sd.Encode(testkit.Context(t, time.Minute), subject, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(i int) string { return strconv.Itoa(i) }

// evolution returns a schema set with the envelope and a test event
// whose payload has the given fields.
func evolution(t testing.TB, fields string) *Schemas {
	t.Helper()
	env, err := fs.ReadFile(embedded, "schemas/Envelope.avsc")
	if err != nil {
		t.Fatal(err)
	}
	event := `{"type":"record","name":"ThingEvent","namespace":"sluice.source.evo","doc":"-","fields":[
		{"name":"envelope","type":"sluice.Envelope","doc":"-"},
		{"name":"data","type":{"type":"record","name":"Thing","doc":"-","fields":[` + fields + `]},"doc":"-"}]}`
	s, err := LoadSchemasFS(fstest.MapFS{
		"Envelope.avsc":              {Data: env},
		"source/evo/ThingEvent.avsc": {Data: []byte(event)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	thingV1 = `{"name":"id","type":"string","doc":"-"}`
	thingV2 = thingV1 + `,{"name":"colour","type":"string","default":"none","doc":"-"},{"name":"size","type":["null","int"],"default":null,"doc":"-"}`
	thingV3 = `{"name":"id","type":"int","doc":"-"}`
)

type thingV1Event struct {
	Envelope canonical.Envelope `avro:"envelope"`
	Data     struct {
		ID string `avro:"id"`
	} `avro:"data"`
}

// TestSerdeSchemaEvolution writes with two versions of a record while
// consumers built for either version, or for none, keep running: each new
// writer id is fetched once and resolved to the consumer's own shape.
func TestSerdeSchemaEvolution(t *testing.T) {
	t.Parallel()
	v1, v2 := evolution(t, thingV1), evolution(t, thingV2)
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	subject := Subject("sluice.in.evo", "sluice.source.evo.ThingEvent")
	env := fixtureEnvelope("thing.updated", "evo")
	proxy := newCountingRegistry(t, reg)
	oldReader := newSerde(t, proxy.url, v1)
	newReader := newSerde(t, reg, v2)
	noReader := newSerde(t, reg, loadSchemas(t))

	b1, err := newSerde(t, reg, v1).EncodeNative(ctx, subject, NativeEvent(env, map[string]any{"id": "a"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oldReader.DecodeNative(ctx, b1); err != nil {
		t.Fatal(err)
	}
	// A newer producer is deployed; the old consumer keeps running.
	b2, err := newSerde(t, reg, v2).EncodeNative(ctx, subject, NativeEvent(env, map[string]any{"id": "b", "colour": "red", "size": 3}))
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := SchemaID(b1)
	id2, _ := SchemaID(b2)
	if id1 == id2 {
		t.Fatalf("both versions have id %d", id1)
	}
	cases := []struct {
		name   string
		serde  *Serde
		value  []byte
		want   map[string]any
		typed  bool
		typeID string
		// native is whether the map is decoded natively: every one is
		// here, a resolved writer's after its body is transcoded into
		// the reader's (resolve.go).
		native bool
	}{
		{"old reader, old data", oldReader, b1, map[string]any{"id": "a"}, true, "a", true},
		{"old reader, new data: new fields skipped", oldReader, b2, map[string]any{"id": "b"}, true, "b", true},
		{"new reader, old data: defaults filled in", newReader, b1, map[string]any{"id": "a", "colour": "none", "size": nil}, false, "", true},
		{"new reader, new data", newReader, b2, map[string]any{"id": "b", "colour": "red", "size": 3}, false, "", true},
		{"no local reader: the writer's shape", noReader, b2, map[string]any{"id": "b", "colour": "red", "size": 3}, false, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.serde.DecodeNative(ctx, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if !nativeEqual(got["data"], tc.want) {
				t.Errorf("data = %#v, want %#v", got["data"], tc.want)
			}
			if native := decodedNatively(t, tc.serde, tc.value); native != tc.native {
				t.Errorf("decoded natively: %v, want %v", native, tc.native)
			}
			// As a Record: the same value, every record a Record of
			// the reader's fields.
			record, rec, err := tc.serde.DecodeRecord(ctx, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if want, err := tc.serde.Record(ctx, tc.value); err != nil || record != want {
				t.Errorf("DecodeRecord's record %q, Record says %q (%v)", record, want, err)
			}
			d, _ := tc.serde.decodings.Load(mustSchemaID(t, tc.value))
			if !slotsShaped(rec, d.(*decoding).slots) {
				t.Errorf("a record is not a Record of its fields: %#v", rec)
			}
			if m := rec.Map(); !exact(m, got) {
				t.Errorf("DecodeRecord %#v\nDecodeNative %#v", m, got)
			}
			if tc.typed {
				var ev thingV1Event
				if err := tc.serde.Decode(ctx, tc.value, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Data.ID != tc.typeID || ev.Envelope.TenantID != "demo" {
					t.Errorf("typed decode = %+v", ev)
				}
			}
		})
	}
	// A null field is a nil slot.
	b3, err := newSerde(t, reg, v2).EncodeNative(ctx, subject, NativeEvent(env, map[string]any{"id": "c", "colour": "red", "size": nil}))
	if err != nil {
		t.Fatal(err)
	}
	_, rec, err := newReader.DecodeRecord(ctx, b3)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := rec.Get("data").(*Record)
	if data == nil || data.Get("size") != nil || data.Get("colour") != "red" {
		t.Errorf("DecodeRecord data = %#v, want colour red and no size", rec.Get("data"))
	}
	want := []string{"GET /schemas/ids/" + itoa(id1), "GET /schemas/ids/" + itoa(id2)}
	if got := proxy.Calls(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the old reader made %v, want one fetch per id %v", got, want)
	}
}

func mustSchemaID(t testing.TB, b []byte) int {
	t.Helper()
	id, err := SchemaID(b)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestSerdeIncompatible checks both codes by which registries refuse an
// incompatible schema, and a writer the local reader cannot read.
func TestSerdeIncompatible(t *testing.T) {
	t.Parallel()
	for _, code := range []int{409, 40901} {
		t.Run(itoa(code), func(t *testing.T) {
			t.Parallel()
			reg := startRegistry(t, registry.IncompatibleErrorCode(code))
			ctx := testkit.Context(t, time.Minute)
			subject := Subject("sluice.in.evo", "sluice.source.evo.ThingEvent")
			v1, v3 := evolution(t, thingV1), evolution(t, thingV3)
			env := fixtureEnvelope("thing.updated", "evo")
			b1, err := newSerde(t, reg, v1).EncodeNative(ctx, subject, NativeEvent(env, map[string]any{"id": "a"}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = newSerde(t, reg, v3).EncodeNative(ctx, subject, NativeEvent(env, map[string]any{"id": 1}))
			if !errors.Is(err, ErrIncompatible) || !IsIncompatible(err) {
				t.Errorf("Encode with an incompatible version: %v, want ErrIncompatible", err)
			}
			cl := newClient(t, reg)
			b3, _ := v3.Bind("sluice.in.evo", "sluice.source.evo.ThingEvent")
			if _, err := Register(ctx, cl, b3); !errors.Is(err, ErrIncompatible) {
				t.Errorf("Register: %v, want ErrIncompatible", err)
			}
			res, err := CheckCompatibility(ctx, cl, b3)
			if err != nil || len(res) != 1 || res[0].Compatible || len(res[0].Messages) == 0 {
				t.Errorf("CheckCompatibility = %+v, %v; want incompatible with reasons", res, err)
			}
			// A consumer built for v3 cannot read v1's string ids as ints.
			if _, err := newSerde(t, reg, v3).DecodeNative(ctx, b1); !errors.Is(err, ErrIncompatible) {
				t.Errorf("decoding with an incompatible reader: %v, want ErrIncompatible", err)
			}
		})
	}
}

func TestSerdeUnknownSchemaID(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	value := []byte{0, 0, 0x7f, 0xff, 0xff, 2, 'x'}
	cases := []struct {
		name  string
		opts  []SerdeOpt
		calls int
	}{
		{"remembered as unknown", nil, 1},
		{"asked again without memory", []SerdeOpt{UnknownIDTTL(0)}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			proxy := newCountingRegistry(t, reg)
			sd := newSerde(t, proxy.url, loadSchemas(t), tc.opts...)
			for i := 0; i < 3; i++ {
				if _, err := sd.DecodeNative(ctx, value); !errors.Is(err, ErrUnknownSchemaID) {
					t.Fatalf("decode %d: %v, want ErrUnknownSchemaID", i, err)
				}
			}
			if got := len(proxy.Calls()); got != tc.calls {
				t.Errorf("%d registry calls, want %d: %v", got, tc.calls, proxy.Calls())
			}
		})
	}
}

func TestSerdeErrors(t *testing.T) {
	t.Parallel()
	s := loadSchemas(t)
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	sd := newSerde(t, reg, s)
	contactSubject := Subject("sluice.canonical.contact", canonical.RecordContactEvent)
	good := mustEncode(t, sd, contactSubject, fixtureContactEvent())
	truncated := append([]byte(nil), good[:len(good)/2]...)

	decodes := []struct {
		name  string
		value []byte
		want  error
	}{
		{"empty", nil, ErrWireFormat},
		{"short", []byte{0, 0}, ErrWireFormat},
		{"wrong magic byte", []byte{1, 0, 0, 0, 1, 0}, ErrWireFormat},
		{"body cut short", truncated, ErrDecode},
	}
	for _, tc := range decodes {
		t.Run("decode "+tc.name, func(t *testing.T) {
			var out canonical.ContactEvent
			if err := sd.Decode(ctx, tc.value, &out); !errors.Is(err, tc.want) {
				t.Errorf("Decode: %v, want %v", err, tc.want)
			}
		})
	}
	encodes := []struct {
		name    string
		subject string
		value   any
		want    error
	}{
		{"subject without a record", "sluice.canonical.contact", fixtureContactEvent(), ErrSubject},
		{"unknown record", Subject("sluice.in.crm", "sluice.source.crm.Nope"), fixtureContactEvent(), ErrUnknownRecord},
		{"record that is not an event", Subject("sluice.in.crm", "sluice.source.crm.Contact"), fixtureContactEvent(), ErrUnknownRecord},
		{"value of another shape", contactSubject, map[string]any{"envelope": 1}, ErrEncode},
	}
	for _, tc := range encodes {
		t.Run("encode "+tc.name, func(t *testing.T) {
			if _, err := sd.Encode(ctx, tc.subject, tc.value); !errors.Is(err, tc.want) {
				t.Errorf("Encode: %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := NewSerde(nil, s); err == nil {
		t.Errorf("NewSerde without a client succeeded")
	}
}

func TestSerdeWithoutAutoRegister(t *testing.T) {
	t.Parallel()
	s := loadSchemas(t)
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	sd := newSerde(t, reg, s, AutoRegister(false))
	sc, _ := s.Lookup(canonical.RecordTicketEvent)
	if _, err := sd.Encode(ctx, sc.Subject(), fixtureTicketEvent()); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Encode before registration: %v, want ErrNotRegistered", err)
	}
	b, _ := s.Bind(sc.Topic, sc.Name)
	regs, err := Register(ctx, newClient(t, reg), b)
	if err != nil || len(regs) != 1 {
		t.Fatalf("Register: %v", err)
	}
	// A failed lookup is not cached: the next Encode finds the schema.
	value, err := sd.Encode(ctx, sc.Subject(), fixtureTicketEvent())
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := SchemaID(value); id != regs[0].ID {
		t.Errorf("encoded with id %d, registered %d", id, regs[0].ID)
	}
}

// TestSerdeSchemaReferences decodes a record whose writer schema shares
// the envelope through a Confluent schema reference instead of inlining
// it, as a third-party producer may register it.
func TestSerdeSchemaReferences(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	cl := newClient(t, reg)
	s := loadSchemas(t)
	env, _ := s.Lookup(EnvelopeRecord)
	if _, err := cl.RegisterSchema(ctx, EnvelopeRecord, sr.Schema{Schema: env.Text()}, -1, -1); err != nil {
		t.Fatal(err)
	}
	ping := `{"type":"record","name":"PingEvent","namespace":"sluice.source.reftest","doc":"-","fields":[
		{"name":"envelope","type":"sluice.Envelope","doc":"-"},
		{"name":"data","type":{"type":"record","name":"Ping","fields":[{"name":"n","type":"int"}]},"doc":"-"}]}`
	subject := Subject("sluice.in.reftest", "sluice.source.reftest.PingEvent")
	id, err := cl.RegisterSchema(ctx, subject, sr.Schema{
		Schema:     ping,
		References: []sr.SchemaReference{{Name: EnvelopeRecord, Subject: EnvelopeRecord, Version: 1}},
	}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	// Write a record with that id, body encoded with the same types.
	cache := &havro.SchemaCache{}
	if _, err := havro.ParseWithCache(env.Text(), "", cache); err != nil {
		t.Fatal(err)
	}
	writer, err := havro.ParseWithCache(ping, "", cache)
	if err != nil {
		t.Fatal(err)
	}
	envelope := fixtureEnvelope("ping", "reftest")
	body, err := newAPI().Marshal(writer, NativeEvent(envelope, map[string]any{"n": 7}))
	if err != nil {
		t.Fatal(err)
	}
	header, _ := (&sr.ConfluentHeader{}).AppendEncode(nil, id, nil)
	value := append(header, body...)

	proxy := newCountingRegistry(t, reg)
	sd := newSerde(t, proxy.url, s)
	got, err := sd.DecodeNative(ctx, value)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := EnvelopeOf(got); err != nil || !reflect.DeepEqual(e, envelope) {
		t.Errorf("envelope %#v, %v", e, err)
	}
	if n := got["data"].(map[string]any)["n"]; n != 7 {
		t.Errorf("data.n = %v", n)
	}
	want := []string{"GET /schemas/ids/" + itoa(id), "GET /subjects/" + EnvelopeRecord + "/versions/1"}
	sort.Strings(want)
	if got := proxy.Calls(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("registry calls %v, want %v", got, want)
	}
}

// TestSerdeSameNameInTwoWriters decodes records of two writer schemas in
// which the same type name means different records: each id is parsed in
// a cache of its own, so neither sees the other's definition.
func TestSerdeSameNameInTwoWriters(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	cl := newClient(t, reg)
	writer := func(event, field, typ string) string {
		return `{"type":"record","name":"` + event + `","namespace":"sluice.source.twins","fields":[
			{"name":"item","type":{"type":"record","name":"Item","fields":[{"name":"` + field + `","type":"` + typ + `"}]}}]}`
	}
	cases := []struct {
		event, field, typ string
		value             any
	}{
		{"AEvent", "a", "int", 5},
		{"BEvent", "b", "string", "x"},
	}
	var values [][]byte
	for _, tc := range cases {
		text := writer(tc.event, tc.field, tc.typ)
		id, err := cl.RegisterSchema(ctx, Subject("sluice.in.twins", "sluice.source.twins."+tc.event), sr.Schema{Schema: text}, -1, -1)
		if err != nil {
			t.Fatal(err)
		}
		sch, err := havro.ParseWithCache(text, "", &havro.SchemaCache{})
		if err != nil {
			t.Fatal(err)
		}
		body, err := newAPI().Marshal(sch, map[string]any{"item": map[string]any{tc.field: tc.value}})
		if err != nil {
			t.Fatal(err)
		}
		header, _ := (&sr.ConfluentHeader{}).AppendEncode(nil, id, nil)
		values = append(values, append(header, body...))
	}
	sd := newSerde(t, reg, loadSchemas(t))
	for i, tc := range cases {
		got, err := sd.DecodeNative(ctx, values[i])
		if err != nil {
			t.Fatalf("%s: %v", tc.event, err)
		}
		item := got["item"].(map[string]any)
		if len(item) != 1 || item[tc.field] != tc.value {
			t.Errorf("%s: item = %#v, want {%s: %v}", tc.event, item, tc.field, tc.value)
		}
	}
}

func TestRegisterAndCheckCompatibility(t *testing.T) {
	t.Parallel()
	s := loadSchemas(t)
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	cl := newClient(t, reg)
	bindings := s.DefaultBindings()

	fresh, err := CheckCompatibility(ctx, cl, bindings...)
	if err != nil || len(fresh) != len(bindings) {
		t.Fatalf("CheckCompatibility before registering: %d results, %v", len(fresh), err)
	}
	for _, c := range fresh {
		if !c.NewSubject || !c.Compatible {
			t.Errorf("%s: %+v, want a compatible new subject", c.Subject, c)
		}
	}
	first, err := Register(ctx, cl, bindings...)
	if err != nil || len(first) != len(bindings) {
		t.Fatalf("Register: %d registered, %v", len(first), err)
	}
	again, err := Register(ctx, cl, bindings...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if first[i].ID <= 0 || first[i].Version != 1 || again[i].ID != first[i].ID || again[i].Version != 1 {
			t.Errorf("%s: registered as %d v%d, then %d v%d", first[i].Subject, first[i].ID, first[i].Version, again[i].ID, again[i].Version)
		}
	}
	checked, err := CheckCompatibility(ctx, cl, bindings...)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checked {
		if c.NewSubject || !c.Compatible {
			t.Errorf("%s: %+v, want compatible with itself", c.Subject, c)
		}
	}
}
