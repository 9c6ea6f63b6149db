package transformtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/consumers/transform/mapping"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/tenant"
)

// Connector is a source connector under test.
type Connector struct {
	// Source is the source system, e.g. "crm".
	Source string
	// Mapping is the connector's default mapping.
	Mapping []byte
	// Dir is the connector's testdata directory: fixtures in
	// <Dir>/<Record>/<name>.json, golden results in
	// <Dir>/golden/<Record>/<name>.json.
	Dir string
	// Update rewrites the golden files with what the stage produced
	// (go test -update) instead of comparing with them.
	Update bool
}

// MinFixtures is how many fixtures each source event record of a
// connector needs at least.
const MinFixtures = 2

// Conformance is the suite every source connector passes:
//
//   - its mapping compiles against the source and canonical contracts;
//   - it has at least MinFixtures fixtures of every source event record
//     of its source, each valid against its contract;
//   - every fixture, sent through the real transform stage (Kafka,
//     Redis, schema registry), comes out as canonical events whose
//     headers, key, envelope, ids and external ids keep sluice's
//     contracts, and the events, decoded, equal the golden file (or the
//     fixture's dead letter its golden error).
func Conformance(t *testing.T, c Connector) {
	t.Helper()
	schemas := mustSchemas(t)
	if _, err := mapping.Compile(c.Source+"/mapping.yaml", c.Mapping, schemas); err != nil {
		t.Fatalf("the mapping does not compile:\n%v", err)
	}
	fixtures, err := LoadFixtures(os.DirFS(c.Dir), c.Source)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fixtures", func(t *testing.T) {
		per := map[string]int{}
		for _, f := range fixtures {
			per[f.Record]++
			if _, err := f.Native(schemas, c.Source, c.Source); err != nil {
				t.Errorf("fixture %s breaks its contract: %v", f.Name, err)
			}
		}
		for _, sc := range schemas.Events() {
			if sc.Source == c.Source && per[sc.Name] < MinFixtures {
				t.Errorf("%s has %d fixtures, want at least %d (in %s/%s/)", sc.Name, per[sc.Name], MinFixtures, c.Dir, strings.TrimPrefix(sc.Name, "sluice.source."+c.Source+"."))
			}
		}
		for f := range per {
			if sc, ok := schemas.Lookup(f); !ok || !sc.Event || sc.Source != c.Source {
				t.Errorf("fixtures of %s, which is not an event of source %s", f, c.Source)
			}
		}
	})
	if t.Failed() {
		return
	}
	t.Run("stage", func(t *testing.T) {
		runConformance(t, c, fixtures)
	})
}

// goldenResult is what a golden file holds for one fixture.
type goldenResult struct {
	Outcome string         `json:"outcome"`
	Reason  string         `json:"reason,omitempty"`
	Error   string         `json:"error,omitempty"`
	Events  []goldenRecord `json:"events,omitempty"`
}

type goldenRecord struct {
	Object  string            `json:"object"`
	Key     string            `json:"key"`
	Headers map[string]string `json:"headers"`
	Event   any               `json:"event"`
}

func runConformance(t *testing.T, c Connector, fixtures []Fixture) {
	tenants := map[string]bool{}
	for _, f := range fixtures {
		tenants[f.Envelope.TenantID] = true
	}
	e := NewEnv(t, Config{
		Tenants:    slices.Sorted(maps.Keys(tenants)),
		Connectors: map[string][]byte{c.Source: c.Mapping},
	})
	integration := e.IDs[c.Source]
	ids := e.Identity(t)
	st := e.Stage(t, ids)
	rec := NewRecorder()
	for _, f := range fixtures {
		e.Produce(t, e.Record(t, f, c.Source))
	}
	stagetest.Start(t, e.Runner(t, st, e.Dedupe(t), stage.Use(rec.Middleware())))
	rec.WaitCount(t, len(fixtures), 2*time.Minute)

	events := e.CanonicalEvents(t, st)
	byCause := map[string][]Canonical{}
	for _, ev := range events {
		if ev.Envelope.CausedBy == nil {
			t.Fatalf("canonical event %s has no caused_by", ev.Envelope.EventID)
		}
		byCause[*ev.Envelope.CausedBy] = append(byCause[*ev.Envelope.CausedBy], ev)
	}
	for _, f := range fixtures {
		t.Run(f.Name, func(t *testing.T) {
			outs := rec.Of(f.Envelope.EventID)
			if len(outs) != 1 {
				t.Fatalf("fixture committed %d times, want once: %+v", len(outs), outs)
			}
			got := goldenResult{Outcome: outs[0].Outcome.String(), Reason: outs[0].Reason, Error: outs[0].Err}
			evs := byCause[f.Envelope.EventID]
			if got.Outcome == stage.OutcomeDone.String() && len(evs) == 0 {
				t.Errorf("the fixture is done but made no canonical event")
			}
			if got.Outcome != stage.OutcomeDone.String() && len(evs) > 0 {
				t.Errorf("the fixture is %s but made %d canonical events", got.Outcome, len(evs))
			}
			for _, ev := range evs {
				checkCanonical(t, e, f, ev, c.Source, integration)
				headers := map[string]string{}
				for _, h := range ev.Raw.Headers {
					headers[h.Key] = string(h.Value)
				}
				got.Events = append(got.Events, goldenRecord{
					Object:  strings.TrimPrefix(ev.Raw.Topic, e.Name+".canonical."),
					Key:     string(ev.Raw.Key),
					Headers: headers,
					Event:   ev.Event,
				})
			}
			sortGolden(got.Events)
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			// The integration id is unique to each run.
			b = bytes.ReplaceAll(b, []byte(integration), []byte(c.Source))
			b = append(b, '\n')
			compareGolden(t, filepath.Join(c.Dir, "golden", f.Name+".json"), b, c.Update)
		})
	}
}

func sortGolden(evs []goldenRecord) {
	less := func(a, b goldenRecord) bool {
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return a.Headers[kafka.HeaderEventID] < b.Headers[kafka.HeaderEventID]
	}
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && less(evs[j], evs[j-1]); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func compareGolden(t *testing.T, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no golden file %s; run go test -update and review it", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the canonical events differ from %s (go test -update rewrites it):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines where want and got part.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, wl, gl)
		}
	}
	return "(no difference in lines)"
}

// checkCanonical checks the contracts every canonical event keeps.
func checkCanonical(t *testing.T, e *Env, f Fixture, ev Canonical, source, integration string) {
	t.Helper()
	h := func(k string) string { return kafka.Header(ev.Raw, k) }
	env := ev.Envelope
	object := strings.TrimSuffix(strings.TrimPrefix(ev.Record, "sluice.canonical."), "Event")
	object = strings.ToLower(object)
	checks := []struct {
		what string
		ok   bool
	}{
		{"tenant-id header is the envelope's tenant", h(kafka.HeaderTenantID) == env.TenantID && env.TenantID == f.Envelope.TenantID},
		{"event-id header is the envelope's event id", h(kafka.HeaderEventID) == env.EventID},
		{"event id is evt_ and 26 base32 characters", validEventID(env.EventID)},
		{"event-type header is the envelope's <object>.<action>", h(kafka.HeaderEventType) == env.EventType && validType(env.EventType, object)},
		{"integration header and envelope name the integration", h(kafka.HeaderIntegration) == integration && env.Integration == integration},
		{"envelope source is the connector's", env.Source == source},
		{"received-at header is set", h(kafka.HeaderReceivedAt) != ""},
		{"received_at is the source event's", env.ReceivedAt.Equal(f.Envelope.ReceivedAt.UTC().Truncate(time.Millisecond))},
		{"lane header is interactive", h(kafka.HeaderLane) == config.LaneInteractive},
		{"caused_by is the source event id", env.CausedBy != nil && *env.CausedBy == f.Envelope.EventID},
		{"traceparent is carried forward", f.Envelope.TraceParent == nil || (h(kafka.HeaderTraceParent) == *f.Envelope.TraceParent && env.TraceParent != nil && *env.TraceParent == *f.Envelope.TraceParent)},
		{"canonical id has the object's prefix", strings.HasPrefix(ev.ID, idPrefix(object)+"_")},
		{"external ids hold the source's id", hasSystem(ev, source)},
		{"topic is the object's", strings.HasSuffix(ev.Raw.Topic, ".canonical."+object)},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s %s: %s", ev.Record, env.EventID, c.what)
		}
	}
	tn, _ := e.Catalog.Tenant(env.TenantID)
	if tn != nil && string(ev.Raw.Key) != string(tenant.Key(tn, ev.ID)) {
		t.Errorf("%s %s: key %q is not the tenant's key for the object", ev.Record, env.EventID, ev.Raw.Key)
	}
	// The value is in the Confluent wire format under the topic's subject.
	if _, err := avro.SchemaID(ev.Raw.Value); err != nil {
		t.Errorf("%s: %v", ev.Record, err)
	}
}

// idPrefix restates the canonical model's id prefixes rather than asking
// package identity, so that the check holds identity to the contract.
func idPrefix(object string) string {
	switch object {
	case "account":
		return "acc"
	case "contact":
		return "con"
	case "order":
		return "ord"
	case "ticket":
		return "tkt"
	}
	return "obj"
}

func validEventID(id string) bool {
	rest, ok := strings.CutPrefix(id, "evt_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			return false
		}
	}
	return true
}

func validType(t, object string) bool {
	return t == object+".created" || t == object+".updated" || t == object+".deleted"
}

func hasSystem(ev Canonical, source string) bool {
	for _, x := range ev.ExternalIDs {
		if x.System == source && x.ID != "" {
			return true
		}
	}
	return false
}
