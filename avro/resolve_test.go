package avro

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	havro "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/testkit"
)

// resolveCase is a writer's schema, a reader's of the same record and a
// value of the writer's (t.R unless named otherwise, the writer's first).
type resolveCase struct {
	name           string
	writer, reader string // the fields of t.R, or a whole schema
	value          map[string]any
}

// resolveWants are the values read of the resolveCases that hamba does not
// read.
var resolveWants = map[string]map[string]any{
	// hamba cannot decode its own marker of a null default.
	"a null in a record default": {"id": "z", "r": map[string]any{"q": "d", "n": nil}},
	// hamba's Resolve recurses until the stack overflows.
	"recursion": {"v": int64(1), "new": "n", "next": map[string]any{"t.R": map[string]any{"v": int64(2), "new": "n", "next": nil}}},
}

// recordR makes a schema of t.R from its fields, or returns a whole schema
// as it is.
func recordR(fields string) string {
	if strings.HasPrefix(fields, `{"type"`) {
		return fields
	}
	return `{"type":"record","name":"R","namespace":"t","fields":[` + fields + `]}`
}

// resolveCases are resolutions hamba makes: the transcoder must give the
// value hamba gives (or resolveWants', where hamba fails).
var resolveCases = []resolveCase{
	{"promotions",
		`{"name":"a","type":"int"},{"name":"b","type":"int"},{"name":"c","type":"int"},{"name":"d","type":"long"},{"name":"e","type":"long"},{"name":"f","type":"float"},{"name":"g","type":"string"},{"name":"h","type":"bytes"}`,
		`{"name":"a","type":"long"},{"name":"b","type":"float"},{"name":"c","type":"double"},{"name":"d","type":"float"},{"name":"e","type":"double"},{"name":"f","type":"double"},{"name":"g","type":"bytes"},{"name":"h","type":"string"}`,
		map[string]any{"a": -7, "b": 1 << 24, "c": -3, "d": int64(1) << 40, "e": int64(-5), "f": float32(1.1), "g": "hi", "h": []byte("yo")}},
	{"promotions in arrays, maps and unions",
		`{"name":"a","type":{"type":"array","items":"int"}},{"name":"m","type":{"type":"map","values":"float"}},{"name":"u","type":["null","int"]}`,
		`{"name":"a","type":{"type":"array","items":"long"}},{"name":"m","type":{"type":"map","values":"double"}},{"name":"u","type":["null","long"]}`,
		map[string]any{"a": []any{1, -2, 300}, "m": map[string]any{"x": float32(0.5), "y": float32(-2)}, "u": 9}},
	{"defaults of the reader",
		`{"name":"id","type":"string"}`,
		`{"name":"id","type":"string"},{"name":"i","type":"int","default":42},{"name":"l","type":"long","default":-1},{"name":"f","type":"float","default":1.5},{"name":"d","type":"double","default":2.5},` +
			`{"name":"b","type":"boolean","default":true},{"name":"s","type":"string","default":"x"},{"name":"by","type":"bytes","default":"\u00ff"},` +
			`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]},"default":"B"},{"name":"fx","type":{"type":"fixed","name":"F","size":2},"default":"ab"},` +
			`{"name":"arr","type":{"type":"array","items":{"type":"record","name":"Q","fields":[{"name":"q","type":"string"}]}},"default":[{"q":"d"}]},` +
			`{"name":"m","type":{"type":"map","values":"int"},"default":{"k":1}},{"name":"r","type":{"type":"record","name":"RR","fields":[{"name":"q","type":"string"},{"name":"n","type":["string","null"]}]},"default":{"q":"d","n":"e"}},` +
			`{"name":"on","type":["null","string"],"default":null},{"name":"os","type":["string","null"],"default":"first"},` +
			`{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"},"default":1000},{"name":"dt","type":{"type":"int","logicalType":"date"},"default":3}`,
		map[string]any{"id": "z"}},
	{"a null in a record default",
		`{"name":"id","type":"string"}`,
		`{"name":"id","type":"string"},{"name":"r","type":{"type":"record","name":"RR","fields":[{"name":"q","type":"string"},{"name":"n","type":["null","string"]}]},"default":{"q":"d","n":null}}`,
		map[string]any{"id": "z"}},
	{"fields of the writer skipped",
		`{"name":"x","type":{"type":"array","items":{"type":"record","name":"X","fields":[{"name":"m","type":{"type":"map","values":["null","string",{"type":"fixed","name":"F3","size":3}]}}]}}},` +
			`{"name":"id","type":"string"},{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},{"name":"n","type":{"type":"record","name":"N","fields":[{"name":"d","type":"double"},{"name":"b","type":"boolean"}]}},{"name":"tail","type":"long"}`,
		`{"name":"id","type":"string"}`,
		map[string]any{"x": []any{map[string]any{"m": map[string]any{"k": "v", "q": nil, "f": map[string]any{"t.F3": [3]byte{1, 2, 3}}}}, map[string]any{"m": map[string]any{}}},
			"id": "z", "e": "B", "n": map[string]any{"d": 1.5, "b": true}, "tail": int64(99)}},
	{"fields in another order, with a default between them",
		`{"name":"a","type":"int"},{"name":"gone","type":"string"},{"name":"n","type":{"type":"record","name":"N","fields":[{"name":"x","type":"int"},{"name":"y","type":"string"}]}},{"name":"b","type":"string"}`,
		`{"name":"b","type":"string"},{"name":"new","type":"int","default":7},{"name":"n","type":{"type":"record","name":"N","fields":[{"name":"y","type":"string"},{"name":"x","type":"long"}]}},{"name":"a","type":"int"}`,
		map[string]any{"a": 1, "gone": "g", "n": map[string]any{"x": 2, "y": "yy"}, "b": "x"}},
	{"an enum with a default reads the symbols it lacks as it",
		`{"name":"a","type":{"type":"enum","name":"E","symbols":["UNKNOWN","A","B"]}},{"name":"b","type":{"type":"enum","name":"E2","symbols":["C","D"]}}`,
		`{"name":"a","type":{"type":"enum","name":"E","symbols":["UNKNOWN","A"],"default":"UNKNOWN"}},{"name":"b","type":{"type":"enum","name":"E2","symbols":["D","C"]}}`,
		map[string]any{"a": "B", "b": "D"}},
	{"an enum symbol both have, in an enum with a default",
		`{"name":"a","type":{"type":"enum","name":"E","symbols":["UNKNOWN","A","B"]}}`,
		`{"name":"a","type":{"type":"enum","name":"E","symbols":["UNKNOWN","A"],"default":"UNKNOWN"}}`,
		map[string]any{"a": "A"}},
	{"unions",
		`{"name":"a","type":["string","null","long"]},{"name":"b","type":["null","int"]},{"name":"c","type":"int"},{"name":"d","type":["null",{"type":"record","name":"P","namespace":"other.ns","fields":[{"name":"x","type":"int"}]}]},{"name":"e","type":["null",{"type":"array","items":"int"}]}`,
		`{"name":"a","type":["null","long","string"]},{"name":"b","type":["null","long"]},{"name":"c","type":["null","long"]},{"name":"d","type":["null",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]},{"name":"e","type":["null",{"type":"array","items":"long"}]}`,
		map[string]any{"a": int64(9), "b": 9, "c": 3, "d": map[string]any{"other.ns.P": map[string]any{"x": 1}}, "e": map[string]any{"array": []any{1, 2}}}},
	{"union branches as the writer wrote them, nulls",
		`{"name":"a","type":["string","null","long"]},{"name":"b","type":["null","int"]},{"name":"d","type":["null",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]}`,
		`{"name":"a","type":["null","long","string"]},{"name":"b","type":["null","long"]},{"name":"d","type":["null",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]}`,
		map[string]any{"a": "s", "b": nil, "d": nil}},
	{"aliases",
		`{"type":"record","name":"Old","namespace":"t","fields":[{"name":"a","type":"string"},{"name":"f","type":{"type":"fixed","name":"OldF","size":2}}]}`,
		`{"type":"record","name":"R","namespace":"t","aliases":["t.Old"],"fields":[{"name":"b","type":"string","aliases":["a"]},{"name":"f","type":{"type":"fixed","name":"F","aliases":["t.OldF"],"size":2}}]}`,
		map[string]any{"a": "x", "f": [2]byte{7, 8}}},
	{"recursion",
		`{"type":"record","name":"R","namespace":"t","fields":[{"name":"v","type":"int"},{"name":"gone","type":"string"},{"name":"next","type":["null","R"]}]}`,
		`{"type":"record","name":"R","namespace":"t","fields":[{"name":"next","type":["null","R"]},{"name":"v","type":"long"},{"name":"new","type":"string","default":"n"}]}`,
		map[string]any{"v": 1, "gone": "a", "next": map[string]any{"t.R": map[string]any{"v": 2, "gone": "b", "next": nil}}}},
	{"the same schema but for docs",
		`{"name":"a","type":"int","doc":"old"},{"name":"m","type":{"type":"map","values":{"type":"record","name":"V","fields":[{"name":"x","type":"string"}]}}}`,
		`{"name":"a","type":"int","doc":"new"},{"name":"m","type":{"type":"map","values":{"type":"record","name":"V","fields":[{"name":"x","type":"string"}]}}}`,
		map[string]any{"a": 4, "m": map[string]any{"k": map[string]any{"x": "y"}}}},
}

// TestResolveAsHamba transcodes a value of each writer into the reader's
// body and decodes it natively: the value is the one hamba gives with
// the schema it resolves.
func TestResolveAsHamba(t *testing.T) {
	api := newAPI()
	for _, tc := range resolveCases {
		t.Run(tc.name, func(t *testing.T) {
			writer, reader := parse(t, recordR(tc.writer)), parse(t, recordR(tc.reader))
			body, err := api.Marshal(writer, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			want := resolveWants[tc.name]
			if want == nil {
				resolved, err := havro.NewSchemaCompatibility().Resolve(reader, writer)
				if err != nil {
					t.Fatalf("hamba does not resolve: %v", err)
				}
				if err := api.Unmarshal(resolved, body, &want); err != nil {
					t.Fatalf("hamba: %v", err)
				}
			}
			x, err := resolution(reader, writer, api)
			if err != nil {
				t.Fatalf("resolution: %v", err)
			}
			out, err := transcode(nil, body, x)
			if err != nil {
				t.Fatalf("transcode: %v", err)
			}
			rn, err := compileNode(reader, map[string]*vnode{})
			if err != nil || !prepareDecode(rn) {
				t.Fatalf("reader: %v", err)
			}
			got, err := decodeRecord(out, rn, nil)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !exact(got, want) {
				t.Errorf("got  %#v\nwant %#v", got, want)
			}
			// hamba reads the transcoded body with the reader's own
			// schema as the writer's with the resolved one.
			var again map[string]any
			if err := api.Unmarshal(reader, out, &again); err != nil || !exact(again, want) {
				t.Errorf("hamba of the reader's body: %#v, %v", again, err)
			}
		})
	}
}

func parse(t testing.TB, schema string) havro.Schema {
	t.Helper()
	s, err := havro.ParseWithCache(schema, "", &havro.SchemaCache{})
	if err != nil {
		t.Fatalf("%s: %v", schema, err)
	}
	return s
}

// TestResolvePerDatum resolves writers hamba refuses as a whole, of which
// the reader can read some values: those are read, and the others fail
// with errUnresolved, alone.
func TestResolvePerDatum(t *testing.T) {
	api := newAPI()
	cases := []struct {
		name, writer, reader string
		values               []map[string]any
		want                 []any // the reader's a, or unresolved
	}{
		{"a symbol the reader's enum lacks, without a default",
			`{"name":"a","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}`,
			`{"name":"a","type":{"type":"enum","name":"E","symbols":["A","B"]}}`,
			[]map[string]any{{"a": "A"}, {"a": "B"}, {"a": "C"}},
			[]any{"A", "B", unresolved{}}},
		{"a nullable field of the writer the reader requires",
			`{"name":"a","type":["null","string"]}`,
			`{"name":"a","type":"string"}`,
			[]map[string]any{{"a": "s"}, {"a": nil}},
			[]any{"s", unresolved{}}},
		{"a branch of the writer's union the reader's lacks",
			`{"name":"a","type":["null","string","long"]}`,
			`{"name":"a","type":["null","string"]}`,
			[]map[string]any{{"a": "s"}, {"a": nil}, {"a": int64(5)}},
			[]any{"s", nil, unresolved{}}},
		{"a union of the writer promoted to the reader's type",
			`{"name":"a","type":["null","int","string"]}`,
			`{"name":"a","type":"long"}`,
			[]map[string]any{{"a": 3}, {"a": "s"}},
			[]any{int64(3), unresolved{}}},
		{"deep in arrays and maps",
			`{"name":"a","type":{"type":"map","values":{"type":"array","items":{"type":"enum","name":"E","symbols":["A","B"]}}}}`,
			`{"name":"a","type":{"type":"map","values":{"type":"array","items":{"type":"enum","name":"E","symbols":["A"]}}}}`,
			[]map[string]any{{"a": map[string]any{"k": []any{"A", "A"}}}, {"a": map[string]any{"k": []any{"A", "B"}}}},
			[]any{map[string]any{"k": []any{"A", "A"}}, unresolved{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			writer, reader := parse(t, recordR(tc.writer)), parse(t, recordR(tc.reader))
			if _, err := havro.NewSchemaCompatibility().Resolve(reader, writer); err == nil {
				t.Errorf("hamba resolves it")
			}
			x, err := resolution(reader, writer, api)
			if err != nil {
				t.Fatalf("resolution: %v", err)
			}
			rn, _ := compileNode(reader, map[string]*vnode{})
			prepareDecode(rn)
			for i, v := range tc.values {
				body, err := api.Marshal(writer, v)
				if err != nil {
					t.Fatal(err)
				}
				out, err := transcode(nil, body, x)
				if tc.want[i] == (unresolved{}) {
					if !errors.Is(err, errUnresolved) {
						t.Errorf("%v: %v, want errUnresolved", v, err)
					} else if !strings.HasPrefix(err.Error(), "a") || !strings.Contains(err.Error(), ": at byte ") {
						t.Errorf("%v: the error %q does not say where", v, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%v: %v", v, err)
					continue
				}
				got, err := decodeRecord(out, rn, nil)
				if err != nil || !exact(got["a"], tc.want[i]) {
					t.Errorf("%v: got %#v, %v; want %#v", v, got["a"], err, tc.want[i])
				}
			}
		})
	}
}

// unresolved is the want of a value that fails with errUnresolved.
type unresolved struct{}

// TestResolveRefuses: writers of which no value can be read fail as a
// whole, as with hamba.
func TestResolveRefuses(t *testing.T) {
	cases := []struct{ name, writer, reader string }{
		{"another type", `{"name":"a","type":"string"}`, `{"name":"a","type":"int"}`},
		{"a narrower type", `{"name":"a","type":"long"}`, `{"name":"a","type":"int"}`},
		{"a required field the writer lacks", `{"name":"a","type":"string"}`, `{"name":"a","type":"string"},{"name":"b","type":"int"}`},
		{"another record", `{"name":"a","type":{"type":"record","name":"X","fields":[]}}`, `{"name":"a","type":{"type":"record","name":"Y","fields":[]}}`},
		{"another fixed size", `{"name":"a","type":{"type":"fixed","name":"F","size":2}}`, `{"name":"a","type":{"type":"fixed","name":"F","size":3}}`},
		{"no symbol of the writer's enum", `{"name":"a","type":{"type":"enum","name":"E","symbols":["B"]}}`, `{"name":"a","type":{"type":"enum","name":"E","symbols":["A"]}}`},
		{"no branch of the writer's union", `{"name":"a","type":["null","boolean"]}`, `{"name":"a","type":"string"}`},
		{"a writer's type the reader's union lacks", `{"name":"a","type":"boolean"}`, `{"name":"a","type":["null","string"]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			writer, reader := parse(t, recordR(tc.writer)), parse(t, recordR(tc.reader))
			if _, err := resolution(reader, writer, newAPI()); err == nil {
				t.Errorf("resolved")
			}
		})
	}
}

// TestSerdeReadsWhatTheReaderCan decodes records of writers that hamba
// refused as a whole, through every decode of the serde: the records the
// local reader can read decode, before and after those it cannot, which
// fail with ErrIncompatible (the transform's permanent error for that
// record), not ErrDecode.
func TestSerdeReadsWhatTheReaderCan(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	env := fixtureEnvelope("thing.updated", "evo")
	type stringEvent struct {
		Envelope canonical.Envelope `avro:"envelope"`
		Data     struct {
			A string `avro:"a"`
		} `avro:"data"`
	}
	type optStringEvent struct {
		Envelope canonical.Envelope `avro:"envelope"`
		Data     struct {
			A *string `avro:"a"`
		} `avro:"data"`
	}
	cases := []struct {
		name, writer, reader string
		typed                func() any // a new value to Decode into
		values               []any      // data.a of the writer
		want                 []any      // data.a read, or unresolved
	}{
		{"an enum gained a symbol, the reader's has no default",
			`{"name":"a","type":{"type":"enum","name":"E","symbols":["A","B","C"]},"doc":"-"}`,
			`{"name":"a","type":{"type":"enum","name":"E","symbols":["A","B"]},"doc":"-"}`,
			func() any { return new(stringEvent) },
			[]any{"A", "C", "B"}, []any{"A", unresolved{}, "B"}},
		{"a nullable field of the writer, the reader's is not",
			`{"name":"a","type":["null","string"],"doc":"-"}`,
			`{"name":"a","type":"string","doc":"-"}`,
			func() any { return new(stringEvent) },
			[]any{"s", nil, "t"}, []any{"s", unresolved{}, "t"}},
		{"a union gained a branch",
			`{"name":"a","type":["null","string","long"],"doc":"-"}`,
			`{"name":"a","type":["null","string"],"doc":"-"}`,
			func() any { return new(optStringEvent) },
			[]any{"s", int64(5), nil}, []any{"s", unresolved{}, nil}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			subject := Subject("sluice.in.perdatum"+itoa(i), "sluice.source.evo.ThingEvent")
			writer := newSerde(t, reg, evolution(t, tc.writer))
			reader := newSerde(t, reg, evolution(t, tc.reader))
			for j, a := range tc.values {
				b, err := writer.EncodeNative(ctx, subject, NativeEvent(env, map[string]any{"a": a}))
				if err != nil {
					t.Fatal(err)
				}
				m, err := reader.DecodeNative(ctx, b)
				_, rec, recErr := reader.DecodeRecord(ctx, b)
				typed := tc.typed()
				typedErr := reader.Decode(ctx, b, typed)
				if tc.want[j] == (unresolved{}) {
					for how, err := range map[string]error{"DecodeNative": err, "DecodeRecord": recErr, "Decode": typedErr} {
						if !errors.Is(err, ErrIncompatible) || errors.Is(err, ErrDecode) {
							t.Errorf("%v: %s: %v, want ErrIncompatible", a, how, err)
						}
					}
					continue
				}
				if err != nil || recErr != nil || typedErr != nil {
					t.Fatalf("%v: DecodeNative %v, DecodeRecord %v, Decode %v", a, err, recErr, typedErr)
				}
				if got := Field(m["data"], "a"); !exact(got, tc.want[j]) {
					t.Errorf("%v: DecodeNative a = %#v, want %#v", a, got, tc.want[j])
				}
				if got := Field(rec.Get("data"), "a"); !exact(got, tc.want[j]) {
					t.Errorf("%v: DecodeRecord a = %#v, want %#v", a, got, tc.want[j])
				}
				var got any
				switch v := typed.(type) {
				case *stringEvent:
					got = v.Data.A
				case *optStringEvent:
					if v.Data.A != nil {
						got = *v.Data.A
					}
				}
				if !exact(got, tc.want[j]) {
					t.Errorf("%v: Decode a = %#v, want %#v", a, got, tc.want[j])
				}
			}
		})
	}
}

// TestSerdeTicketStatusGainsASymbol is the case of a source enum without
// a default: the desk adds a ticket status, a producer deployed with it
// writes tickets of both, and a consumer built before reads every ticket
// but those of the new status.
func TestSerdeTicketStatusGainsASymbol(t *testing.T) {
	t.Parallel()
	ctx := testkit.Context(t, time.Minute)
	old := loadSchemas(t)
	sub, err := fs.Sub(embedded, "schemas")
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	err = fs.WalkDir(sub, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, path)
		if path == "source/support/Ticket.avsc" {
			newer := strings.Replace(string(b), `"CLOSED"]`, `"CLOSED", "SPAM"]`, 1)
			if newer == string(b) {
				t.Fatal("no TicketStatus symbols in Ticket.avsc")
			}
			b = []byte(newer)
		}
		files[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := LoadSchemasFS(files)
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t)
	writer, reader := newSerde(t, reg, newer), newSerde(t, reg, old)
	v, err := newer.Validator("sluice.source.support.TicketEvent")
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("testdata/validate/sluice.source.support.TicketEvent/valid-status-changed.json")
	if err != nil {
		t.Fatal(err)
	}
	subject := Subject("sluice.in.support", "sluice.source.support.TicketEvent")
	for _, status := range []string{"OPEN", "SPAM", "SOLVED"} {
		data, err := v.Validate(body)
		if err != nil {
			t.Fatal(err)
		}
		data["detail"].(map[string]any)["status"] = status
		b, err := writer.EncodeNative(ctx, subject, NativeEvent(fixtureEnvelope("ticket.status_changed", "support"), data))
		if err != nil {
			t.Fatal(err)
		}
		_, rec, err := reader.DecodeRecord(ctx, b)
		if status == "SPAM" {
			if !errors.Is(err, ErrIncompatible) {
				t.Errorf("a SPAM ticket: %v, want ErrIncompatible", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("a %s ticket: %v", status, err)
		}
		if got := Field(Field(rec.Get("data"), "detail"), "status"); got != status {
			t.Errorf("status %v, want %s", got, status)
		}
	}
}

// FuzzTranscode feeds arbitrary bodies to the resolutions of
// resolveCases. For any body: no panic, an answer in about the time the
// body takes to read, and a transcoding that succeeds is a body of the
// reader's schema that the native decoder reads.
func FuzzTranscode(f *testing.F) {
	api := newAPI()
	type target struct {
		x  *xnode
		rn *vnode
	}
	var targets []target
	for i, tc := range resolveCases {
		writer, reader := parse(f, recordR(tc.writer)), parse(f, recordR(tc.reader))
		x, err := resolution(reader, writer, api)
		if err != nil {
			f.Fatalf("%s: %v", tc.name, err)
		}
		rn, err := compileNode(reader, map[string]*vnode{})
		if err != nil || !prepareDecode(rn) {
			f.Fatalf("%s: %v", tc.name, err)
		}
		targets = append(targets, target{x, rn})
		if body, err := api.Marshal(writer, tc.value); err == nil {
			f.Add(uint8(i), body)
		}
	}
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, i uint8, body []byte) {
		tg := targets[int(i)%len(targets)]
		out, err := transcode(nil, body, tg.x)
		if err != nil {
			return
		}
		if _, err := decodeRecord(out, tg.rn, nil); err != nil {
			t.Errorf("the transcoding of %x does not decode: %v", body, err)
		}
	})
}
