package avro

import (
	"errors"
	"reflect"
	"testing"
	"time"

	havro "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/testkit"
)

// hostileFields is a ThingEvent payload whose array and map come before
// the id, so that a reader built for thingV1 skips them.
const hostileFields = `{"name":"x","type":{"type":"array","items":"long"},"default":[],"doc":"-"},` +
	`{"name":"m","type":{"type":"map","values":"int"},"default":{},"doc":"-"},` + thingV1

// within runs decode and fails the test if it has not returned after d:
// the decode goroutine is then left spinning, and the test binary ends
// with it.
func within(t *testing.T, d time.Duration, decode func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- decode() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("decode still running after %v", d)
		return nil
	}
}

// TestSerdeHostileBlockCountsFailFast decodes bodies of ~30 bytes whose
// block counts claim far more items than follow, in fields that are
// skipped: those of the writer the reader lacks, and those of the schema
// a Go struct lacks. Each decode fails with ErrDecode at once; where
// hamba skips them unchecked, it loops over the count for ever.
func TestSerdeHostileBlockCountsFailFast(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	ctx := testkit.Context(t, time.Minute)
	writerSchemas := evolution(t, hostileFields)
	subject := Subject("sluice.in.hostile", "sluice.source.evo.ThingEvent")
	env := fixtureEnvelope("thing.updated", "evo")
	empty, err := newSerde(t, reg, writerSchemas).EncodeNative(ctx, subject,
		NativeEvent(env, map[string]any{"x": []any{}, "m": map[string]any{}, "id": ""}))
	if err != nil {
		t.Fatal(err)
	}
	// The header and the envelope: what precedes the payload's x, m and
	// id (0, 0, 0 when empty).
	prefix := empty[:len(empty)-3]
	body := func(payload ...byte) []byte {
		return append(append([]byte(nil), prefix...), payload...)
	}
	huge := appendLong(nil, 1<<61)
	hostile := []struct {
		name string
		body []byte
		// sized is a block whose byte size is not what its items take,
		// which only a decode that hamba may skip in refuses: the
		// native decoder reads the items and ignores the size.
		sized bool
	}{
		{"array count 2^61", body(huge...), false},
		{"map count 2^61", body(append([]byte{0}, huge...)...), false},
		// One item (count -1) in a block said to be 1 byte long: hamba
		// skips 1 byte, the 0x80, and reads a block count of 2^61 - 1
		// in the 9 bytes that are the rest of the item.
		{"block size short of its items", body(1, 2, 0x80, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0, 0, 0), true},
		{"block size beyond the body", body(1, 0xfe, 0xff, 0xff, 0xff, 0x0f, 2, 0, 0, 0), true},
	}
	// A valid body of the same writer: x [1, 2] in a block with its size,
	// m {"k": 3}, id "a".
	valid := body(3, 4, 2, 4, 0, 2, 2, 'k', 6, 0, 2, 'a')

	resolving := newSerde(t, reg, evolution(t, thingV1)) // skips x and m
	local := newSerde(t, reg, writerSchemas)             // the writer's own schema
	decodes := []struct {
		name   string
		native bool // decoded without hamba
		fn     func(b []byte) (string, error)
	}{
		{"resolved, DecodeNative", false, func(b []byte) (string, error) {
			m, err := resolving.DecodeNative(ctx, b)
			id, _ := Field(m["data"], "id").(string)
			return id, err
		}},
		{"resolved, DecodeRecord", false, func(b []byte) (string, error) {
			_, rec, err := resolving.DecodeRecord(ctx, b)
			if err != nil {
				return "", err
			}
			id, _ := Field(rec.Get("data"), "id").(string)
			return id, nil
		}},
		{"resolved, Decode into a struct", false, func(b []byte) (string, error) {
			var ev thingV1Event
			err := resolving.Decode(ctx, b, &ev)
			return ev.Data.ID, err
		}},
		{"writer's schema, Decode into a struct without x and m", false, func(b []byte) (string, error) {
			var ev thingV1Event
			err := local.Decode(ctx, b, &ev)
			return ev.Data.ID, err
		}},
		{"writer's schema, Decode into an any", false, func(b []byte) (string, error) {
			var v any
			err := local.Decode(ctx, b, &v)
			m, _ := v.(map[string]any)
			id, _ := Field(m["data"], "id").(string)
			return id, err
		}},
		{"writer's schema, DecodeNative", true, func(b []byte) (string, error) {
			m, err := local.DecodeNative(ctx, b)
			id, _ := Field(m["data"], "id").(string)
			return id, err
		}},
	}
	for _, dec := range decodes {
		t.Run(dec.name, func(t *testing.T) {
			var id string
			err := within(t, 10*time.Second, func() (err error) {
				id, err = dec.fn(valid)
				return err
			})
			if err != nil || id != "a" {
				t.Errorf("valid body: id %q, %v; want a", id, err)
			}
			for _, tc := range hostile {
				start := time.Now()
				err := within(t, 10*time.Second, func() error {
					_, err := dec.fn(tc.body)
					return err
				})
				if !errors.Is(err, ErrDecode) && !(tc.sized && dec.native) {
					t.Errorf("%s: %v, want ErrDecode", tc.name, err)
				}
				if took := time.Since(start); took > time.Second {
					t.Errorf("%s: took %v", tc.name, took)
				}
			}
		})
	}
}

// TestCheckRecord holds the check to the native decoder: a body it
// passes, the decoder reads, and one it refuses, the decoder refuses with
// the same error, but for a block whose byte size is not what its items
// take, which only the check refuses.
func TestCheckRecord(t *testing.T) {
	s := evolution(t, hostileFields)
	sc, _ := s.Lookup("sluice.source.evo.ThingEvent")
	n, err := compileNode(sc.parsed, map[string]*vnode{})
	if err != nil || !prepareDecode(n) {
		t.Fatalf("compile: %v", err)
	}
	prepareCheck(n)
	full, ok := appendNative(nil, n, NativeEvent(fixtureEnvelope("t", "s"), map[string]any{"x": []any{}, "m": map[string]any{}, "id": ""}))
	if !ok {
		t.Fatal("encode")
	}
	prefix := full[:len(full)-3]
	cases := []struct {
		name     string
		payload  []byte
		sizeOnly bool // only the check refuses it
	}{
		{"empty", []byte{0, 0, 0}, false},
		{"items", []byte{4, 2, 4, 0, 2, 2, 'k', 6, 0, 2, 'a'}, false},
		{"sized block", []byte{3, 4, 2, 4, 0, 0, 0}, false},
		{"sized map block", []byte{0, 1, 6, 2, 'k', 6, 0, 0}, false},
		{"block size short", []byte{3, 2, 2, 4, 0, 0, 0}, true},
		{"block size long", []byte{3, 6, 2, 4, 0, 0, 0}, true},
		{"count beyond the body", appendLong(nil, 1<<61), false},
		{"truncated", []byte{4, 2}, false},
		{"map value truncated", []byte{0, 2, 2, 'k'}, false},
		{"trailing bytes", []byte{0, 0, 0, 9}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := append(append([]byte(nil), prefix...), tc.payload...)
			checkErr := checkRecord(b, n)
			_, decodeErr := decodeRecord(b, n, nil)
			switch {
			case tc.sizeOnly:
				if checkErr == nil || decodeErr != nil {
					t.Errorf("check %v, decode %v; want the check alone to refuse", checkErr, decodeErr)
				}
			case (checkErr == nil) != (decodeErr == nil):
				t.Errorf("check %v, decode %v", checkErr, decodeErr)
			case checkErr != nil && checkErr.Error() != decodeErr.Error():
				t.Errorf("check %q, decode %q", checkErr, decodeErr)
			}
		})
	}
}

// TestSkipsInto: the bodies decoded into the canonical structs, which
// have every field of their records, are not checked; those decoded into
// a struct that lacks a field, or may (one with an embedded struct), are.
func TestSkipsInto(t *testing.T) {
	s := loadSchemas(t)
	type embedded struct {
		canonical.Envelope `avro:"envelope"`
	}
	type withEmbedded struct {
		Envelope embedded `avro:"envelope"`
		Data     struct {
			ID string `avro:"id"`
		} `avro:"data"`
	}
	cases := []struct {
		name   string
		schema havro.Schema
		v      any
		want   bool
	}{
		{"account", mustLookup(t, s, canonical.RecordAccountEvent), canonical.AccountEvent{}, false},
		{"contact", mustLookup(t, s, canonical.RecordContactEvent), canonical.ContactEvent{}, false},
		{"order", mustLookup(t, s, canonical.RecordOrderEvent), canonical.OrderEvent{}, false},
		{"ticket", mustLookup(t, s, canonical.RecordTicketEvent), canonical.TicketEvent{}, false},
		{"struct of every field", mustLookup(t, evolution(t, thingV1), "sluice.source.evo.ThingEvent"), thingV1Event{}, false},
		{"struct without two fields", mustLookup(t, evolution(t, hostileFields), "sluice.source.evo.ThingEvent"), thingV1Event{}, true},
		{"embedded struct", mustLookup(t, evolution(t, thingV1), "sluice.source.evo.ThingEvent"), withEmbedded{}, true},
		{"map", mustLookup(t, evolution(t, hostileFields), "sluice.source.evo.ThingEvent"), map[string]any{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := skipsInto(tc.schema, reflect.TypeOf(tc.v), map[skipKey]bool{}); got != tc.want {
				t.Errorf("skipsInto = %v, want %v", got, tc.want)
			}
		})
	}
}

func mustLookup(t *testing.T, s *Schemas, record string) havro.Schema {
	t.Helper()
	sc, ok := s.Lookup(record)
	if !ok {
		t.Fatalf("no schema %s", record)
	}
	return sc.parsed
}
