package registry_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro/registry"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/testkit"
)

// newClient returns an sr client of the registry at url.
func newClient(t testing.TB, url string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url), sr.HTTPClient(&http.Client{Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatalf("sr client: %v", err)
	}
	return cl
}

// rec wraps field definitions in a record named R.
func rec(fields ...string) string {
	return `{"type":"record","name":"R","fields":[` + strings.Join(fields, ",") + `]}`
}

// field returns a field definition; def, when not empty, is its default.
func field(name, typ, def string) string {
	s := fmt.Sprintf(`{"name":%q,"type":%s`, name, typ)
	if def != "" {
		s += `,"default":` + def
	}
	return s + "}"
}

// httpResult is a raw HTTP answer.
type httpResult struct {
	status int
	body   []byte
}

// errorBody decodes a Confluent-style error body.
func (r httpResult) errorBody(t testing.TB) (int, string) {
	t.Helper()
	var e struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Code, e.Message
}

// call makes a raw HTTP request; contentType "" sends Confluent's.
func call(t testing.TB, method, url, body, contentType string) httpResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testkit.Context(t, 30*time.Second), method, url, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if contentType == "" {
		contentType = "application/vnd.schemaregistry.v1+json"
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return httpResult{resp.StatusCode, b}
}

func schemaBody(schema string) string {
	b, _ := json.Marshal(map[string]string{"schema": schema})
	return string(b)
}

func responseCode(err error) int {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return 0
}

func TestRegisterAndFetch(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url := registrytest.Start(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, 30*time.Second)

	const schema = `{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}`
	id, err := cl.RegisterSchema(ctx, "a-value", sr.Schema{Schema: schema}, -1, -1)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	got, err := cl.SchemaByID(ctx, id)
	if err != nil {
		t.Fatalf("by id: %v", err)
	}
	if got.Schema != schema || got.Type != sr.TypeAvro {
		t.Errorf("schema by id = %+v, want %s", got, schema)
	}
	layout := "{\n  \"fields\": [ {\"type\": {\"type\": \"int\"}, \"name\": \"x\"} ],\n  \"name\": \"A\", \"type\": \"record\"\n}"
	again, err := cl.RegisterSchema(ctx, "a-value", sr.Schema{Schema: layout}, -1, -1)
	if err != nil || again != id {
		t.Errorf("registering the same schema in another layout = %d, %v; want id %d", again, err, id)
	}
	other, err := cl.RegisterSchema(ctx, "b-value", sr.Schema{Schema: schema}, -1, -1)
	if err != nil || other != id {
		t.Errorf("registering the same schema under another subject = %d, %v; want id %d", other, err, id)
	}
	ss, err := cl.CreateSchema(ctx, "a-value", sr.Schema{Schema: `{"type":"record","name":"A","fields":[{"name":"x","type":"int"},{"name":"y","type":"string","default":""}]}`})
	if err != nil {
		t.Fatalf("create a second schema: %v", err)
	}
	if ss.ID <= id || ss.Version != 2 || ss.Subject != "a-value" {
		t.Errorf("a new schema got %+v, want a greater id than %d and version 2 of a-value", ss, id)
	}
	latest, err := cl.SchemaByVersion(ctx, "a-value", -1)
	if err != nil || latest.Version != 2 || latest.ID != ss.ID {
		t.Errorf("latest of a-value = %+v, %v; want version 2, id %d", latest, err, ss.ID)
	}
	text, err := cl.SchemaTextByID(ctx, id)
	if err != nil || text != schema {
		t.Errorf("schema text by id = %q, %v; want %q", text, err, schema)
	}
	subjects, err := cl.Subjects(ctx)
	if err != nil || !slices.Equal(subjects, []string{"a-value", "b-value"}) {
		t.Errorf("subjects = %v, %v", subjects, err)
	}
	found, err := cl.LookupSchema(ctx, "b-value", sr.Schema{Schema: layout})
	if err != nil || found.ID != id || found.Version != 1 || found.Subject != "b-value" {
		t.Errorf("lookup = %+v, %v; want id %d version 1", found, err, id)
	}
	usages, err := cl.SchemaUsagesByID(ctx, id)
	if err != nil || len(usages) != 2 {
		t.Errorf("usages of %d = %+v, %v; want a-value 1 and b-value 1", id, usages, err)
	}
	types, err := cl.SupportedTypes(ctx)
	if err != nil || !slices.Equal(types, []sr.SchemaType{sr.TypeAvro}) {
		t.Errorf("supported types = %v, %v", types, err)
	}
}

// The compatibility matrix: each case registers a history under NONE, then
// sets the subject's level and registers one more schema, once per level.
func TestCompatibilityMatrix(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url := registrytest.Start(t, k, registry.DefaultCompatibility("NONE"))
	cl := newClient(t, url)

	enum := func(def string, symbols ...string) string {
		s := `{"type":"enum","name":"E","symbols":["` + strings.Join(symbols, `","`) + `"]`
		if def != "" {
			s += `,"default":"` + def + `"`
		}
		return s + "}"
	}
	nested := func(fields ...string) string {
		return `{"type":"record","name":"N","fields":[` + strings.Join(fields, ",") + `]}`
	}
	a := field("a", `"int"`, "")
	levels := []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}
	// want lists, for the levels above in order, y (compatible) or n; NONE
	// always accepts a valid schema. "invalid" means refused at every level
	// with 42201.
	tests := []struct {
		name    string
		history []string
		schema  string
		want    string
		reason  string
	}{
		{"field added with a default", []string{rec(a)}, rec(a, field("b", `"string"`, `""`)), "yyyyyy", ""},
		{"field added without default", []string{rec(a)}, rec(a, field("b", `"string"`, "")), "nnyynn", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"field with a default removed", []string{rec(a, field("b", `"string"`, `""`))}, rec(a), "yyyyyy", ""},
		{"field without default removed", []string{rec(a, field("b", `"string"`, ""))}, rec(a), "yynnnn", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"int to long", []string{rec(a)}, rec(field("a", `"long"`, "")), "yynnnn", "TYPE_MISMATCH"},
		{"long to int", []string{rec(field("a", `"long"`, ""))}, rec(a), "nnyynn", "TYPE_MISMATCH"},
		{"int then long then float then double",
			[]string{rec(a), rec(field("a", `"long"`, "")), rec(field("a", `"float"`, ""))}, rec(field("a", `"double"`, "")), "yynnnn", "TYPE_MISMATCH"},
		{"long then double then int", []string{rec(field("a", `"long"`, "")), rec(field("a", `"double"`, ""))}, rec(a), "nnyynn", "TYPE_MISMATCH"},
		{"string to bytes", []string{rec(field("a", `"string"`, ""))}, rec(field("a", `"bytes"`, "")), "yyyyyy", ""},
		{"bytes to string", []string{rec(field("a", `"bytes"`, ""))}, rec(field("a", `"string"`, "")), "yyyyyy", ""},
		{"string to int", []string{rec(field("a", `"string"`, ""))}, rec(a), "nnnnnn", "TYPE_MISMATCH"},
		{"enum symbol added", []string{rec(field("e", enum("", "A", "B"), ""))}, rec(field("e", enum("", "A", "B", "C"), "")), "yynnnn", "MISSING_ENUM_SYMBOLS"},
		{"enum symbol removed", []string{rec(field("e", enum("", "A", "B", "C"), ""))}, rec(field("e", enum("", "A", "B"), "")), "nnyynn", "MISSING_ENUM_SYMBOLS"},
		{"enum symbol added to an enum with a default", []string{rec(field("e", enum("A", "A", "B"), ""))}, rec(field("e", enum("A", "A", "B", "C"), "")), "yyyyyy", ""},
		{"union widened", []string{rec(field("u", `["null","string"]`, "null"))}, rec(field("u", `["null","string","int"]`, "null")), "yynnnn", "MISSING_UNION_BRANCH"},
		{"union narrowed", []string{rec(field("u", `["null","string","int"]`, "null"))}, rec(field("u", `["null","string"]`, "null")), "nnyynn", "MISSING_UNION_BRANCH"},
		{"field made nullable", []string{rec(field("s", `"string"`, ""))}, rec(field("s", `["null","string"]`, "null")), "yynnnn", "TYPE_MISMATCH"},
		{"nested record gains a field without default",
			[]string{rec(a, field("n", nested(field("x", `"int"`, "")), ""))},
			rec(a, field("n", nested(field("x", `"int"`, ""), field("y", `"int"`, "")), "")), "nnyynn", "'/fields/1/type/fields/1'"},
		{"nested record gains a field with a default",
			[]string{rec(a, field("n", nested(field("x", `"int"`, "")), ""))},
			rec(a, field("n", nested(field("x", `"int"`, ""), field("y", `"int"`, "0")), "")), "yyyyyy", ""},
		{"field renamed with an alias", []string{rec(a)}, rec(`{"name":"b","type":"int","aliases":["a"]}`), "yynnnn", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"field renamed without alias", []string{rec(a)}, rec(field("b", `"int"`, "")), "nnnnnn", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"record renamed with an alias", []string{`{"type":"record","name":"Old","fields":[` + a + `]}`},
			`{"type":"record","name":"New","aliases":["Old"],"fields":[` + a + `]}`, "yynnnn", "NAME_MISMATCH"},
		{"record renamed", []string{`{"type":"record","name":"Old","fields":[` + a + `]}`},
			`{"type":"record","name":"New","fields":[` + a + `]}`, "nnnnnn", "NAME_MISMATCH"},
		{"fixed resized", []string{rec(field("f", `{"type":"fixed","name":"F","size":4}`, ""))},
			rec(field("f", `{"type":"fixed","name":"F","size":8}`, "")), "nnnnnn", "FIXED_SIZE_MISMATCH"},
		{"array items promoted", []string{rec(field("l", `{"type":"array","items":"int"}`, ""))},
			rec(field("l", `{"type":"array","items":"long"}`, "")), "yynnnn", "TYPE_MISMATCH"},
		{"map values string to bytes", []string{rec(field("m", `{"type":"map","values":"string"}`, ""))},
			rec(field("m", `{"type":"map","values":"bytes"}`, "")), "yyyyyy", ""},
		{"only a transitive backward check sees the oldest version",
			[]string{rec(a), rec(a, field("b", `"string"`, `"x"`))}, rec(a, field("b", `"string"`, "")), "ynyyyn", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"only a transitive forward check sees the oldest version",
			[]string{rec(a, field("b", `"string"`, "")), rec(a, field("b", `"string"`, `""`))}, rec(a), "yyynyn", "READER_FIELD_MISSING_DEFAULT_VALUE"},
		{"default of the wrong type", []string{rec(a)}, rec(a, field("b", `"int"`, `"x"`)), "invalid", "invalid default"},
		{"default of the second union branch", []string{rec(a)}, rec(a, field("b", `["null","int"]`, "1")), "invalid", "first branch"},
	}
	for ci, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for li, level := range append([]string{"NONE"}, levels...) {
				subject := fmt.Sprintf("matrix-%d-%s", ci, level)
				ctx := testkit.Context(t, time.Minute)
				for _, h := range tc.history {
					if _, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: h}, -1, -1); err != nil {
						t.Fatalf("%s: history: %v", level, err)
					}
				}
				var lv sr.CompatibilityLevel
				if err := lv.UnmarshalText([]byte(level)); err != nil {
					t.Fatal(err)
				}
				if level != "NONE" {
					if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: lv}, subject); res[0].Err != nil {
						t.Fatalf("%s: set level: %v", level, res[0].Err)
					}
				}
				want := byte('y')
				if tc.want == "invalid" {
					want = 'i'
				} else if level != "NONE" {
					want = tc.want[li-1]
				}

				check, checkErr := cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), subject, -2, sr.Schema{Schema: tc.schema})
				_, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: tc.schema}, -1, -1)
				switch want {
				case 'y':
					if err != nil {
						t.Errorf("%s: register = %v, want it accepted", level, err)
					}
					if checkErr != nil || !check.Is {
						t.Errorf("%s: compatibility check = %+v, %v; want compatible", level, check, checkErr)
					}
				case 'n':
					if !registry.IsIncompatible(err) {
						t.Errorf("%s: register = %v, want incompatible", level, err)
					} else if msg := err.Error(); !strings.Contains(msg, tc.reason) || !strings.Contains(msg, "compatibility: '"+level+"'") {
						t.Errorf("%s: the message %q does not give the reason %q and the level", level, msg, tc.reason)
					}
					if checkErr != nil || check.Is || len(check.Messages) == 0 {
						t.Errorf("%s: compatibility check = %+v, %v; want incompatible with messages", level, check, checkErr)
					}
				case 'i':
					if !registry.IsInvalidSchema(err) || !strings.Contains(err.Error(), tc.reason) {
						t.Errorf("%s: register = %v, want invalid schema (42201) saying %q", level, err, tc.reason)
					}
				}
			}
		})
	}
}

func TestRestartKeepsIDs(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	topic := testkit.Name(t, "schemas")
	opts := []registry.Opt{registry.Topic(topic), registry.TransactionalID(topic), registry.Logger(testkit.Logger(t))}
	ctx := testkit.Context(t, time.Minute)

	url, stop := registrytest.Run(t, k, opts...)
	cl := newClient(t, url)
	schemas := []string{rec(field("a", `"int"`, "")), rec(field("a", `"int"`, ""), field("b", `"string"`, `""`)), `"string"`}
	subjects := []string{"r", "r", "s"}
	ids := make([]int, len(schemas))
	for i, s := range schemas {
		id, err := cl.RegisterSchema(ctx, subjects[i], sr.Schema{Schema: s}, -1, -1)
		if err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
		ids[i] = id
	}
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFull}, "r"); res[0].Err != nil {
		t.Fatalf("set level: %v", res[0].Err)
	}
	if err := cl.DeleteSchema(ctx, "s", 1, sr.SoftDelete); err != nil {
		t.Fatalf("soft delete: %v", err)
	}
	stop()

	cl = newClient(t, registrytest.StartWith(t, k, opts...))
	for i, s := range schemas {
		got, err := cl.SchemaByID(ctx, ids[i])
		if err != nil || got.Schema != s {
			t.Errorf("after restart, id %d = %q, %v; want %s", ids[i], got.Schema, err, s)
		}
	}
	if ss, err := cl.LookupSchema(ctx, "r", sr.Schema{Schema: schemas[1]}); err != nil || ss.ID != ids[1] || ss.Version != 2 {
		t.Errorf("after restart, lookup = %+v, %v; want id %d version 2", ss, err, ids[1])
	}
	if res := cl.Compatibility(ctx, "r"); res[0].Err != nil || res[0].Level != sr.CompatFull {
		t.Errorf("after restart, level of r = %v, %v; want FULL", res[0].Level, res[0].Err)
	}
	if vs, err := cl.SubjectVersions(ctx, "s"); responseCode(err) != 40401 {
		t.Errorf("after restart, versions of the deleted s = %v, %v; want 40401", vs, err)
	}
	next, err := cl.RegisterSchema(ctx, "t", sr.Schema{Schema: `"long"`}, -1, -1)
	if err != nil || next <= slices.Max(ids) {
		t.Errorf("a schema registered after restart got id %d, %v; want more than %d", next, err, slices.Max(ids))
	}
}

func TestTwoInstancesShareTheTopic(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	topic := testkit.Name(t, "schemas")
	opts := []registry.Opt{registry.Topic(topic), registry.TransactionalID(topic), registry.Logger(testkit.Logger(t))}
	one := newClient(t, registrytest.StartWith(t, k, opts...))
	two := newClient(t, registrytest.StartWith(t, k, opts...))
	ctx := testkit.Context(t, time.Minute)

	first := rec(field("a", `"int"`, ""))
	id, err := one.RegisterSchema(ctx, "shared", sr.Schema{Schema: first}, -1, -1)
	if err != nil {
		t.Fatalf("register through one: %v", err)
	}
	testkit.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		s, err := two.SchemaByID(ctx, id)
		if err != nil {
			return err
		}
		if s.Schema != first {
			return fmt.Errorf("schema %d through two = %s", id, s.Schema)
		}
		return nil
	})
	if again, err := two.RegisterSchema(ctx, "shared", sr.Schema{Schema: first}, -1, -1); err != nil || again != id {
		t.Errorf("the same schema through two = %d, %v; want %d", again, err, id)
	}
	second := rec(field("a", `"int"`, ""), field("b", `"long"`, "0"))
	id2, err := two.RegisterSchema(ctx, "shared", sr.Schema{Schema: second}, -1, -1)
	if err != nil || id2 == id {
		t.Fatalf("a second schema through two = %d, %v; want a new id", id2, err)
	}
	// Two read its own write at once; one follows.
	if ss, err := two.SchemaByVersion(ctx, "shared", 2); err != nil || ss.ID != id2 {
		t.Errorf("version 2 through two = %+v, %v", ss, err)
	}
	testkit.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		ss, err := one.SchemaByVersion(ctx, "shared", -1)
		if err != nil {
			return err
		}
		if ss.Version != 2 || ss.ID != id2 {
			return fmt.Errorf("latest through one = %+v", ss)
		}
		return nil
	})
	// A write through one after two's sees two's: the next id is new.
	id3, err := one.RegisterSchema(ctx, "other", sr.Schema{Schema: `"bytes"`}, -1, -1)
	if err != nil || id3 == id || id3 == id2 {
		t.Errorf("a third schema through one = %d, %v; want an id other than %d and %d", id3, err, id, id2)
	}
}

func TestConcurrentRegistrationOfOneSchema(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	topic := testkit.Name(t, "schemas")
	opts := []registry.Opt{registry.Topic(topic), registry.TransactionalID(topic), registry.Logger(testkit.Logger(t))}
	clients := []*sr.Client{
		newClient(t, registrytest.StartWith(t, k, opts...)),
		newClient(t, registrytest.StartWith(t, k, opts...)),
	}
	ctx := testkit.Context(t, 2*time.Minute)

	tests := []struct {
		name      string
		instances int
	}{
		{"goroutines on one instance", 1},
		{"goroutines on two instances", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			schema := rec(field("n", `"string"`, ""), field("case", `"string"`, fmt.Sprintf("%q", tc.name)))
			const workers = 12
			ids := make([]int, workers)
			errs := make([]error, workers)
			done := make(chan struct{})
			for w := range workers {
				go func() {
					defer func() { done <- struct{}{} }()
					ids[w], errs[w] = clients[w%tc.instances].RegisterSchema(ctx, tc.name, sr.Schema{Schema: schema}, -1, -1)
				}()
			}
			for range workers {
				<-done
			}
			for w := range workers {
				if errs[w] != nil {
					t.Fatalf("worker %d: %v", w, errs[w])
				}
				if ids[w] != ids[0] {
					t.Fatalf("ids = %v, want one id", ids)
				}
			}
			for i := range tc.instances {
				testkit.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
					vs, err := clients[i].SubjectVersions(ctx, tc.name)
					if err != nil {
						return err
					}
					if !slices.Equal(vs, []int{1}) {
						return fmt.Errorf("versions through instance %d = %v, want [1]", i, vs)
					}
					return nil
				})
			}
		})
	}

	t.Run("different schemas on two instances", func(t *testing.T) {
		const workers = 10
		ids := make([]int, workers)
		errs := make([]error, workers)
		done := make(chan struct{})
		for w := range workers {
			go func() {
				defer func() { done <- struct{}{} }()
				ids[w], errs[w] = clients[w%2].RegisterSchema(ctx, fmt.Sprintf("distinct-%d", w), sr.Schema{Schema: rec(field(fmt.Sprintf("f%d", w), `"int"`, ""))}, -1, -1)
			}()
		}
		for range workers {
			<-done
		}
		seen := map[int]bool{}
		for w := range workers {
			if errs[w] != nil {
				t.Fatalf("worker %d: %v", w, errs[w])
			}
			if seen[ids[w]] {
				t.Fatalf("ids = %v: two different schemas share an id", ids)
			}
			seen[ids[w]] = true
		}
		for w := range workers {
			s, err := clients[(w+1)%2].SchemaByID(ctx, ids[w])
			for err != nil && registry.IsNotFound(err) {
				testkit.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
					s, err = clients[(w+1)%2].SchemaByID(ctx, ids[w])
					return err
				})
			}
			if err != nil || !strings.Contains(s.Schema, fmt.Sprintf(`"f%d"`, w)) {
				t.Errorf("id %d through the other instance = %q, %v; want the schema of worker %d", ids[w], s.Schema, err, w)
			}
		}
	})
}

func TestIsIncompatible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"409", &sr.ResponseError{StatusCode: 409, ErrorCode: 409}, true},
		{"40901", &sr.ResponseError{StatusCode: 409, ErrorCode: 40901}, true},
		{"409 without a code", &sr.ResponseError{StatusCode: 409}, true},
		{"wrapped", fmt.Errorf("registering: %w", &sr.ResponseError{StatusCode: 409, ErrorCode: 40901}), true},
		{"invalid schema", &sr.ResponseError{StatusCode: 422, ErrorCode: 42201}, false},
		{"another conflict", &sr.ResponseError{StatusCode: 409, ErrorCode: 40902}, false},
		{"not a registry error", errors.New("409"), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		if got := registry.IsIncompatible(tc.err); got != tc.want {
			t.Errorf("%s: IsIncompatible = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIncompatibleErrorCode(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url := registrytest.Start(t, k, registry.IncompatibleErrorCode(40901))
	cl := newClient(t, url)
	ctx := testkit.Context(t, 30*time.Second)
	if _, err := cl.RegisterSchema(ctx, "s", sr.Schema{Schema: `"int"`}, -1, -1); err != nil {
		t.Fatal(err)
	}
	_, err := cl.RegisterSchema(ctx, "s", sr.Schema{Schema: `"string"`}, -1, -1)
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusConflict || re.ErrorCode != 40901 || !registry.IsIncompatible(err) {
		t.Errorf("incompatible registration = %v, want HTTP 409 with code 40901", err)
	}
}
