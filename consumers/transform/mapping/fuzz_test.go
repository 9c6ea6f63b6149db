package mapping_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/consumers/transform/mapping"
	"github.com/sluicehq/sluice/internal/canonical"
)

// FuzzApply sends partner payloads, seeded with the connectors' fixtures,
// through the contract's validator and the connector's mapping: mapping
// never panics, fails only with a *mapping.Error, and what it makes has
// its external id and an action.
func FuzzApply(f *testing.F) {
	s, err := avro.LoadSchemas()
	if err != nil {
		f.Fatal(err)
	}
	sources := []string{"crm", "payments", "commerce", "support"}
	mappings := map[string]*mapping.Mapping{}
	records := map[string][]string{} // source → records, for the fuzzer's pick
	for _, src := range sources {
		dir := filepath.Join("..", "..", "..", "connectors", src)
		doc, err := os.ReadFile(filepath.Join(dir, "mapping.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		m, err := mapping.Compile(src, doc, s)
		if err != nil {
			f.Fatal(err)
		}
		mappings[src] = m
		records[src] = m.Records()
		files, _ := filepath.Glob(filepath.Join(dir, "testdata", "*", "*.json"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			var fx struct {
				Envelope struct {
					EventType string `json:"event_type"`
				} `json:"envelope"`
				Body json.RawMessage `json:"body"`
			}
			if err := json.Unmarshal(b, &fx); err != nil {
				f.Fatal(err)
			}
			rec := "sluice.source." + src + "." + filepath.Base(filepath.Dir(file))
			f.Add(src, rec, fx.Envelope.EventType, []byte(fx.Body))
		}
	}
	validators := map[string]*avro.Validator{}
	for _, src := range sources {
		for _, rec := range records[src] {
			v, err := s.Validator(rec)
			if err != nil {
				f.Fatal(err)
			}
			validators[rec] = v
		}
	}
	f.Fuzz(func(t *testing.T, src, rec, eventType string, body []byte) {
		m, ok := mappings[src]
		v, vok := validators[rec]
		if !ok || !vok || !strings.HasPrefix(rec, "sluice.source."+src+".") {
			return
		}
		data, err := v.Validate(body)
		if err != nil {
			return
		}
		event := avro.NativeEvent(canonical.Envelope{TenantID: "t", EventID: "e", EventType: eventType, Integration: src, Source: src, ReceivedAt: time.Unix(0, 0)}, data)
		objs, err := m.Apply(rec, event)
		if err != nil {
			var me *mapping.Error
			if !errors.As(err, &me) {
				t.Fatalf("Apply failed with %T: %v", err, err)
			}
			return
		}
		for _, o := range objs {
			if o.ExternalID == "" || (o.Action != mapping.ActionCreated && o.Action != mapping.ActionUpdated && o.Action != mapping.ActionDeleted) {
				t.Fatalf("object %+v", o)
			}
		}
	})
}
