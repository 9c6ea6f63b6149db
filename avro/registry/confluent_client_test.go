package registry_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestConfluentPythonClient drives the registry with Confluent's Python
// SchemaRegistryClient, the client every Confluent serializer in Python
// uses, through what producers, consumers and operators' scripts do with
// a subject: register (twice, the same id), look up, check compatibility,
// refuse an incompatible schema with 409, list and fetch versions, set the
// subject's compatibility, soft- and hard-delete, and answer 404 with
// Confluent's error codes for what is missing. Needs SLUICE_PYTHON
// (deploy/local/clients.sh; CI sets it).
func TestConfluentPythonClient(t *testing.T) {
	t.Parallel()
	testkit.Python(t)
	url := registrytest.Start(t, testkit.NewKafka(t))
	out := testkit.RunClient(t, time.Minute, nil, "confluent_registry.py", url, testkit.Name(t, "interop")+"-value")

	type answer struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Status int `json:"status"`
			Code   int `json:"code"`
		} `json:"error"`
	}
	got := map[string]answer{}
	var order []string
	for _, a := range testkit.ReadJSONLines[struct {
		Step string `json:"step"`
		answer
	}](t, "the client", out) {
		got[a.Step] = a.answer
		order = append(order, a.Step)
	}
	result := func(step string) string {
		a, ok := got[step]
		switch {
		case !ok:
			t.Errorf("%s: no answer (steps run: %v)", step, order)
		case a.Error != nil:
			t.Errorf("%s: refused with %d/%d", step, a.Error.Status, a.Error.Code)
		}
		return string(a.Result)
	}
	refused := func(step string, status, code int) {
		a, ok := got[step]
		if !ok || a.Error == nil || a.Error.Status != status || a.Error.Code != code {
			t.Errorf("%s: %+v; want refused with %d/%d", step, a, status, code)
		}
	}
	id := result("register v1")
	if again := result("register v1 again"); again != id {
		t.Errorf("registering the same schema again gave id %s, then %s", id, again)
	}
	for step, want := range map[string]string{
		"lookup v1":                  "1",
		"compatible v2":              "true",
		"compatible bad":             "false",
		"latest version":             "2",
		"versions":                   "[1, 2]",
		"schema of v1's id":          `[{"name": "id", "type": "string"}]`,
		"set subject compatibility":  `"FULL"`,
		"subject compatibility":      `"FULL"`,
		"delete version 2":           "2",
		"versions after delete":      "[1]",
		"delete subject":             "[1]",
		"delete subject permanently": "[1, 2]",
		"subject listed":             "false",
	} {
		if got := result(step); got != want {
			t.Errorf("%s: %s, want %s", step, got, want)
		}
	}
	if v2 := result("register v2"); v2 == id {
		t.Errorf("a new version got the id of the first, %s", id)
	}
	refused("register bad", 409, 409)
	refused("missing schema id", 404, 40403)
	refused("missing subject", 404, 40401)
}

// TestAvroJavaSpellings has Apache Avro's Java library write schemas as
// Confluent's Java serializers send them (Schema.toString, with the
// referenced schemas parsed first) after registering them as written, as
// Python's and KafkaJS's serializers send them. A Java serializer that
// looks its schema up (auto.register.schemas=false) or registers it finds
// the one registered, and the text served is the one Java writes, as
// Confluent Schema Registry serves it. Needs SLUICE_JAVA_CLIENTS
// (deploy/local/clients.sh; CI sets it).
func TestAvroJavaSpellings(t *testing.T) {
	t.Parallel()
	testkit.JavaClients(t)
	cl := newClient(t, registrytest.Start(t, testkit.NewKafka(t)))
	ctx := testkit.Context(t, 2*time.Minute)

	line := `{"type":"record","name":"com.acme.Line","fields":[{"name":"sku","type":"string","order":"ascending"}]}`
	if _, err := cl.RegisterSchema(ctx, "java-line", sr.Schema{Schema: line}, -1, -1); err != nil {
		t.Fatal(err)
	}
	type request struct {
		Schema     string   `json:"schema"`
		References []string `json:"references,omitempty"`
	}
	var reqs []request
	var refs [][]sr.SchemaReference
	for _, s := range spellings {
		reqs = append(reqs, request{Schema: s.written})
		refs = append(refs, nil)
	}
	reqs = append(reqs, request{
		Schema:     `{"type":"record","name":"com.acme.Cart","fields":[{"name":"lines","type":{"type":"array","items":"com.acme.Line"}},{"name":"total","type":"double","default":0.50}]}`,
		References: []string{line},
	})
	refs = append(refs, []sr.SchemaReference{{Name: "com.acme.Line", Subject: "java-line", Version: 1}})
	out := testkit.RunClient(t, time.Minute, testkit.JSONLines(t, reqs...), "AvroSchemaText.java")
	java := testkit.ReadJSONLines[request](t, "AvroSchemaText.java", out)
	if len(java) != len(reqs) {
		t.Fatalf("AvroSchemaText.java wrote %d schemas of %d", len(java), len(reqs))
	}
	for i, req := range reqs {
		subject := fmt.Sprintf("java-%d", i)
		id, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: req.Schema, References: refs[i]}, -1, -1)
		if err != nil {
			t.Fatalf("register %s: %v", req.Schema, err)
		}
		sent := sr.Schema{Schema: java[i].Schema, References: refs[i]}
		if found, err := cl.LookupSchema(ctx, subject, sent); err != nil || found.ID != id || found.Version != 1 {
			t.Errorf("lookup of Java's %s = %+v, %v; want id %d version 1", sent.Schema, found, err, id)
		}
		if again, err := cl.CreateSchema(ctx, subject, sent); err != nil || again.ID != id || again.Version != 1 {
			t.Errorf("register Java's %s = %+v, %v; want id %d version 1", sent.Schema, again, err, id)
		}
		if ss, err := cl.SchemaByID(ctx, id); err != nil || ss.Schema != java[i].Schema {
			t.Errorf("schema %d = %q, %v; want the text Java writes, %s", id, ss.Schema, err, java[i].Schema)
		}
	}
}
