package avro

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/canonical"
)

// benchOrder is a canonical order event of about 1 KB in Avro.
func benchOrder() canonical.OrderEvent {
	ev := fixtureOrderEvent()
	extra := ev.Data.Lines[0]
	extra.LineID, extra.SKU, extra.Name = ptr("866550311766439021"), ptr("IPOD2008BLUE"), "IPod Nano - 8GB - blue"
	ev.Data.Lines = append(ev.Data.Lines, extra)
	return ev
}

// baseline is a raw operation a serde benchmark compares itself with.
type baseline struct {
	op func(b *testing.B) // one raw operation
}

// fn is the baseline as a benchmark of its own.
func (bl baseline) fn(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		bl.op(b)
	}
}

// report stops the timer, runs the raw operation as many times as the
// benchmark ran, and reports the benchmark's time per op as a multiple of
// the raw one's ("x-raw"): a baseline measured in the same run, on the
// same warm machine state.
func (bl baseline) report(b *testing.B) {
	b.StopTimer()
	start := time.Now()
	for range b.N {
		bl.op(b)
	}
	raw := time.Since(start)
	if raw > 0 {
		b.ReportMetric(float64(b.Elapsed())/float64(raw), "x-raw")
	}
}

// BenchmarkSerde compares the cached serde with hamba/avro's raw Marshal
// and Unmarshal of the same ~1 KB canonical record, measured in the same
// run: each serde benchmark reports x-raw, its time per record as a
// multiple of its raw counterpart's, timed right after it for as many
// records. The serde is warm: its subject is
// registered and its schema id known, as on the hot path.
func BenchmarkSerde(b *testing.B) {
	s := loadSchemas(b)
	reg := startRegistry(b)
	ctx := context.Background()
	sd := newSerde(b, reg, s)
	sc, _ := s.Lookup(canonical.RecordOrderEvent)
	subject := sc.Subject()
	ev := benchOrder()
	wire := mustEncode(b, sd, subject, ev)
	body := wire[5:]
	api := newAPI()
	var warm canonical.OrderEvent
	if err := sd.Decode(ctx, wire, &warm); err != nil {
		b.Fatal(err)
	}
	validator, err := s.Validator(canonical.RecordOrderEvent)
	if err != nil {
		b.Fatal(err)
	}
	payload, err := json.Marshal(ev.Data)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := validator.Validate(payload); err != nil {
		b.Fatal(err)
	}
	b.Logf("record: %d bytes of Avro, %d bytes of JSON", len(body), len(payload))

	rawEncode := baseline{op: func(b *testing.B) {
		if _, err := api.Marshal(sc.parsed, &ev); err != nil {
			b.Fatal(err)
		}
	}}
	rawDecode := baseline{op: func(b *testing.B) {
		var out canonical.OrderEvent
		if err := api.Unmarshal(sc.parsed, body, &out); err != nil {
			b.Fatal(err)
		}
	}}
	rawDecodeNative := baseline{op: func(b *testing.B) {
		var out map[string]any
		if err := api.Unmarshal(sc.parsed, body, &out); err != nil {
			b.Fatal(err)
		}
	}}
	// The least a JSON-to-Avro path does: encoding/json into the Go type,
	// then hamba's Marshal, with no contract checks.
	rawJSONEncode := baseline{op: func(b *testing.B) {
		var ord canonical.Order
		if err := json.Unmarshal(payload, &ord); err != nil {
			b.Fatal(err)
		}
		if _, err := api.Marshal(sc.parsed, &canonical.OrderEvent{Envelope: ev.Envelope, Data: ord}); err != nil {
			b.Fatal(err)
		}
	}}

	b.Run("encode/hamba-raw", rawEncode.fn)
	b.Run("encode/serde", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := sd.Encode(ctx, subject, &ev); err != nil {
				b.Fatal(err)
			}
		}
		rawEncode.report(b)
	})
	b.Run("decode/hamba-raw", rawDecode.fn)
	b.Run("decode/serde", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var out canonical.OrderEvent
			if err := sd.Decode(ctx, wire, &out); err != nil {
				b.Fatal(err)
			}
		}
		rawDecode.report(b)
	})
	b.Run("decode-native/hamba-raw", rawDecodeNative.fn)
	b.Run("decode-native/serde", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := sd.DecodeNative(ctx, wire); err != nil {
				b.Fatal(err)
			}
		}
		rawDecodeNative.report(b)
	})
	b.Run("validate+encode/json+hamba-raw", rawJSONEncode.fn)
	b.Run("validate+encode/serde", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			data, err := validator.Validate(payload)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := sd.EncodeNative(ctx, subject, NativeEvent(ev.Envelope, data)); err != nil {
				b.Fatal(err)
			}
		}
		rawJSONEncode.report(b)
	})
}

// BenchmarkValidateEncode is the ingress path of a partner body, split
// into its steps, each beside its raw counterpart from the same run (see
// BenchmarkSerde): "validate+encode" is Validate, NativeEvent and
// EncodeNative against encoding/json into the Go type and hamba's
// Marshal; "validate" is Validate alone against encoding/json alone;
// "encode" is NativeEvent and EncodeNative of the validated value against
// hamba's Marshal of the Go value.
func BenchmarkValidateEncode(b *testing.B) {
	s := loadSchemas(b)
	reg := startRegistry(b)
	ctx := context.Background()
	sd := newSerde(b, reg, s)
	sc, _ := s.Lookup(canonical.RecordOrderEvent)
	subject := sc.Subject()
	ev := benchOrder()
	api := newAPI()
	validator, err := s.Validator(canonical.RecordOrderEvent)
	if err != nil {
		b.Fatal(err)
	}
	payload, err := json.Marshal(ev.Data)
	if err != nil {
		b.Fatal(err)
	}
	data, err := validator.Validate(payload)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sd.EncodeNative(ctx, subject, NativeEvent(ev.Envelope, data)); err != nil {
		b.Fatal(err)
	}

	rawJSONEncode := baseline{op: func(b *testing.B) {
		var ord canonical.Order
		if err := json.Unmarshal(payload, &ord); err != nil {
			b.Fatal(err)
		}
		if _, err := api.Marshal(sc.parsed, &canonical.OrderEvent{Envelope: ev.Envelope, Data: ord}); err != nil {
			b.Fatal(err)
		}
	}}
	rawJSON := baseline{op: func(b *testing.B) {
		var ord canonical.Order
		if err := json.Unmarshal(payload, &ord); err != nil {
			b.Fatal(err)
		}
	}}
	rawEncode := baseline{op: func(b *testing.B) {
		if _, err := api.Marshal(sc.parsed, &ev); err != nil {
			b.Fatal(err)
		}
	}}

	b.Run("validate+encode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			data, err := validator.Validate(payload)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := sd.EncodeNative(ctx, subject, NativeEvent(ev.Envelope, data)); err != nil {
				b.Fatal(err)
			}
		}
		rawJSONEncode.report(b)
	})
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := validator.Validate(payload); err != nil {
				b.Fatal(err)
			}
		}
		rawJSON.report(b)
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := sd.EncodeNative(ctx, subject, NativeEvent(ev.Envelope, data)); err != nil {
				b.Fatal(err)
			}
		}
		rawEncode.report(b)
	})
}

// BenchmarkDecodeNative is the native decoder (decode.go) against hamba's
// Unmarshal into a map[string]any, the decode it replaces, on the same
// ~1 KB OrderEvent body without the wire-format header: "native" reports
// x-hamba, its time per record as a multiple of hamba's, timed right
// after it for as many records (see baseline).
func BenchmarkDecodeNative(b *testing.B) {
	s := loadSchemas(b)
	sc, _ := s.Lookup(canonical.RecordOrderEvent)
	api := newAPI()
	ev := benchOrder()
	body, err := api.Marshal(sc.parsed, &ev)
	if err != nil {
		b.Fatal(err)
	}
	n, err := compileNode(sc.parsed, map[string]*vnode{})
	if err != nil || !prepareDecode(n) {
		b.Fatalf("OrderEvent is not decodable natively (%v)", err)
	}
	b.Logf("record: %d bytes of Avro", len(body))
	hamba := baseline{op: func(b *testing.B) {
		var out map[string]any
		if err := api.Unmarshal(sc.parsed, body, &out); err != nil {
			b.Fatal(err)
		}
	}}
	b.Run("hamba", hamba.fn)
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := decodeRecord(body, n, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		start := time.Now()
		for range b.N {
			hamba.op(b)
		}
		if raw := time.Since(start); raw > 0 {
			b.ReportMetric(float64(b.Elapsed())/float64(raw), "x-hamba")
		}
	})
}

// BenchmarkTransformEvent is the transform stage's use of the serde, per
// record: "decode" reads a CRM contact webhook (a source event) into its
// native map and its envelope, as the stage does before mapping; "encode"
// writes the canonical contact made of it, with the envelope and the
// external ids as canonical structs, as the stage hands them to
// AppendEncode.
func BenchmarkTransformEvent(b *testing.B) {
	s := loadSchemas(b)
	reg := startRegistry(b)
	ctx := context.Background()
	sd := newSerde(b, reg, s)
	env := fixtureEnvelope("contact.updated", "crm")

	const source = "sluice.source.crm.ContactEvent"
	validator, err := s.Validator(source)
	if err != nil {
		b.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join("testdata/validate", source, "valid-updated.json"))
	if err != nil {
		b.Fatal(err)
	}
	webhook, err := validator.Validate(payload)
	if err != nil {
		b.Fatal(err)
	}
	wire, err := sd.EncodeNative(ctx, Subject("sluice.in.crm", source), NativeEvent(env, webhook))
	if err != nil {
		b.Fatal(err)
	}

	crm := "crm"
	url := "https://crm.example/contacts/51"
	contact := map[string]any{
		"tenant_id": "demo",
		"id":        "con_01HQZ8W4K3M5N6P7Q8R9S0T1U3",
		"external_ids": []any{
			canonical.ExternalID{System: "crm", ID: "51", Integration: &crm, URL: &url},
			canonical.ExternalID{System: "payments", ID: "cus_NffrFeUfNV2Hib"},
		},
		"account_id":       "acc_01HQZ8W4K3M5N6P7Q8R9S0T1U2",
		"email":            "ada@example.com",
		"first_name":       "Ada",
		"last_name":        "Lovelace",
		"full_name":        nil,
		"phone":            "+442079460958",
		"title":            "Analyst",
		"address":          map[string]any{"sluice.canonical.Address": map[string]any{"line1": nil, "line2": nil, "city": "London", "region": nil, "postal_code": nil, "country_code": "GB"}},
		"lifecycle_stage":  "CUSTOMER",
		"marketing_opt_in": true,
		"created_at":       at("2025-11-20T16:02:11Z"),
		"updated_at":       at("2026-03-02T09:14:07Z"),
		"deleted":          false,
		"attributes":       map[string]any{},
	}
	sc, _ := s.Lookup(canonical.RecordContactEvent)
	subject := sc.Subject()
	event := map[string]any{"envelope": env, "data": contact}
	enc, err := sd.encoding(ctx, subject)
	if err != nil {
		b.Fatal(err)
	}
	if _, ok := appendRecord(nil, enc.native, event); !ok {
		b.Fatal("the canonical contact is not encoded natively")
	}

	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var native map[string]any
			if err := sd.Decode(ctx, wire, &native); err != nil {
				b.Fatal(err)
			}
			if _, err := EnvelopeOf(native); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := sd.AppendEncode(ctx, nil, subject, map[string]any{"envelope": env, "data": contact}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
