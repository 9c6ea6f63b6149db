package transform

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/transform/mapping"
	"github.com/sluicehq/sluice/internal/canonical"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/tenant"
)

// EventID returns the id of the canonical event made from the source
// event sourceEventID as the mapping's object name: "evt_" and 26 base32
// characters of SHA-256 over the tenant, the source event id, the
// object's name and type. It is the same on every attempt, replay and
// instance, so a canonical event handled twice has one id and is
// deduplicated downstream; one source event making several objects (an
// order and its customer) gives each its own.
func EventID(tenantID, sourceEventID, objectName, objectType string) string {
	return identity.HashID("evt", tenantID, sourceEventID, objectName, objectType)
}

// build turns an item's objects into canonical event records, given the
// resolutions of all subjects of the batch. A classified error fails the
// item; an unclassified one (the registry is down) is the batch's.
func (s *Stage) build(ctx context.Context, it *item, resolutions []identity.Resolution) error {
	refIdx := it.first + len(it.objects)
	// The source event's header values, passed on to each event as they
	// are (r.Tenant is the tenant-id header's); the trace context falls
	// back to the envelope's.
	tenantHdr := kafka.HeaderBytes(it.r.Raw, kafka.HeaderTenantID)
	traceParentHdr := kafka.HeaderBytes(it.r.Raw, kafka.HeaderTraceParent)
	var traceParent *string
	switch {
	case len(traceParentHdr) > 0:
		tp := string(traceParentHdr)
		traceParent = &tp
	case it.env.TraceParent != nil && *it.env.TraceParent != "":
		traceParent = it.env.TraceParent
		traceParentHdr = []byte(*traceParent)
	}
	traceState := kafka.HeaderBytes(it.r.Raw, kafka.HeaderTraceState)
	received := kafka.HeaderBytes(it.r.Raw, kafka.HeaderReceivedAt)
	if len(received) == 0 {
		received = []byte(it.env.ReceivedAt.UTC().Format(receivedAtLayout))
	}
	// Most source events make one object: its event and stats fit in
	// the item.
	it.outs, it.stats = it.out[:0], it.stat[:0]
	for i := range it.objects {
		o := &it.objects[i]
		res := resolutions[it.first+i]
		data := o.Data
		// A compiled mapping makes records with these fields.
		data.Set("tenant_id", it.r.Tenant)
		data.Set("id", res.ID)
		data.Set("external_ids", externalIDs(res.ExternalIDs, it.ig, o))
		for _, ref := range o.Refs {
			var id string
			if ref.Sibling != "" {
				id = siblingID(it, resolutions, ref.Sibling)
			} else {
				id = resolutions[refIdx].ID
				it.pending = append(it.pending, resolutions[refIdx].Pending...)
				refIdx++
			}
			if id != "" {
				data.Set(ref.Field, id)
			}
		}
		it.pending = append(it.pending, res.Pending...)
		outcome := res.Outcome.String()
		if res.Conflict {
			outcome = "conflict"
		}
		it.stats = append(it.stats, stitch{object: o.Type, outcome: outcome})

		// The mapping makes only the types and actions New prepared for.
		output, ok := it.ig.objects[o.Type]
		var et eventType
		if ok {
			et, ok = output.eventTypes[o.Action]
		}
		if !ok {
			return stage.Permanent(fmt.Errorf("%w: %s %s: no output for action %q", ErrEncode, o.Type, o.Name, o.Action))
		}
		eventID := EventID(it.r.Tenant, it.r.EventID, o.Name, o.Type)
		ev := &avro.Event{Data: data, Envelope: canonical.Envelope{
			TenantID:      it.r.Tenant,
			EventID:       eventID,
			EventType:     et.name,
			Integration:   it.ig.id,
			Source:        it.env.Source,
			OccurredAt:    it.env.OccurredAt,
			ReceivedAt:    it.env.ReceivedAt,
			SchemaVersion: it.env.SchemaVersion,
			ActorID:       it.env.ActorID,
			CausedBy:      &it.r.EventID,
			TraceParent:   traceParent,
		}}
		value, err := s.serde.AppendEncode(ctx, nil, output.subject, ev)
		if err != nil {
			if errors.Is(err, avro.ErrEncode) {
				return stage.Permanent(fmt.Errorf("%w: %s %s: %w", ErrEncode, o.Type, o.Name, err))
			}
			return fmt.Errorf("%w: %w", ErrEncode, err) // the registry: the batch comes again
		}
		headers := make([]kgo.RecordHeader, 0, 8)
		headers = append(headers,
			kgo.RecordHeader{Key: kafka.HeaderTenantID, Value: tenantHdr},
			kgo.RecordHeader{Key: kafka.HeaderEventID, Value: []byte(eventID)},
			kgo.RecordHeader{Key: kafka.HeaderEventType, Value: et.header},
			kgo.RecordHeader{Key: kafka.HeaderIntegration, Value: it.ig.idHeader},
		)
		if len(traceParentHdr) > 0 {
			headers = append(headers, kgo.RecordHeader{Key: kafka.HeaderTraceParent, Value: traceParentHdr})
		}
		if len(traceState) > 0 {
			headers = append(headers, kgo.RecordHeader{Key: kafka.HeaderTraceState, Value: traceState})
		}
		headers = append(headers,
			kgo.RecordHeader{Key: kafka.HeaderReceivedAt, Value: received},
			kgo.RecordHeader{Key: kafka.HeaderLane, Value: it.ig.laneHeader},
		)
		it.outs = append(it.outs, &kgo.Record{Topic: output.topic, Key: tenant.Key(it.tenant, res.ID), Value: value, Headers: headers})
	}
	return nil
}

// siblingID returns the canonical id of the item's object named name, or
// "" when it has none.
func siblingID(it *item, resolutions []identity.Resolution, name string) string {
	for i := range it.objects {
		if it.objects[i].Name == name {
			return resolutions[it.first+i].ID
		}
	}
	return ""
}

// externalIDs is the external_ids list of an object: every external id
// of its canonical id, with the object's own URL, as the serde writes a
// []canonical.ExternalID (as it would their records' maps).
func externalIDs(list []canonical.ExternalID, ig *integration, o *mapping.Object) []canonical.ExternalID {
	out := make([]canonical.ExternalID, 0, len(list)+1)
	var url *string
	if o.ExternalURL != "" {
		url = &o.ExternalURL
	}
	own := false
	for _, e := range list {
		x := canonical.ExternalID{System: e.System, ID: e.ID, Integration: e.Integration}
		if e.System == ig.source && e.ID == o.ExternalID && (e.Integration == nil || *e.Integration == ig.id) {
			own = true
			x.URL = url
		}
		out = append(out, x)
	}
	if !own {
		out = append(out, canonical.ExternalID{System: ig.source, ID: o.ExternalID, Integration: &ig.id, URL: url})
	}
	return out
}

// receivedAtLayout is the received-at header's layout: RFC 3339 UTC with
// milliseconds.
const receivedAtLayout = "2006-01-02T15:04:05.000Z07:00"
