package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/canonical"
)

// Encoder turns a canonical event record into the body of a webhook.
// Implementations are safe for concurrent use. An error classified with
// stage.Retryable is tried again later; any other error makes the record
// poison.
type Encoder interface {
	Encode(ctx context.Context, r *kgo.Record) ([]byte, error)
}

// EncoderFunc adapts a function to an Encoder.
type EncoderFunc func(ctx context.Context, r *kgo.Record) ([]byte, error)

// Encode calls f.
func (f EncoderFunc) Encode(ctx context.Context, r *kgo.Record) ([]byte, error) { return f(ctx, r) }

// Webhook is the JSON body of a delivered event, in the shape the
// Standard Webhooks specification suggests:
//
//	{
//	  "type":      "contact.updated",          the event type
//	  "timestamp": "2030-01-02T03:04:05.678Z", when it happened (else when sluice received it)
//	  "data":      {...},                      the canonical object (see package canonical)
//	  "envelope":  {...}                       tenant_id, event_id, integration, source, ...
//	}
type Webhook struct {
	Type      string             `json:"type"`
	Timestamp time.Time          `json:"timestamp"`
	Data      any                `json:"data"`
	Envelope  canonical.Envelope `json:"envelope"`
}

// JSONBody decodes canonical events (Avro in the Confluent wire format)
// with a serde and encodes them as a Webhook. It is safe for concurrent
// use.
//
// A value written with the local contract of its record is rendered
// straight from its Avro (avro.Serde.RenderJSON), into the bytes
// encoding/json writes for the Webhook, with no Go value in between. A
// value of an older or newer writer is decoded into package canonical's
// types, resolved to the local contract, and encoded with encoding/json.
type JSONBody struct {
	serde *avro.Serde
	jsons sync.Pool // *avro.JSON
}

// NewJSONBody returns an encoder that decodes with serde.
func NewJSONBody(serde *avro.Serde) *JSONBody {
	j := &JSONBody{serde: serde}
	j.jsons.New = func() any { return new(avro.JSON) }
	return j
}

// Encode decodes r's value and returns its Webhook JSON. A schema
// registry that cannot be reached gives a retryable error; a value that
// is not a canonical event, a poison one.
func (j *JSONBody) Encode(ctx context.Context, r *kgo.Record) ([]byte, error) {
	js := j.jsons.Get().(*avro.JSON)
	rendered, err := j.serde.RenderJSON(ctx, r.Value, js)
	if err != nil {
		j.jsons.Put(js)
		return nil, classifyAvro(err)
	}
	var body []byte
	if rendered {
		body, err = webhookOf(js)
	}
	if cap(js.Out) <= 1<<20 { // do not keep huge buffers around
		j.jsons.Put(js)
	}
	switch {
	case err != nil:
		return nil, err
	case body != nil:
		return body, nil
	}
	return j.decode(ctx, r)
}

// webhookOf returns the Webhook JSON of a rendered canonical event, or
// nil when the record is an event of another shape.
func webhookOf(js *avro.JSON) ([]byte, error) {
	switch js.Record {
	case canonical.RecordAccountEvent, canonical.RecordContactEvent, canonical.RecordOrderEvent, canonical.RecordTicketEvent:
	default:
		return nil, fmt.Errorf("%w: %s is not a canonical event", ErrBody, js.Record)
	}
	env, data := js.Field("envelope"), js.Field("data")
	typ, ts := js.Field("envelope", "event_type"), js.Field("envelope", "occurred_at")
	if ts == nil {
		ts = js.Field("envelope", "received_at")
	}
	if env == nil || data == nil || typ == nil || ts == nil {
		return nil, nil
	}
	const (
		typeKey = `{"type":`
		tsKey   = `,"timestamp":`
		dataKey = `,"data":`
		envKey  = `,"envelope":`
	)
	b := make([]byte, 0, len(typeKey)+len(typ)+len(tsKey)+len(ts)+len(dataKey)+len(data)+len(envKey)+len(env)+1)
	b = append(append(b, typeKey...), typ...)
	b = append(append(b, tsKey...), ts...)
	b = append(append(b, dataKey...), data...)
	b = append(append(b, envKey...), env...)
	return append(b, '}'), nil
}

// decode is Encode through package canonical's types and encoding/json.
func (j *JSONBody) decode(ctx context.Context, r *kgo.Record) ([]byte, error) {
	name, err := j.serde.Record(ctx, r.Value)
	if err != nil {
		return nil, classifyAvro(err)
	}
	var (
		env  *canonical.Envelope
		data any
	)
	switch name {
	case canonical.RecordAccountEvent:
		var ev canonical.AccountEvent
		err, env, data = j.serde.Decode(ctx, r.Value, &ev), &ev.Envelope, &ev.Data
	case canonical.RecordContactEvent:
		var ev canonical.ContactEvent
		err, env, data = j.serde.Decode(ctx, r.Value, &ev), &ev.Envelope, &ev.Data
	case canonical.RecordOrderEvent:
		var ev canonical.OrderEvent
		err, env, data = j.serde.Decode(ctx, r.Value, &ev), &ev.Envelope, &ev.Data
	case canonical.RecordTicketEvent:
		var ev canonical.TicketEvent
		err, env, data = j.serde.Decode(ctx, r.Value, &ev), &ev.Envelope, &ev.Data
	default:
		return nil, fmt.Errorf("%w: %s is not a canonical event", ErrBody, name)
	}
	if err != nil {
		return nil, classifyAvro(err)
	}
	ts := env.ReceivedAt
	if env.OccurredAt != nil {
		ts = *env.OccurredAt
	}
	b, err := json.Marshal(Webhook{Type: env.EventType, Timestamp: ts.UTC(), Data: data, Envelope: *env})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBody, err)
	}
	return b, nil
}

func classifyAvro(err error) error {
	if errors.Is(err, avro.ErrRegistry) {
		return stage.Retryable(fmt.Errorf("%w: %w", ErrBody, err))
	}
	return fmt.Errorf("%w: %w", ErrBody, err)
}
