package deliver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/connectors/webhook"
	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

func newSerde(t testing.TB, k *testkit.Kafka) *avro.Serde {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(registrytest.Start(t, k)))
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := avro.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	s, err := avro.NewSerde(cl, schemas)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJSONBody delivers an Avro canonical event as the Webhook JSON, with
// an event id Standard Webhooks does not allow replaced by a derived
// message id, the same on every attempt.
func TestJSONBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	serde := newSerde(t, e.k)
	topic := e.topic("contact", config.LaneInteractive)
	received := time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC)
	email := "ada@example.com"
	ev := canonical.ContactEvent{
		Envelope: canonical.Envelope{
			TenantID: "acme", EventID: "crm.delivery 42", EventType: "contact.updated",
			Integration: "crm", Source: "crm", ReceivedAt: received,
		},
		Data: canonical.Contact{
			TenantID: "acme", ID: "ct_1", Email: &email, LifecycleStage: canonical.LifecycleLead,
			UpdatedAt: received, ExternalIDs: []canonical.ExternalID{}, Attributes: map[string]string{},
		},
	}
	value, err := serde.Encode(context.Background(), avro.Subject(topic, canonical.RecordContactEvent), ev)
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Key: []byte("acme"), Value: value}
	kafka.SetHeader(r, kafka.HeaderTenantID, "acme")
	kafka.SetHeader(r, kafka.HeaderEventID, ev.Envelope.EventID)
	kafka.SetHeader(r, kafka.HeaderEventType, "contact.updated")
	stagetest.Produce(t, e.k, topic, r)

	d, secret := e.dest(t, "")
	k, url := newSink(t, []string{secret})
	d.Config.URL = url
	start(t, e.stageOf(t, []deliver.Destination{d}, deliver.Body(deliver.NewJSONBody(serde))))
	id := webhook.MessageID(ev.Envelope.EventID)
	if id == ev.Envelope.EventID || !webhook.ValidMessageID(id) {
		t.Fatalf("message id %q", id)
	}
	waitDelivered(t, k, []string{id}, 60*time.Second)
	req := k.Requests()[0]
	var body struct {
		Type      string             `json:"type"`
		Timestamp time.Time          `json:"timestamp"`
		Data      canonical.Contact  `json:"data"`
		Envelope  canonical.Envelope `json:"envelope"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("body %s: %v", req.Body, err)
	}
	if body.Type != "contact.updated" || !body.Timestamp.Equal(received) || body.Data.ID != "ct_1" ||
		body.Data.Email == nil || *body.Data.Email != email || body.Envelope.EventID != ev.Envelope.EventID ||
		body.Data.LifecycleStage != canonical.LifecycleLead {
		t.Errorf("body %s", req.Body)
	}
	if !req.Verified || req.Tenant != "acme" || req.EventType != "contact.updated" {
		t.Errorf("request %+v", req)
	}
	testkit.CheckFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		for _, a := range e.attemptsOf(t) {
			if a.EventID == ev.Envelope.EventID && a.MessageID == id && a.Result == deliver.ResultDelivered {
				return nil
			}
		}
		return fmt.Errorf("no attempt with the event id and the derived message id")
	})
}

// TestJSONBodyRefusesWhatIsNotCanonical checks the encoder's errors: a
// value that is not in the wire format, or not a canonical event, is
// poison; it is dead-lettered, not retried.
func TestJSONBodyRefusesWhatIsNotCanonical(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	serde := newSerde(t, k)
	j := deliver.NewJSONBody(serde)
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"not the wire format", []byte(`{"json":"instead"}`)},
		{"unknown schema id", []byte{0, 0, 0, 0x7f, 0x7f, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := j.Encode(context.Background(), &kgo.Record{Value: tc.value})
			if !errors.Is(err, deliver.ErrBody) {
				t.Errorf("Encode = %v, want ErrBody", err)
			}
			if stage.ClassOf(err) != stage.ClassRetryable || errors.As(err, new(*stage.Error)) {
				t.Errorf("the error of %s is classified (%s): it must be left to be poison", tc.name, stage.ClassOf(err))
			}
		})
	}
}
