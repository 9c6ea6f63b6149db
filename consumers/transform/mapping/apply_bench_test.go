package mapping_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/connectors/crm"
	"github.com/sluicehq/sluice/consumers/transform/mapping"
)

// BenchmarkApply measures Apply on the CRM connector's mapping and its
// full contact and company fixtures, decoded as the transform stage
// decodes them. One op is one event.
func BenchmarkApply(b *testing.B) {
	s, err := avro.LoadSchemas()
	if err != nil {
		b.Fatal(err)
	}
	m, err := mapping.Compile("crm.yaml", crm.Mapping(), s)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, record, fixture string }{
		{"contact", "sluice.source.crm.ContactEvent", "ContactEvent/updated-full.json"},
		{"company", "sluice.source.crm.CompanyEvent", "CompanyEvent/created.json"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "..", "connectors", "crm", "testdata", filepath.FromSlash(bc.fixture)))
			if err != nil {
				b.Fatal(err)
			}
			var fx struct {
				Envelope struct {
					EventType string `json:"event_type"`
				} `json:"envelope"`
				Body json.RawMessage `json:"body"`
			}
			if err := json.Unmarshal(raw, &fx); err != nil {
				b.Fatal(err)
			}
			ev := event(b, s, bc.record, fx.Envelope.EventType, string(fx.Body))
			b.ReportAllocs()
			for b.Loop() {
				objs, err := m.Apply(bc.record, ev)
				if err != nil || len(objs) != 1 {
					b.Fatalf("Apply: %d objects, %v", len(objs), err)
				}
			}
		})
	}
}
