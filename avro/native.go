package avro

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/canonical"
)

// NativeEvent builds the native value of an event record from its
// envelope and its validated payload (the Validator's result), ready for
// EncodeNative.
func NativeEvent(env canonical.Envelope, data map[string]any) map[string]any {
	return map[string]any{"envelope": NativeEnvelope(env), "data": data}
}

// Event is a canonical event for Serde.AppendEncode: its envelope as a
// struct and its payload in native form (a map[string]any or a *Record),
// which the serde writes as it would NativeEvent(Envelope, Data) without
// building that map. Pass a pointer.
type Event struct {
	Envelope canonical.Envelope
	Data     any
}

// native returns the event's native value: the map NativeEvent builds.
func (e *Event) native() map[string]any {
	return map[string]any{"envelope": NativeEnvelope(e.Envelope), "data": Plain(e.Data)}
}

// NativeEnvelope returns the native value of an envelope.
func NativeEnvelope(e canonical.Envelope) map[string]any {
	return map[string]any{
		"tenant_id":      e.TenantID,
		"event_id":       e.EventID,
		"event_type":     e.EventType,
		"integration":    e.Integration,
		"source":         e.Source,
		"occurred_at":    optTime(e.OccurredAt),
		"received_at":    e.ReceivedAt.UTC().Truncate(time.Millisecond),
		"schema_version": optString(e.SchemaVersion),
		"trace_parent":   optString(e.TraceParent),
		"actor_id":       optString(e.ActorID),
		"caused_by":      optString(e.CausedBy),
	}
}

// EnvelopeOf reads the envelope of a decoded native event: a
// map[string]any or a *Record (DecodeRecord), whose envelope is one too.
func EnvelopeOf(event any) (canonical.Envelope, error) {
	m := Field(event, "envelope")
	if _, ok := m.(map[string]any); !ok {
		if r, ok := m.(*Record); !ok || r == nil {
			return canonical.Envelope{}, fmt.Errorf("%w: the event has no envelope record", ErrDecode)
		}
	}
	get := func(key string) any { return Field(m, key) }
	var e canonical.Envelope
	var err error
	// opt holds what the optional fields point to: one allocation for
	// them all, made when the first is present.
	var opt *envelopeOpt
	optional := func() *envelopeOpt {
		if opt == nil {
			opt = new(envelopeOpt)
		}
		return opt
	}
	str := func(key string) string {
		s, ok := get(key).(string)
		if !ok && err == nil {
			err = fmt.Errorf("%w: envelope.%s is %T, not a string", ErrDecode, key, get(key))
		}
		return s
	}
	optStr := func(key string, i int) *string {
		if get(key) == nil {
			return nil
		}
		p := &optional().strs[i]
		*p = str(key)
		return p
	}
	e.TenantID = str("tenant_id")
	e.EventID = str("event_id")
	e.EventType = str("event_type")
	e.Integration = str("integration")
	e.Source = str("source")
	e.SchemaVersion = optStr("schema_version", 0)
	e.TraceParent = optStr("trace_parent", 1)
	e.ActorID = optStr("actor_id", 2)
	e.CausedBy = optStr("caused_by", 3)
	if t, ok := get("received_at").(time.Time); ok {
		e.ReceivedAt = t.UTC()
	} else if err == nil {
		err = fmt.Errorf("%w: envelope.received_at is %T, not a time", ErrDecode, get("received_at"))
	}
	switch t := get("occurred_at").(type) {
	case nil:
	case time.Time:
		e.OccurredAt = &optional().occurredAt
		*e.OccurredAt = t.UTC()
	default:
		if err == nil {
			err = fmt.Errorf("%w: envelope.occurred_at is %T, not a time", ErrDecode, t)
		}
	}
	return e, err
}

// Field returns the field name of record v, a map[string]any or a
// *Record (as DecodeRecord and the mappings make them); nil when v is
// neither or has no such field.
func Field(v any, name string) any {
	switch x := v.(type) {
	case map[string]any:
		return x[name]
	case *Record:
		if x != nil {
			return x.Get(name)
		}
	}
	return nil
}

// envelopeOpt holds the values of an envelope's optional fields for
// EnvelopeOf: the four strings and occurred_at.
type envelopeOpt struct {
	strs       [4]string
	occurredAt time.Time
}

func optString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Truncate(time.Millisecond)
}
