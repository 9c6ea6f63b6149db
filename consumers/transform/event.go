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
	ids := make(map[string]string, len(it.objects)) // by object name
	for i, o := range it.objects {
		ids[o.Name] = resolutions[it.first+i].ID
	}
	refIdx := it.first + len(it.objects)
	// The source event's header values, passed on to each event as they
	// are; the trace context falls back to the envelope's.
	traceParentHdr := kafka.HeaderBytes(it.r.Raw, kafka.HeaderTraceParent)
	traceParent := string(traceParentHdr)
	if traceParent == "" && it.env.TraceParent != nil {
		traceParent = *it.env.TraceParent
		traceParentHdr = []byte(traceParent)
	}
	traceState := kafka.HeaderBytes(it.r.Raw, kafka.HeaderTraceState)
	received := kafka.HeaderBytes(it.r.Raw, kafka.HeaderReceivedAt)
	if len(received) == 0 {
		received = []byte(it.env.ReceivedAt.UTC().Format(receivedAtLayout))
	}
	for i := range it.objects {
		o := &it.objects[i]
		res := resolutions[it.first+i]
		data := o.Data
		data["tenant_id"] = it.r.Tenant
		data["id"] = res.ID
		data["external_ids"] = externalIDs(res.ExternalIDs, it.ig, o)
		for _, ref := range o.Refs {
			var id string
			if ref.Sibling != "" {
				id = ids[ref.Sibling]
			} else {
				id = resolutions[refIdx].ID
				it.pending = append(it.pending, resolutions[refIdx].Pending...)
				refIdx++
			}
			if id != "" {
				data[ref.Field] = id
			}
		}
		it.pending = append(it.pending, res.Pending...)
		outcome := res.Outcome.String()
		if res.Conflict {
			outcome = "conflict"
		}
		it.stats = append(it.stats, stitch{object: o.Type, outcome: outcome})

		eventID := EventID(it.r.Tenant, it.r.EventID, o.Name, o.Type)
		eventType := o.Type + "." + o.Action
		causedBy := it.r.EventID
		env := canonical.Envelope{
			TenantID:      it.r.Tenant,
			EventID:       eventID,
			EventType:     eventType,
			Integration:   it.ig.id,
			Source:        it.env.Source,
			OccurredAt:    it.env.OccurredAt,
			ReceivedAt:    it.env.ReceivedAt,
			SchemaVersion: it.env.SchemaVersion,
			ActorID:       it.env.ActorID,
			CausedBy:      &causedBy,
		}
		if traceParent != "" {
			env.TraceParent = &traceParent
		}
		topic := s.cfg.topic(o.Type, it.ig.lane)
		value, err := s.serde.AppendEncode(ctx, nil, avro.Subject(topic, o.Record), map[string]any{
			"envelope": env, // the serde writes the struct as it would its native map
			"data":     data,
		})
		if err != nil {
			if errors.Is(err, avro.ErrEncode) {
				return stage.Permanent(fmt.Errorf("%w: %s %s: %w", ErrEncode, o.Type, o.Name, err))
			}
			return fmt.Errorf("%w: %w", ErrEncode, err) // the registry: the batch comes again
		}
		out := &kgo.Record{Topic: topic, Key: tenant.Key(it.tenant, res.ID), Value: value}
		out.Headers = make([]kgo.RecordHeader, 0, 9)
		kafka.SetHeader(out, kafka.HeaderTenantID, it.r.Tenant)
		kafka.SetHeader(out, kafka.HeaderEventID, eventID)
		kafka.SetHeader(out, kafka.HeaderEventType, eventType)
		kafka.SetHeader(out, kafka.HeaderIntegration, it.ig.id)
		if len(traceParentHdr) > 0 {
			kafka.SetHeaderBytes(out, kafka.HeaderTraceParent, traceParentHdr)
		}
		if len(traceState) > 0 {
			kafka.SetHeaderBytes(out, kafka.HeaderTraceState, traceState)
		}
		kafka.SetHeaderBytes(out, kafka.HeaderReceivedAt, received)
		kafka.SetHeader(out, kafka.HeaderLane, it.ig.lane)
		it.outs = append(it.outs, out)
	}
	return nil
}

// externalIDs is the native external_ids list of an object: every
// external id of its canonical id, with the object's own URL. The items
// are canonical.ExternalID structs, which the serde writes as it would
// their records' maps.
func externalIDs(list []canonical.ExternalID, ig *integration, o *mapping.Object) []any {
	out := make([]any, 0, len(list)+1)
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
