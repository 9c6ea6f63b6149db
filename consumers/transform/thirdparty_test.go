package transform_test

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/consumers/transform"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestConfluentClientReadsCanonicalEvents reads the stage's canonical
// events as a consumer service in another language would: Confluent's
// Python client (librdkafka, read_committed) with Confluent's
// AvroDeserializer, which takes the schema id from each value's Confluent
// wire-format header and the schema from sluice's registry. Every event
// decodes, to the same object sluice's own serde decodes, with the same
// headers. Needs SLUICE_PYTHON (deploy/local/clients.sh; CI sets it).
func TestConfluentClientReadsCanonicalEvents(t *testing.T) {
	t.Parallel()
	testkit.Python(t)
	e, st, evs := canonicalOfSources(t)

	var topics []string
	for _, spec := range st.Topics() {
		if !strings.HasPrefix(spec.Name, "sluice.in.") {
			topics = append(topics, spec.Name)
		}
	}
	out := testkit.RunClient(t, 2*time.Minute, nil, "confluent_consume.py", append([]string{
		strings.Join(e.Kafka.Brokers, ","), e.RegistryURL, testkit.Name(t, "py"), fmt.Sprint(len(evs)), "90",
	}, topics...)...)

	type read struct {
		Topic     string            `json:"topic"`
		Partition int32             `json:"partition"`
		Offset    int64             `json:"offset"`
		Key       string            `json:"key"`
		Headers   map[string]string `json:"headers"`
		Value     json.RawMessage   `json:"value"`
	}
	got := map[string]read{}
	for _, r := range testkit.ReadJSONLines[read](t, "the client", out) {
		got[fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)] = r
	}
	if len(got) != len(evs) {
		t.Fatalf("the Confluent client read %d events, sluice wrote %d", len(got), len(evs))
	}
	for _, ev := range evs {
		at := fmt.Sprintf("%s/%d/%d", ev.Raw.Topic, ev.Raw.Partition, ev.Raw.Offset)
		r, ok := got[at]
		if !ok {
			t.Errorf("%s (%s): not read by the Confluent client", at, ev.Record)
			continue
		}
		if r.Key != string(ev.Raw.Key) {
			t.Errorf("%s: key %q, sluice wrote %q", at, r.Key, ev.Raw.Key)
		}
		for _, h := range ev.Raw.Headers {
			if r.Headers[h.Key] != string(h.Value) {
				t.Errorf("%s: header %s = %q, sluice wrote %q", at, h.Key, r.Headers[h.Key], h.Value)
			}
		}
		// The Confluent client's object, read into sluice's type, is
		// the object sluice decodes.
		theirs := reflect.New(reflect.TypeOf(ev.Event))
		if err := json.Unmarshal(r.Value, theirs.Interface()); err != nil {
			t.Errorf("%s: the Confluent client's %s does not fit %T: %v\n%s", at, ev.Record, ev.Event, err, r.Value)
			continue
		}
		if a, b := testkit.AvroValue(testkit.JSONValues(t, theirs.Elem().Interface())), testkit.AvroValue(testkit.JSONValues(t, ev.Event)); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the Confluent client decoded\n%v\nsluice decodes\n%v", at, a, b)
		}
	}
}

// TestConfluentJSClientDecodesCanonicalEvents decodes the stage's
// canonical events as a Node.js service does, with KafkaJS's
// Confluent-compatible schema registry client (Avro through avsc): every
// event decodes, to the object sluice's serde decodes. Needs
// SLUICE_NODE_CLIENTS (deploy/local/clients.sh; CI sets it).
func TestConfluentJSClientDecodesCanonicalEvents(t *testing.T) {
	t.Parallel()
	testkit.NodeClients(t)
	// avsc gives timestamps as epoch milliseconds.
	decodedElsewhere(t, "confluent_decode.mjs", "KafkaJS's registry client", func(theirs, ours any) (any, any) {
		return testkit.AvroValue(theirs), testkit.AvroValue(millis(ours))
	})
}

// TestAvroJavaDecodesCanonicalEvents decodes the stage's canonical events
// with Apache Avro's Java library, the reference implementation, which
// Confluent's Java deserializers, Kafka Connect and ksqlDB decode with:
// the writer's schema from sluice's registry by the value's schema id,
// then a GenericDatumReader that must use every byte. Every event decodes,
// to the object sluice's serde decodes. Needs SLUICE_JAVA_CLIENTS
// (deploy/local/clients.sh; CI sets it).
func TestAvroJavaDecodesCanonicalEvents(t *testing.T) {
	t.Parallel()
	testkit.JavaClients(t)
	decodedElsewhere(t, "AvroDecode.java", "Apache Avro (Java)", func(theirs, ours any) (any, any) {
		return testkit.AvroValue(theirs), testkit.AvroValue(ours)
	})
}

// decodedElsewhere runs the stage over events of three sources and has
// script, a decoder of another implementation (who), decode every
// canonical event by its schema id in sluice's registry. Each must decode
// to the object sluice's serde decodes, once normalize has put what the
// decoder printed and sluice's object (as JSON values) in one form.
func decodedElsewhere(t *testing.T, script, who string, normalize func(theirs, ours any) (any, any)) {
	t.Helper()
	e, _, evs := canonicalOfSources(t)

	values := make([][]byte, len(evs))
	for i, ev := range evs {
		values[i] = ev.Raw.Value
	}
	for i, got := range testkit.DecodeWith(t, script, e.RegistryURL, values) {
		theirs, ours := normalize(got, testkit.JSONValues(t, evs[i].Event))
		if !reflect.DeepEqual(theirs, ours) {
			t.Errorf("%s at %s/%d/%d: %s decoded\n%v\nsluice decodes\n%v", evs[i].Record, evs[i].Raw.Topic, evs[i].Raw.Partition, evs[i].Raw.Offset, who, theirs, ours)
		}
	}
}

// millis turns every RFC 3339 time in x into its epoch milliseconds, as a
// JSON number, the way avsc gives a timestamp-millis.
func millis(x any) any {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			x[k] = millis(v)
		}
	case []any:
		for i := range x {
			x[i] = millis(x[i])
		}
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return float64(t.UnixMilli())
		}
	}
	return x
}

// TestConfluentProducerFeedsTheStage has a producer service in another
// language write the stage's input: Confluent's Python client and
// AvroSerializer, with the subject of sluice's contract (topic and record
// name) and the schema registered there as a Confluent producer registers
// it at start. sluice's registry answers with the id it already had, and
// the stage turns every record into its canonical events, dead-lettering
// none. Needs SLUICE_PYTHON (deploy/local/clients.sh; CI sets it).
func TestConfluentProducerFeedsTheStage(t *testing.T) {
	t.Parallel()
	testkit.Python(t)
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	st := e.Stage(t, e.Identity(t))
	rec := transformtest.NewRecorder()
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(rec.Middleware())))
	in := sourceRecords(t, e)

	// sluice's serde encoded the records; the Python producer decodes
	// each, encodes it again with its own serializer and produces it.
	lines := make([]map[string]any, len(in))
	for i, r := range in {
		headers := map[string]string{}
		for _, h := range r.Headers {
			headers[h.Key] = string(h.Value)
		}
		lines[i] = map[string]any{"topic": r.Topic, "key": string(r.Key), "headers": headers, "value": hex.EncodeToString(r.Value)}
	}
	out := testkit.RunClient(t, 2*time.Minute, testkit.JSONLines(t, lines...), "confluent_produce.py", strings.Join(e.Kafka.Brokers, ","), e.RegistryURL)
	used := map[uint32]bool{} // the schema ids sluice's serde wrote
	for _, r := range in {
		used[binary.BigEndian.Uint32(r.Value[1:5])] = true
	}
	produced := 0
	for _, p := range testkit.ReadJSONLines[struct {
		Topic    string `json:"topic"`
		Read     uint32 `json:"read_schema_id"`
		SchemaID uint32 `json:"schema_id"`
	}](t, "the producer", out) {
		produced++
		if !used[p.Read] || p.SchemaID != p.Read {
			t.Errorf("the Confluent serializer wrote schema id %d to %s for a value of schema %d (sluice's serde wrote ids %v)", p.SchemaID, p.Topic, p.Read, used)
		}
	}
	if produced != len(in) {
		t.Fatalf("the Confluent producer wrote %d records, want %d", produced, len(in))
	}

	rec.WaitCount(t, len(in), 2*time.Minute)
	for _, r := range in {
		id := kafka.Header(r, kafka.HeaderEventID)
		if got := rec.Of(id); len(got) != 1 || got[0].Outcome != stage.OutcomeDone {
			t.Errorf("source event %s (%s): outcomes %+v, want one done", id, r.Topic, got)
		}
	}
	evs := waitCanonical(t, e, st, 6)
	causes := byCause(evs)
	for _, r := range in {
		if id := kafka.Header(r, kafka.HeaderEventID); len(causes[id]) == 0 {
			t.Errorf("source event %s (%s) made no canonical event", id, r.Topic)
		}
	}
	if dead := e.Kafka.Records(t, kafka.DLQTopic(e.Name)); len(dead) > 0 {
		t.Errorf("%d records dead-lettered: %s", len(dead), kafka.Header(dead[0], kafka.HeaderErrorMessage))
	}
}

// sourceRecords returns the records of a company and a contact from the
// CRM, an order from the shop, and a business customer and a paid invoice
// from the payments system: six canonical events once transformed.
func sourceRecords(t *testing.T, e *transformtest.Env) []*kgo.Record {
	t.Helper()
	crmFx, payFx := fixtures(t, "crm"), fixtures(t, "payments")
	var in []*kgo.Record
	in = append(in, records(t, e, "crm", crmFx["CompanyEvent/created"], crmFx["ContactEvent/updated-full"])...)
	in = append(in, records(t, e, "commerce", commerceOrder("acme", 9001, 777, "ada@analytical-engines.example"))...)
	in = append(in, records(t, e, "payments", payFx["CustomerEvent/created-business"], payFx["InvoiceEvent/paid"])...)
	return in
}

// canonicalOfSources runs a stage over sourceRecords and returns its
// environment, the stage and its six canonical events.
func canonicalOfSources(t *testing.T) (*transformtest.Env, *transform.Stage, []transformtest.Canonical) {
	t.Helper()
	e := transformtest.NewEnv(t, transformtest.Config{Connectors: connectors()})
	st := e.Stage(t, e.Identity(t))
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t)))
	e.Produce(t, sourceRecords(t, e)...)
	return e, st, waitCanonical(t, e, st, 6)
}
