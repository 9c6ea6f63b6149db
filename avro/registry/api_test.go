package registry_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro/registry"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/testkit"
)

// startOn starts a registry on a topic of the test's own and returns its
// URL and the topic.
func startOn(t *testing.T, k *testkit.Kafka, opts ...registry.Opt) (string, string) {
	t.Helper()
	topic := testkit.Name(t, "schemas")
	base := []registry.Opt{registry.Topic(topic), registry.TransactionalID(topic), registry.Logger(testkit.Logger(t))}
	return registrytest.StartWith(t, k, append(base, opts...)...), topic
}

// stored returns the registry's data records in the topic (position
// markers left out) as "key => value" lines.
func stored(t *testing.T, k *testkit.Kafka, topic string) []string {
	t.Helper()
	var out []string
	for _, r := range k.Records(t, topic) {
		if strings.Contains(string(r.Key), `"NOOP"`) {
			continue
		}
		out = append(out, string(r.Key)+" => "+string(r.Value))
	}
	return out
}

// snapshot is what the API says about everything, deleted data included.
func snapshot(t *testing.T, url string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/subjects?deleted=true", "/schemas?deleted=true", "/config", "/mode"} {
		r := call(t, "GET", url+p, "", "")
		fmt.Fprintf(&b, "%s %d %s\n", p, r.status, r.body)
	}
	return b.String()
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, topic := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	v1 := rec(field("a", `"int"`, ""))
	id, err := cl.RegisterSchema(ctx, "s", sr.Schema{Schema: v1}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RegisterSchema(ctx, "s", sr.Schema{Schema: rec(field("a", `"int"`, ""), field("b", `"long"`, "0"))}, -1, -1); err != nil {
		t.Fatal(err)
	}
	if err := cl.DeleteSchema(ctx, "s", 1, sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RegisterSchema(ctx, "gone", sr.Schema{Schema: `"int"`}, -1, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DeleteSubject(ctx, "gone", sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	beforeAPI, beforeTopic := snapshot(t, url), stored(t, k, topic)

	bad := rec(field("a", `"int"`, ""), field("b", `"long"`, `"soon"`))
	tests := []struct {
		name         string
		method, path string
		body         string
		contentType  string
		status, code int
		message      string
	}{
		{"schema not JSON", "POST", "/subjects/s/versions", schemaBody(`{"type":`), "", 422, 42201, "not valid JSON"},
		{"record without fields", "POST", "/subjects/s/versions", schemaBody(`{"type":"record","name":"R"}`), "", 422, 42201, `record R has no "fields"`},
		{"default of the wrong type", "POST", "/subjects/s/versions", schemaBody(bad), "", 422, 42201, `invalid default for field "b": "soon" is not a valid long`},
		{"undefined type", "POST", "/subjects/s/versions", schemaBody(rec(field("a", `"Money"`, ""))), "", 422, 42201, `"Money" is not a defined name`},
		{"body not JSON", "POST", "/subjects/s/versions", `{"schema":`, "", 400, 400, "Malformed request body"},
		{"schema not a string", "POST", "/subjects/s/versions", `{"schema":5}`, "", 400, 400, `field "schema"`},
		{"two bodies", "POST", "/subjects/s/versions", `{"schema":"\"int\""}{}`, "", 400, 400, "unexpected data"},
		{"empty body", "POST", "/subjects/s/versions", "", "", 422, 422, "may not be empty"},
		{"no schema", "POST", "/subjects/s/versions", `{"schemaType":"AVRO"}`, "", 422, 42201, `no "schema"`},
		{"protobuf", "POST", "/subjects/s/versions", `{"schema":"syntax = \"proto3\";","schemaType":"PROTOBUF"}`, "", 422, 42201, "PROTOBUF is not supported"},
		{"unknown schema type", "POST", "/subjects/s/versions", `{"schema":"\"int\"","schemaType":"XML"}`, "", 422, 42201, "unknown schema type"},
		{"metadata", "POST", "/subjects/s/versions", `{"schema":"\"int\"","metadata":{"properties":{"owner":"x"}}}`, "", 422, 42201, "metadata"},
		{"missing reference", "POST", "/subjects/t/versions", `{"schema":"\"int\"","references":[{"name":"X","subject":"nope","version":1}]}`, "", 422, 42201, `subject "nope" has no version 1`},
		{"incomplete reference", "POST", "/subjects/t/versions", `{"schema":"\"int\"","references":[{"name":"X","subject":"s"}]}`, "", 422, 42201, "reference 0 needs"},
		{"incompatible", "POST", "/subjects/s/versions", schemaBody(rec(field("a", `"string"`, ""))), "", 409, 409, "TYPE_MISMATCH"},
		{"invalid subject", "POST", "/subjects/a%01b/versions", schemaBody(`"int"`), "", 422, 42208, "not valid"},
		{"text content type", "POST", "/subjects/s/versions", schemaBody(`"int"`), "text/plain", 415, 415, "Unsupported Media Type"},
		{"unknown subject", "GET", "/subjects/nope/versions", "", "", 404, 40401, "Subject 'nope' not found."},
		{"unknown subject version", "GET", "/subjects/nope/versions/1", "", "", 404, 40401, "Subject 'nope' not found."},
		{"unknown version", "GET", "/subjects/s/versions/7", "", "", 404, 40402, "Version 7 not found."},
		{"soft-deleted version", "GET", "/subjects/s/versions/1", "", "", 404, 40402, "Version 1 not found."},
		{"version zero", "GET", "/subjects/s/versions/0", "", "", 422, 42202, "'0' is not a valid version id"},
		{"version not a number", "GET", "/subjects/s/versions/first", "", "", 422, 42202, "'first' is not a valid version id"},
		{"unknown id", "GET", "/schemas/ids/999", "", "", 404, 40403, "Schema 999 not found"},
		{"unknown id subjects", "GET", "/schemas/ids/999/subjects", "", "", 404, 40403, "Schema not found"},
		{"unknown id versions", "GET", "/schemas/ids/999/versions", "", "", 404, 40403, "Schema not found"},
		{"id not a number", "GET", "/schemas/ids/abc", "", "", 404, 404, "HTTP 404 Not Found"},
		{"lookup in an unknown subject", "POST", "/subjects/nope", schemaBody(`"int"`), "", 404, 40401, "Subject 'nope' not found."},
		{"lookup of an unknown schema", "POST", "/subjects/s", schemaBody(`"string"`), "", 404, 40403, "Schema not found"},
		{"lookup of an invalid schema", "POST", "/subjects/s", schemaBody(`{"type":"enum"}`), "", 422, 42201, `enum has no "name"`},
		{"invalid level", "PUT", "/config", `{"compatibility":"SIDEWAYS"}`, "", 422, 42203, "Invalid compatibility level"},
		{"invalid subject level", "PUT", "/config/s", `{"compatibility":"SIDEWAYS"}`, "", 422, 42203, "Invalid compatibility level"},
		{"no level", "PUT", "/config/s", `{}`, "", 422, 42203, "Invalid compatibility level"},
		{"no subject level", "GET", "/config/s", "", "", 404, 40408, "does not have subject-level compatibility configured"},
		{"reset an unset subject level", "DELETE", "/config/s", "", "", 404, 40401, "Subject 's' not found."},
		{"invalid mode", "PUT", "/mode", `{"mode":"WRITEONLY"}`, "", 422, 42204, "Invalid mode"},
		{"import over live subjects", "PUT", "/mode", `{"mode":"IMPORT"}`, "", 422, 42205, "found existing subjects"},
		{"no subject mode", "GET", "/mode/s", "", "", 404, 40409, "does not have subject-level mode configured"},
		{"register with an id outside import mode", "POST", "/subjects/s/versions", `{"schema":"\"int\"","id":77}`, "", 422, 42205, "not in import mode"},
		{"version out of turn", "POST", "/subjects/s/versions", `{"version":9,"schema":` + mustQuote(rec(field("a", `"int"`, ""), field("b", `"long"`, "0"), field("c", `"int"`, "0"))) + `}`, "", 422, 42201, "one more than previous"},
		{"delete an unknown subject", "DELETE", "/subjects/nope", "", "", 404, 40401, "Subject 'nope' not found."},
		{"delete an unknown version", "DELETE", "/subjects/s/versions/5", "", "", 404, 40402, "Version 5 not found."},
		{"delete a soft-deleted version again", "DELETE", "/subjects/s/versions/1", "", "", 404, 40406, "was soft deleted"},
		{"hard delete before soft delete", "DELETE", "/subjects/s/versions/2?permanent=true", "", "", 404, 40407, "was not deleted first"},
		{"hard delete a live subject", "DELETE", "/subjects/s?permanent=true", "", "", 404, 40405, "was not deleted first"},
		{"soft delete a deleted subject", "DELETE", "/subjects/gone", "", "", 404, 40404, "was soft deleted"},
		{"check against an unknown version", "POST", "/compatibility/subjects/s/versions/4", schemaBody(`"int"`), "", 404, 40402, "Version 4 not found."},
		{"check an invalid schema", "POST", "/compatibility/subjects/s/versions/latest", schemaBody(`{"type":"fixed","name":"F"}`), "", 422, 42201, `needs an integer "size"`},
		{"unknown path", "GET", "/nothing/here", "", "", 404, 404, "HTTP 404 Not Found"},
		{"wrong method", "PATCH", "/subjects", "", "", 405, 405, "HTTP 405 Method Not Allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, url+tc.path, tc.body, tc.contentType)
			if r.status != tc.status {
				t.Fatalf("%s %s = HTTP %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.status)
			}
			code, msg := r.errorBody(t)
			if code != tc.code || !strings.Contains(msg, tc.message) {
				t.Errorf("%s %s = error %d %q, want %d containing %q", tc.method, tc.path, code, msg, tc.code, tc.message)
			}
		})
	}

	if after := snapshot(t, url); after != beforeAPI {
		t.Errorf("the API changed:\nbefore\n%s\nafter\n%s", beforeAPI, after)
	}
	if after := stored(t, k, topic); !slices.Equal(after, beforeTopic) {
		t.Errorf("the topic changed:\nbefore\n%s\nafter\n%s", strings.Join(beforeTopic, "\n"), strings.Join(after, "\n"))
	}
	if s, err := cl.SchemaByID(ctx, id); err != nil || s.Schema != v1 {
		t.Errorf("schema %d = %q, %v", id, s.Schema, err)
	}
}

func TestKafkaUILookups(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, _ := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	schema := `{"type":"record","name":"Order","namespace":"sluice","fields":[{"name":"id","type":"string"}]}`
	id, err := cl.RegisterSchema(ctx, "sluice.in.shop-value", sr.Schema{Schema: schema}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RegisterSchema(ctx, "copy-value", sr.Schema{Schema: schema}, -1, -1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
	}{
		{fmt.Sprintf("/schemas/ids/%d", id), `{"schema":` + mustQuote(schema) + `}`},
		{fmt.Sprintf("/schemas/ids/%d/subjects", id), `["copy-value","sluice.in.shop-value"]`},
		{fmt.Sprintf("/schemas/ids/%d/versions", id), `[{"subject":"copy-value","version":1},{"subject":"sluice.in.shop-value","version":1}]`},
		{fmt.Sprintf("/schemas/ids/%d?fetchMaxId=true", id), `{"schema":` + mustQuote(schema) + fmt.Sprintf(`,"maxId":%d}`, id)},
		{fmt.Sprintf("/schemas/ids/%d/schema", id), schema},
		{"/subjects/sluice.in.shop-value/versions/latest", fmt.Sprintf(`{"subject":"sluice.in.shop-value","version":1,"id":%d,"schema":%s}`, id, mustQuote(schema))},
		{"/subjects/sluice.in.shop-value/versions/1/schema", schema},
		{"/subjects?subjectPrefix=sluice.", `["sluice.in.shop-value"]`},
		{"/config", `{"compatibilityLevel":"BACKWARD"}`},
		{"/config/copy-value?defaultToGlobal=true", `{"compatibilityLevel":"BACKWARD"}`},
		{"/mode", `{"mode":"READWRITE"}`},
		{"/schemas/types", `["AVRO"]`},
		{"/contexts", `["."]`},
		{"/", `{}`},
	}
	for _, tc := range tests {
		r := call(t, "GET", url+tc.path, "", "")
		if r.status != 200 || string(r.body) != tc.want {
			t.Errorf("GET %s = %d %s, want 200 %s", tc.path, r.status, r.body, tc.want)
		}
	}
	for _, ct := range []string{"application/json", "application/vnd.schemaregistry+json", "application/octet-stream"} {
		r := call(t, "POST", url+"/subjects/copy-value", schemaBody(schema), ct)
		if r.status != 200 {
			t.Errorf("lookup with Content-Type %s = %d %s", ct, r.status, r.body)
		}
	}
}

func mustQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestReferences(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, _ := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)

	address := `{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"city","type":"string"}]}`
	addrID, err := cl.RegisterSchema(ctx, "address", sr.Schema{Schema: address}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	person := `{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}`
	ref := []sr.SchemaReference{{Name: "com.acme.Address", Subject: "address", Version: 1}}
	if _, err := cl.RegisterSchema(ctx, "person", sr.Schema{Schema: person}, -1, -1); !registry.IsInvalidSchema(err) || !strings.Contains(err.Error(), `"Address" is not a defined name`) {
		t.Fatalf("register without the reference = %v, want 42201 naming Address", err)
	}
	pid, err := cl.RegisterSchema(ctx, "person", sr.Schema{Schema: person, References: ref}, -1, -1)
	if err != nil {
		t.Fatalf("register with the reference: %v", err)
	}
	latest := []sr.SchemaReference{{Name: "com.acme.Address", Subject: "address", Version: -1}}
	if again, err := cl.RegisterSchema(ctx, "person-copy", sr.Schema{Schema: person, References: latest}, -1, -1); err != nil || again != pid {
		t.Errorf("the same schema with the reference to the latest version = %d, %v; want id %d", again, err, pid)
	}
	byID, err := cl.SchemaByID(ctx, pid)
	if err != nil || !slices.Equal(byID.References, ref) {
		t.Errorf("schema %d references = %+v, %v; want %+v", pid, byID.References, err, ref)
	}
	ss, err := cl.SchemaByVersion(ctx, "person-copy", 1)
	if err != nil || !slices.Equal(ss.References, ref) {
		t.Errorf("person-copy version 1 references = %+v, %v; want the version -1 stored as 1", ss.References, err)
	}
	if found, err := cl.LookupSchema(ctx, "person", sr.Schema{Schema: person, References: ref}); err != nil || found.ID != pid {
		t.Errorf("lookup with references = %+v, %v", found, err)
	}
	users, err := cl.SchemaReferences(ctx, "address", 1)
	if err != nil || len(users) != 2 {
		t.Errorf("schemas referencing address 1 = %+v, %v; want person and person-copy", users, err)
	}
	r := call(t, "GET", url+"/subjects/address/versions/1/referencedby", "", "")
	if string(r.body) != fmt.Sprintf("[%d]", pid) {
		t.Errorf("referencedby = %s, want [%d]", r.body, pid)
	}

	// Compatibility of a schema with references.
	person2 := `{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"home","type":"Address"},{"name":"work","type":"Address"}]}`
	res, err := cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), "person", -1, sr.Schema{Schema: person2, References: ref})
	if err != nil || res.Is || !strings.Contains(strings.Join(res.Messages, " "), "READER_FIELD_MISSING_DEFAULT_VALUE") {
		t.Errorf("check a field without default = %+v, %v; want incompatible", res, err)
	}

	// A referenced version cannot be deleted.
	for _, how := range []sr.DeleteHow{sr.SoftDelete} {
		if err := cl.DeleteSchema(ctx, "address", 1, how); responseCode(err) != 42206 {
			t.Errorf("delete the referenced version = %v, want 42206", err)
		}
		if _, err := cl.DeleteSubject(ctx, "address", how); responseCode(err) != 42206 {
			t.Errorf("delete the referenced subject = %v, want 42206", err)
		}
	}
	for _, s := range []string{"person", "person-copy"} {
		if _, err := cl.DeleteSubject(ctx, s, sr.SoftDelete); err != nil {
			t.Fatal(err)
		}
	}
	// Soft-deleted referrers still hold a hard delete back.
	if _, err := cl.DeleteSubject(ctx, "address", sr.SoftDelete); err != nil {
		t.Fatalf("soft delete address once its referrers are soft-deleted: %v", err)
	}
	if _, err := cl.DeleteSubject(ctx, "address", sr.HardDelete); responseCode(err) != 42206 {
		t.Errorf("hard delete address while soft-deleted schemas reference it = %v, want 42206", err)
	}
	if _, err := cl.SchemaByID(ctx, addrID); err != nil {
		t.Errorf("a soft-deleted schema is still readable by id: %v", err)
	}
}

func TestDeletes(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, _ := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	v1, v2 := rec(field("a", `"int"`, "")), rec(field("a", `"int"`, ""), field("b", `"int"`, "0"))
	id1, err := cl.RegisterSchema(ctx, "d", sr.Schema{Schema: v1}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := cl.RegisterSchema(ctx, "d", sr.Schema{Schema: v2}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	versions := func(params ...sr.Param) []int {
		t.Helper()
		vs, err := cl.SubjectVersions(sr.WithParams(ctx, params...), "d")
		if err != nil && !registry.IsNotFound(err) {
			t.Fatal(err)
		}
		return vs
	}
	if err := cl.DeleteSchema(ctx, "d", 1, sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if got := versions(); !slices.Equal(got, []int{2}) {
		t.Errorf("versions after soft-deleting 1 = %v", got)
	}
	if got := versions(sr.ShowDeleted); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("versions with deleted = %v", got)
	}
	if got := versions(sr.DeletedOnly); !slices.Equal(got, []int{1}) {
		t.Errorf("deleted versions = %v", got)
	}
	if subjects, err := cl.Subjects(sr.WithParams(ctx, sr.DeletedOnly)); err != nil || slices.Contains(subjects, "d") {
		t.Errorf("deleted subjects while version 2 is live = %v, %v; want no d", subjects, err)
	}
	if ss, err := cl.SchemaByVersion(sr.WithParams(ctx, sr.ShowDeleted), "d", 1); err != nil || ss.ID != id1 {
		t.Errorf("soft-deleted version with ?deleted = %+v, %v", ss, err)
	}
	if err := cl.DeleteSchema(ctx, "d", 1, sr.HardDelete); err != nil {
		t.Fatalf("hard delete after soft delete: %v", err)
	}
	if got := versions(sr.ShowDeleted); !slices.Equal(got, []int{2}) {
		t.Errorf("versions with deleted after the hard delete = %v", got)
	}
	if _, err := cl.SchemaByID(ctx, id1); responseCode(err) != 40403 {
		t.Errorf("id %d after its only version was hard-deleted = %v, want 40403", id1, err)
	}

	deleted, err := cl.DeleteSubject(ctx, "d", sr.SoftDelete)
	if err != nil || !slices.Equal(deleted, []int{2}) {
		t.Fatalf("soft delete the subject = %v, %v", deleted, err)
	}
	if subjects, _ := cl.Subjects(ctx); slices.Contains(subjects, "d") {
		t.Errorf("subjects after a soft delete = %v", subjects)
	}
	if subjects, _ := cl.Subjects(sr.WithParams(ctx, sr.ShowDeleted)); !slices.Contains(subjects, "d") {
		t.Errorf("subjects with deleted = %v", subjects)
	}
	if subjects, err := cl.Subjects(sr.WithParams(ctx, sr.DeletedOnly)); err != nil || !slices.Equal(subjects, []string{"d"}) {
		t.Errorf("deleted subjects after the subject's soft delete = %v, %v; want [d]", subjects, err)
	}
	// The same schema again: a new version with the old id; the
	// soft-deleted version of it goes.
	again, err := cl.CreateSchema(ctx, "d", sr.Schema{Schema: v2})
	if err != nil || again.ID != id2 || again.Version != 3 {
		t.Errorf("re-register after a soft delete = %+v, %v; want id %d version 3", again, err, id2)
	}
	if got := versions(sr.ShowDeleted); !slices.Equal(got, []int{3}) {
		t.Errorf("versions with deleted after re-registering = %v, want [3]", got)
	}
	if _, err := cl.DeleteSubject(ctx, "d", sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if deleted, err := cl.DeleteSubject(ctx, "d", sr.HardDelete); err != nil || !slices.Equal(deleted, []int{3}) {
		t.Fatalf("hard delete the subject = %v, %v", deleted, err)
	}
	if _, err := cl.SubjectVersions(sr.WithParams(ctx, sr.ShowDeleted), "d"); responseCode(err) != 40401 {
		t.Errorf("versions of a hard-deleted subject = %v, want 40401", err)
	}
	// Versions start again at 1, ids do not.
	fresh, err := cl.CreateSchema(ctx, "d", sr.Schema{Schema: `"string"`})
	if err != nil || fresh.Version != 1 || fresh.ID <= id2 {
		t.Errorf("register after a hard delete = %+v, %v; want version 1 and an id above %d", fresh, err, id2)
	}
}

func TestModes(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, _ := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	if _, err := cl.RegisterSchema(ctx, "m", sr.Schema{Schema: `"int"`}, -1, -1); err != nil {
		t.Fatal(err)
	}
	if res := cl.SetMode(ctx, sr.ModeReadOnly); res[0].Err != nil || res[0].Mode != sr.ModeReadOnly {
		t.Fatalf("set READONLY = %+v", res[0])
	}
	if _, err := cl.RegisterSchema(ctx, "m", sr.Schema{Schema: `"long"`}, -1, -1); responseCode(err) != 42205 || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("register in READONLY = %v, want 42205", err)
	}
	if err := cl.DeleteSchema(ctx, "m", 1, sr.SoftDelete); responseCode(err) != 42205 {
		t.Errorf("delete in READONLY = %v, want 42205", err)
	}
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatNone}, "m"); responseCode(res[0].Err) != 42205 {
		t.Errorf("set a level in READONLY = %v, want 42205", res[0].Err)
	}
	// Reads still work, and a subject-level mode overrides the global one.
	if _, err := cl.SchemaByVersion(ctx, "m", 1); err != nil {
		t.Errorf("read in READONLY: %v", err)
	}
	if res := cl.SetMode(ctx, sr.ModeReadWrite, "open"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if _, err := cl.RegisterSchema(ctx, "open", sr.Schema{Schema: `"int"`}, -1, -1); err != nil {
		t.Errorf("register under a READWRITE subject in a READONLY registry: %v", err)
	}
	if res := cl.Mode(ctx, "open", "m"); res[0].Mode != sr.ModeReadWrite || responseCode(res[1].Err) != 40409 {
		t.Errorf("modes = %+v", res)
	}
	if res := cl.Mode(sr.WithParams(ctx, sr.DefaultToGlobal), "m"); res[0].Mode != sr.ModeReadOnly {
		t.Errorf("mode of m with defaultToGlobal = %+v", res[0])
	}
	if res := cl.ResetMode(ctx, "open"); res[0].Err != nil || res[0].Mode != sr.ModeReadWrite {
		t.Errorf("reset the mode of open = %+v", res[0])
	}
	if res := cl.SetMode(ctx, sr.ModeReadWrite); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if _, err := cl.RegisterSchema(ctx, "m", sr.Schema{Schema: `"long"`}, -1, -1); err != nil {
		t.Errorf("register back in READWRITE: %v", err)
	}

	// IMPORT keeps the given ids and versions and skips compatibility.
	if res := cl.SetMode(sr.WithParams(ctx, sr.Force), sr.ModeImport, "imported"); res[0].Err != nil {
		t.Fatalf("set IMPORT: %v", res[0].Err)
	}
	if _, err := cl.RegisterSchema(ctx, "imported", sr.Schema{Schema: `"int"`}, -1, -1); responseCode(err) != 42205 {
		t.Errorf("register without an id in IMPORT = %v, want 42205", err)
	}
	if id, err := cl.RegisterSchema(ctx, "imported", sr.Schema{Schema: `"boolean"`}, 500, 7); err != nil || id != 500 {
		t.Fatalf("import id 500 version 7 = %d, %v", id, err)
	}
	if id, err := cl.RegisterSchema(ctx, "imported", sr.Schema{Schema: `"double"`}, 501, 8); err != nil || id != 501 {
		t.Fatalf("import an incompatible schema = %d, %v", id, err)
	}
	if _, err := cl.RegisterSchema(ctx, "imported", sr.Schema{Schema: `"float"`}, 500, 9); responseCode(err) != 42207 {
		t.Errorf("import another schema under a taken id = %v, want 42207", err)
	}
	if ss, err := cl.SchemaByVersion(ctx, "imported", 7); err != nil || ss.ID != 500 {
		t.Errorf("imported version 7 = %+v, %v", ss, err)
	}
	if res := cl.ResetMode(ctx, "imported"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	next, err := cl.RegisterSchema(ctx, "after-import", sr.Schema{Schema: `"bytes"`}, -1, -1)
	if err != nil || next != 502 {
		t.Errorf("the id after imported 501 = %d, %v; want 502", next, err)
	}
}

// TestRegisterExistingInAnyMode: posting a schema its subject already has
// answers with that version in every mode, as Confluent's
// registerOrForward does before it looks at the mode, when the request
// gives no id or the version's id, and no version (or -1) or the
// version's. Only a request that would write is refused.
func TestRegisterExistingInAnyMode(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, topic := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	id, err := cl.RegisterSchema(ctx, "frozen", sr.Schema{Schema: `"int"`}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res := cl.SetMode(ctx, sr.ModeReadOnly, "frozen"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if res := cl.SetMode(sr.WithParams(ctx, sr.Force), sr.ModeImport, "imported"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if got, err := cl.RegisterSchema(ctx, "imported", sr.Schema{Schema: `"boolean"`}, 900, 3); err != nil || got != 900 {
		t.Fatalf("import id 900 version 3 = %d, %v", got, err)
	}
	before := stored(t, k, topic)

	type registered struct {
		ID      int `json:"id"`
		Version int `json:"version"`
	}
	for _, tc := range []struct {
		name, subject, body string
		want                registered
	}{
		{"READONLY, no id", "frozen", schemaBody(`"int"`), registered{id, 1}},
		{"READONLY, another layout", "frozen", schemaBody(`{"type":"int"}`), registered{id, 1}},
		{"READONLY, version -1", "frozen", `{"schema":"\"int\"","version":-1}`, registered{id, 1}},
		{"READONLY, its id", "frozen", fmt.Sprintf(`{"schema":"\"int\"","id":%d}`, id), registered{id, 1}},
		{"READONLY, its id and version", "frozen", fmt.Sprintf(`{"schema":"\"int\"","id":%d,"version":1}`, id), registered{id, 1}},
		{"IMPORT, no id", "imported", schemaBody(`"boolean"`), registered{900, 3}},
		{"IMPORT, version -1", "imported", `{"schema":"\"boolean\"","version":-1}`, registered{900, 3}},
		{"IMPORT, its id", "imported", `{"schema":"\"boolean\"","id":900}`, registered{900, 3}},
		{"IMPORT, its id and version", "imported", `{"schema":"\"boolean\"","id":900,"version":3}`, registered{900, 3}},
	} {
		r := call(t, "POST", url+"/subjects/"+tc.subject+"/versions", tc.body, "")
		var got registered
		if r.status != 200 || json.Unmarshal(r.body, &got) != nil || got != tc.want {
			t.Errorf("%s: register %s = %d %s, want 200 with %+v", tc.name, tc.body, r.status, r.body, tc.want)
		}
	}
	for _, tc := range []struct {
		name, subject, body, message string
	}{
		{"READONLY, another schema", "frozen", schemaBody(`"long"`), "read-only"},
		{"READONLY, another version", "frozen", `{"schema":"\"int\"","version":2}`, "read-only"},
		{"READONLY, another id", "frozen", fmt.Sprintf(`{"schema":"\"int\"","id":%d}`, id+100), "read-only"},
		{"IMPORT, another schema without an id", "imported", schemaBody(`"double"`), "not in read-write mode"},
	} {
		r := call(t, "POST", url+"/subjects/"+tc.subject+"/versions", tc.body, "")
		if code, msg := r.errorBody(t); r.status != 422 || code != 42205 || !strings.Contains(msg, tc.message) {
			t.Errorf("%s: register %s = %d %s, want 422 with 42205 saying %q", tc.name, tc.body, r.status, r.body, tc.message)
		}
	}
	if after := stored(t, k, topic); !slices.Equal(after, before) {
		t.Errorf("the topic changed:\nbefore\n%s\nafter\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, _ := startOn(t, k, registry.DefaultCompatibility("FORWARD"))
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	if res := cl.Compatibility(ctx); res[0].Err != nil || res[0].Level != sr.CompatForward {
		t.Errorf("global level = %+v, want FORWARD (the default given)", res[0])
	}
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFullTransitive}, "c"); res[0].Err != nil || res[0].Level != sr.CompatFullTransitive {
		t.Fatalf("set the level of c = %+v", res[0])
	}
	res := cl.Compatibility(ctx, "c", "other")
	if res[0].Level != sr.CompatFullTransitive || responseCode(res[1].Err) != 40408 {
		t.Errorf("levels of c and other = %+v", res)
	}
	if res := cl.Compatibility(sr.WithParams(ctx, sr.DefaultToGlobal), "other"); res[0].Level != sr.CompatForward {
		t.Errorf("level of other with defaultToGlobal = %+v", res[0])
	}
	if r := call(t, "PUT", url+"/config", `{"compatibility":"backward"}`, "application/json"); r.status != 200 || string(r.body) != `{"compatibility":"BACKWARD"}` {
		t.Errorf("PUT /config lower case = %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", url+"/config/c", "", ""); r.status != 200 || !strings.Contains(string(r.body), `"compatibilityLevel":"FULL_TRANSITIVE"`) {
		t.Errorf("DELETE /config/c = %d %s, want the level it had", r.status, r.body)
	}
	if res := cl.Compatibility(ctx, "c"); responseCode(res[0].Err) != 40408 {
		t.Errorf("level of c after the reset = %+v", res[0])
	}
	if res := cl.ResetCompatibility(ctx); res[0].Err != nil || res[0].Level != sr.CompatBackward {
		t.Errorf("reset the global level = %+v, want the BACKWARD it had", res[0])
	}
	if res := cl.Compatibility(ctx); res[0].Level != sr.CompatForward {
		t.Errorf("global level after the reset = %+v, want the default FORWARD", res[0])
	}
}

// The topic holds Confluent's record format, and a topic written by
// Confluent Schema Registry is served.
func TestStorageFormat(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, topic := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	id, err := cl.RegisterSchema(ctx, "f", sr.Schema{Schema: `"int"`}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFull}, "f"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if res := cl.SetMode(ctx, sr.ModeReadWrite); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if _, err := cl.DeleteSubject(ctx, "f", sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DeleteSubject(ctx, "f", sr.HardDelete); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf(`{"keytype":"SCHEMA","subject":"f","version":1,"magic":1} => {"subject":"f","version":1,"id":%d,"schema":"\"int\"","deleted":false}`, id),
		`{"keytype":"CONFIG","subject":"f","magic":0} => {"subject":"f","compatibilityLevel":"FULL"}`,
		`{"keytype":"MODE","magic":0} => {"mode":"READWRITE"}`,
		`{"keytype":"DELETE_SUBJECT","subject":"f","magic":0} => {"subject":"f","version":1}`,
		`{"keytype":"SCHEMA","subject":"f","version":1,"magic":1} => `,
		`{"keytype":"CONFIG","subject":"f","magic":0} => `,
	}
	if got := stored(t, k, topic); !slices.Equal(got, want) {
		t.Errorf("records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Records as Confluent Schema Registry writes them.
	confluent := testkit.Name(t, "confluent")
	compact := "compact"
	k.CreateTopic(t, confluent, 1, map[string]*string{"cleanup.policy": &compact})
	records := [][2]string{
		{`{"keytype":"CONFIG","subject":null,"magic":0}`, `{"compatibilityLevel":"FULL"}`},
		{`{"keytype":"NOOP","magic":0}`, ""},
		{`{"keytype":"SCHEMA","subject":"orders-value","version":1,"magic":1}`, `{"subject":"orders-value","version":1,"id":21,"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}","deleted":false}`},
		{`{"keytype":"SCHEMA","subject":"orders-value","version":2,"magic":1}`, `{"subject":"orders-value","version":2,"id":22,"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null}]}"}`},
		{`{"keytype":"SCHEMA","subject":"old-value","version":1,"magic":1}`, `{"subject":"old-value","version":1,"id":23,"schema":"\"long\"","deleted":false}`},
		{`{"keytype":"DELETE_SUBJECT","subject":"old-value","magic":0}`, `{"subject":"old-value","version":1}`},
		{`{"keytype":"SCHEMA","subject":"proto-value","version":1,"magic":1}`, `{"subject":"proto-value","version":1,"id":24,"schemaType":"PROTOBUF","schema":"syntax = \"proto3\"; message M {}","deleted":false}`},
		{`{"keytype":"MODE","subject":"frozen","magic":0}`, `{"subject":"frozen","mode":"READONLY"}`},
	}
	pcl := k.Client(t, kgo.DefaultProduceTopic(confluent))
	for _, r := range records {
		rec := &kgo.Record{Key: []byte(r[0])}
		if r[1] != "" {
			rec.Value = []byte(r[1])
		}
		if err := pcl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cc := newClient(t, registrytest.StartWith(t, k, registry.Topic(confluent), registry.TransactionalID(confluent)))
	if s, err := cc.SchemaByID(ctx, 22); err != nil || !strings.Contains(s.Schema, "note") {
		t.Errorf("schema 22 = %+v, %v", s, err)
	}
	if s, err := cc.SchemaByID(ctx, 24); err != nil || s.Type != sr.TypeProtobuf {
		t.Errorf("schema 24 = %+v, %v; want the PROTOBUF schema served as stored", s, err)
	}
	if res := cc.Compatibility(ctx); res[0].Level != sr.CompatFull {
		t.Errorf("global level = %+v, want FULL", res[0])
	}
	if subjects, err := cc.Subjects(ctx); err != nil || !slices.Equal(subjects, []string{"orders-value", "proto-value"}) {
		t.Errorf("subjects = %v, %v", subjects, err)
	}
	if res := cc.Mode(ctx, "frozen"); res[0].Mode != sr.ModeReadOnly {
		t.Errorf("mode of frozen = %+v", res[0])
	}
	// FULL: removing the optional note is fine both ways; a new id follows
	// the highest one.
	id3, err := cc.RegisterSchema(ctx, "orders-value", sr.Schema{Schema: `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`}, -1, -1)
	if err != nil || id3 != 21 {
		t.Errorf("register version 1's schema again = %d, %v; want its id 21", id3, err)
	}
	id4, err := cc.RegisterSchema(ctx, "orders-value", sr.Schema{Schema: `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"n","type":"int","default":0}]}`}, -1, -1)
	if err != nil || id4 != 25 {
		t.Errorf("register a new schema = %d, %v; want 25", id4, err)
	}
	if _, err := cc.RegisterSchema(ctx, "proto-value", sr.Schema{Schema: `"int"`}, -1, -1); !registry.IsIncompatible(err) || !strings.Contains(err.Error(), "different schema type") {
		t.Errorf("an Avro schema under a PROTOBUF subject = %v, want incompatible", err)
	}
}

func TestSubjectNamesInPaths(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, _ := startOn(t, k)
	for _, tc := range []struct{ name, escaped string }{
		{"team/orders-value", "team%2Forders-value"},
		{"zahlungen-€-value", "zahlungen-%E2%82%AC-value"},
		{"with space", "with%20space"},
	} {
		r := call(t, "POST", url+"/subjects/"+tc.escaped+"/versions", schemaBody(`"string"`), "")
		if r.status != 200 {
			t.Fatalf("register under %q = %d %s", tc.name, r.status, r.body)
		}
		r = call(t, "GET", url+"/subjects/"+tc.escaped+"/versions/latest", "", "")
		var got struct {
			Subject string `json:"subject"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil || got.Subject != tc.name {
			t.Errorf("latest of %q = %d %s", tc.name, r.status, r.body)
		}
	}
	r := call(t, "GET", url+"/subjects", "", "")
	if string(r.body) != `["team/orders-value","with space","zahlungen-€-value"]` {
		t.Errorf("subjects = %s", r.body)
	}
}

// spellings are schemas as Python's and KafkaJS's serializers send them,
// the text as written, and as Java's serializers send them, Avro's
// Schema.toString(). Each pair is one schema.
var spellings = []struct {
	name, written, java string
}{
	{
		"full name",
		`{"type":"record","name":"com.acme.Order","fields":[{"name":"id","type":"string"}]}`,
		`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"string"}]}`,
	},
	{
		"nested type repeats the namespace",
		`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"line","type":{"type":"record","name":"Line","namespace":"com.acme","fields":[{"name":"sku","type":"string"}]}}]}`,
		`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"line","type":{"type":"record","name":"Line","fields":[{"name":"sku","type":"string"}]}}]}`,
	},
	{
		"reference by full name",
		`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"line","type":{"type":"record","name":"Line","fields":[]}},{"name":"lines","type":{"type":"array","items":"com.acme.Line"}},{"name":"other","type":["null","com.acme.Line"],"default":null}]}`,
		`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"line","type":{"type":"record","name":"Line","fields":[]}},{"name":"lines","type":{"type":"array","items":"Line"}},{"name":"other","type":["null","Line"],"default":null}]}`,
	},
	{
		"nested namespace",
		`{"type":"record","name":"com.acme.Order","fields":[{"name":"pay","type":{"type":"record","name":"Payment","namespace":"com.pay","fields":[{"name":"order","type":["null","com.acme.Order"]},{"name":"kind","type":{"type":"enum","name":"com.pay.Kind","symbols":["CARD"]}},{"name":"again","type":"com.pay.Kind"}]}}]}`,
		`{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"pay","type":{"type":"record","name":"Payment","namespace":"com.pay","fields":[{"name":"order","type":["null","com.acme.Order"]},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["CARD"]}},{"name":"again","type":"Kind"}]}}]}`,
	},
	{
		"explicit ascending order",
		`{"type":"record","name":"Order","fields":[{"name":"id","type":"string","order":"ascending"},{"name":"n","type":"double","default":2.50}]}`,
		`{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"n","type":"double","default":2.5}]}`,
	},
}

// TestSpellingsOfOneSchema registers each schema as written, then looks it
// up and registers it as a Java serializer sends it, and the other way
// round under another subject: one id, one version each, and the text
// served is Avro's, as Confluent Schema Registry serves it.
func TestSpellingsOfOneSchema(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, _ := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	for i, tc := range spellings {
		t.Run(tc.name, func(t *testing.T) {
			for _, order := range [][2]string{{tc.written, tc.java}, {tc.java, tc.written}} {
				first, second := order[0], order[1]
				subject := fmt.Sprintf("spelling-%d-%d", i, len(first))
				id, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: first}, -1, -1)
				if err != nil {
					t.Fatalf("register %s: %v", first, err)
				}
				found, err := cl.LookupSchema(ctx, subject, sr.Schema{Schema: second})
				if err != nil || found.ID != id || found.Version != 1 {
					t.Errorf("lookup of %s after registering %s = %+v, %v; want id %d version 1", second, first, found, err, id)
				}
				again, err := cl.CreateSchema(ctx, subject, sr.Schema{Schema: second})
				if err != nil || again.ID != id || again.Version != 1 {
					t.Errorf("register %s after %s = %+v, %v; want id %d version 1", second, first, again, err, id)
				}
				if vs, err := cl.SubjectVersions(ctx, subject); err != nil || !slices.Equal(vs, []int{1}) {
					t.Errorf("versions of %s = %v, %v; want [1]", subject, vs, err)
				}
				if ss, err := cl.SchemaByVersion(ctx, subject, 1); err != nil || ss.Schema.Schema != tc.java {
					t.Errorf("%s version 1 = %q, %v; want Avro's text %s", subject, ss.Schema.Schema, err, tc.java)
				}
			}
		})
	}
}

// TestSpellingsWithReferences: a schema that names a type of another
// subject's schema by its full name is the one that names it by its short
// name, as Avro writes it.
func TestSpellingsWithReferences(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url, _ := startOn(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, time.Minute)
	line := `{"type":"record","name":"com.acme.Line","fields":[{"name":"sku","type":"string"}]}`
	if _, err := cl.RegisterSchema(ctx, "line", sr.Schema{Schema: line}, -1, -1); err != nil {
		t.Fatal(err)
	}
	refs := []sr.SchemaReference{{Name: "com.acme.Line", Subject: "line", Version: 1}}
	written := `{"type":"record","name":"com.acme.Cart","fields":[{"name":"lines","type":{"type":"array","items":"com.acme.Line"}}]}`
	java := `{"type":"record","name":"Cart","namespace":"com.acme","fields":[{"name":"lines","type":{"type":"array","items":"Line"}}]}`
	id, err := cl.RegisterSchema(ctx, "cart", sr.Schema{Schema: written, References: refs}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if found, err := cl.LookupSchema(ctx, "cart", sr.Schema{Schema: java, References: refs}); err != nil || found.ID != id || found.Version != 1 {
		t.Errorf("lookup by the short name = %+v, %v; want id %d version 1", found, err, id)
	}
	if again, err := cl.CreateSchema(ctx, "cart", sr.Schema{Schema: java, References: refs}); err != nil || again.ID != id || again.Version != 1 {
		t.Errorf("register by the short name = %+v, %v; want id %d version 1", again, err, id)
	}
	if other, err := cl.RegisterSchema(ctx, "cart-copy", sr.Schema{Schema: java, References: refs}, -1, -1); err != nil || other != id {
		t.Errorf("register by the short name under another subject = %d, %v; want id %d", other, err, id)
	}
	if ss, err := cl.SchemaByID(ctx, id); err != nil || ss.Schema != java {
		t.Errorf("schema %d = %q, %v; want Avro's text %s", id, ss.Schema, err, java)
	}
}

// TestStoredSpellings: schemas a storage topic holds as they were written
// (as an older sluice stored them, names as given) keep their ids,
// versions and texts, and the other spelling of one is that schema.
func TestStoredSpellings(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	ctx := testkit.Context(t, time.Minute)
	topic := testkit.Name(t, "stored")
	compact := "compact"
	k.CreateTopic(t, topic, 1, map[string]*string{"cleanup.policy": &compact})
	order := `{"type":"record","name":"com.acme.Order","fields":[{"name":"id","type":"string","order":"ascending"}]}`
	line := `{"type":"record","name":"com.acme.Line","fields":[{"name":"sku","type":"string"}]}`
	cart := `{"type":"record","name":"com.acme.Cart","fields":[{"name":"lines","type":{"type":"array","items":"com.acme.Line"}}]}`
	records := [][2]string{
		{`{"keytype":"SCHEMA","subject":"order","version":1,"magic":1}`, `{"subject":"order","version":1,"id":7,"schema":` + mustQuote(order) + `,"deleted":false}`},
		{`{"keytype":"SCHEMA","subject":"cart","version":1,"magic":1}`, `{"subject":"cart","version":1,"id":9,"references":[{"name":"com.acme.Line","subject":"line","version":1}],"schema":` + mustQuote(cart) + `,"deleted":false}`},
		// The referenced schema after its referrer, as a soft delete
		// rewrites it.
		{`{"keytype":"SCHEMA","subject":"line","version":1,"magic":1}`, `{"subject":"line","version":1,"id":8,"schema":` + mustQuote(line) + `,"deleted":false}`},
	}
	pcl := k.Client(t, kgo.DefaultProduceTopic(topic))
	for _, r := range records {
		if err := pcl.ProduceSync(ctx, &kgo.Record{Key: []byte(r[0]), Value: []byte(r[1])}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl := newClient(t, registrytest.StartWith(t, k, registry.Topic(topic), registry.TransactionalID(topic), registry.Logger(testkit.Logger(t))))
	refs := []sr.SchemaReference{{Name: "com.acme.Line", Subject: "line", Version: 1}}
	for _, tc := range []struct {
		subject string
		id      int
		java    string
		refs    []sr.SchemaReference
	}{
		{"order", 7, `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"string"}]}`, nil},
		{"line", 8, `{"type":"record","name":"Line","namespace":"com.acme","fields":[{"name":"sku","type":"string"}]}`, nil},
		{"cart", 9, `{"type":"record","name":"Cart","namespace":"com.acme","fields":[{"name":"lines","type":{"type":"array","items":"Line"}}]}`, refs},
	} {
		schema := sr.Schema{Schema: tc.java, References: tc.refs}
		if found, err := cl.LookupSchema(ctx, tc.subject, schema); err != nil || found.ID != tc.id || found.Version != 1 {
			t.Errorf("lookup of %s's schema as Java sends it = %+v, %v; want id %d version 1", tc.subject, found, err, tc.id)
		}
		if again, err := cl.CreateSchema(ctx, tc.subject, schema); err != nil || again.ID != tc.id || again.Version != 1 {
			t.Errorf("register %s's schema as Java sends it = %+v, %v; want id %d version 1", tc.subject, again, err, tc.id)
		}
		if copied, err := cl.CreateSchema(ctx, tc.subject+"-copy", schema); err != nil || copied.ID != tc.id {
			t.Errorf("register %s's schema as Java sends it under another subject = %+v, %v; want id %d", tc.subject, copied, err, tc.id)
		}
	}
	for id, text := range map[int]string{7: order, 8: line, 9: cart} {
		if ss, err := cl.SchemaByID(ctx, id); err != nil || ss.Schema != text {
			t.Errorf("schema %d = %q, %v; want it as stored, %s", id, ss.Schema, err, text)
		}
	}
	if ss, err := cl.SchemaByVersion(ctx, "order-copy", 1); err != nil || ss.Schema.Schema != order {
		t.Errorf("order-copy version 1 = %q, %v; want the text of id 7, %s", ss.Schema.Schema, err, order)
	}
}
