// Package transformtest helps test the transform stage and the source
// connectors: source-event fixtures as partners send them, a test
// environment (Kafka, Redis, schema registry, a catalog of integrations)
// that runs the real stage, and Conformance, the suite every source
// connector passes with one call.
package transformtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/internal/canonical"
)

// Fixture is one source event as a partner sends it, with the envelope
// sluice adds at the edge. Fixture files live in a connector's testdata,
// one directory per event record:
//
//	testdata/ContactEvent/created-minimal.json
//	{
//	  "envelope": {"tenant_id": "acme", "event_id": "msg_...", "event_type": "contact.created",
//	               "received_at": "2026-03-02T09:14:08.120Z", "trace_parent": "00-...-01"},
//	  "body": { ...the partner's JSON body... }
//	}
//
// The envelope's integration and source are filled in by the environment
// that sends the fixture.
type Fixture struct {
	// Name is "<dir>/<file without .json>", e.g. "ContactEvent/created-minimal".
	Name string
	// Record is the full name of the source event record, e.g.
	// "sluice.source.crm.ContactEvent".
	Record string
	// Envelope is the envelope sluice added.
	Envelope canonical.Envelope
	// Body is the partner's JSON body.
	Body json.RawMessage
}

type fixtureFile struct {
	Envelope canonical.Envelope `json:"envelope"`
	Body     json.RawMessage    `json:"body"`
}

// LoadFixtures reads the fixtures of source in fsys (a connector's
// testdata directory), sorted by name, skipping the golden directory.
func LoadFixtures(fsys fs.FS, source string) ([]Fixture, error) {
	var out []Fixture
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == "golden" {
				return fs.SkipDir
			}
			return nil
		}
		if path.Ext(p) != ".json" {
			return nil
		}
		dir := path.Dir(p)
		if dir == "." || strings.Contains(dir, "/") {
			return fmt.Errorf("transformtest: fixture %s: expected <record>/<name>.json", p)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var ff fixtureFile
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ff); err != nil {
			return fmt.Errorf("transformtest: fixture %s: %w", p, err)
		}
		if ff.Envelope.TenantID == "" || ff.Envelope.EventID == "" || ff.Envelope.EventType == "" || ff.Envelope.ReceivedAt.IsZero() {
			return fmt.Errorf("transformtest: fixture %s: the envelope needs tenant_id, event_id, event_type and received_at", p)
		}
		if len(ff.Body) == 0 {
			return fmt.Errorf("transformtest: fixture %s: no body", p)
		}
		out = append(out, Fixture{
			Name:     strings.TrimSuffix(p, ".json"),
			Record:   "sluice.source." + source + "." + dir,
			Envelope: ff.Envelope,
			Body:     ff.Body,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Native validates the fixture's body against its record's contract (as
// the webhook ingress does, dropping unknown fields) and returns the
// native event, with the envelope's integration and source set.
func (f Fixture) Native(s *avro.Schemas, integration, source string) (map[string]any, error) {
	v, err := s.Validator(f.Record)
	if err != nil {
		return nil, err
	}
	return f.NativeWith(v, integration, source)
}

// NativeWith is Native with the validator of the fixture's record, for
// callers that make many records of one contract.
func (f Fixture) NativeWith(v *avro.Validator, integration, source string) (map[string]any, error) {
	data, err := v.Validate(f.Body)
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", f.Name, err)
	}
	env := f.Envelope
	env.Integration, env.Source = integration, source
	return avro.NativeEvent(env, data), nil
}
