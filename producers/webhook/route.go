package webhook

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/connectors/hmac"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/schemes"
	"github.com/sluicehq/sluice/connectors/slack"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
)

// route is what the ingress knows of one integration, built once in New.
type route struct {
	in           *config.Integration
	verifier     signature.Verifier
	contracts    []*contract
	inTopic      string
	invalidTopic string
	quarantine   bool
	slack        bool
}

// contract is one event contract of an integration: the event types it
// covers, their record, validator and subject.
type contract struct {
	pattern   string
	record    string
	subject   string
	validator *avro.Validator
}

// newRoute builds the route of an integration that takes webhooks. A
// disabled integration is routed (to be answered 503 with its reason)
// without resolving its secrets, which may be gone already.
func newRoute(in *config.Integration, schemas *avro.Schemas, ns kafka.Namespace) (*route, error) {
	rt := &route{
		in:           in,
		inTopic:      ns.Name(kafka.InTopic(in.ID)),
		invalidTopic: ns.Name(kafka.InvalidTopic(in.ID)),
		quarantine:   in.Contract.OnInvalid == config.InvalidQuarantine,
		slack:        in.Signature.Scheme == slack.Name,
	}
	bad := func(field string, err error) error {
		return fmt.Errorf("%w: integration %s: %s: %v", ErrConfig, in.ID, field, err)
	}
	unknown, err := avro.ParseUnknownFields(in.Contract.UnknownFields)
	if err != nil {
		return nil, bad("contract.unknown_fields", err)
	}
	for i, ec := range in.Contract.Events {
		b, err := schemas.Bind(rt.inTopic, ec.Record)
		if err != nil {
			return nil, bad(fmt.Sprintf("contract.events[%d].record", i), err)
		}
		v, err := schemas.Validator(ec.Record, avro.Unknown(unknown))
		if err != nil {
			return nil, bad(fmt.Sprintf("contract.events[%d].record", i), err)
		}
		rt.contracts = append(rt.contracts, &contract{pattern: ec.Type, record: ec.Record, subject: b.Subject, validator: v})
	}
	if !in.IsEnabled() {
		return rt, nil
	}
	secrets, err := config.ResolveAll(in.Signature.Secrets)
	if err != nil {
		return nil, bad("signature.secrets", err)
	}
	cfg := schemes.Config{
		Scheme:    in.Signature.Scheme,
		Secrets:   secrets,
		Tolerance: in.Signature.Tolerance,
		MaxBody:   max(in.Limits.MaxBodyBytes, in.Limits.MaxBatchBytes),
	}
	if h := in.Signature.HMAC; h != nil {
		cfg.HMAC = &hmac.Config{
			Header:          h.Header,
			Algorithm:       h.Algorithm,
			Encoding:        h.Encoding,
			Prefix:          h.Prefix,
			TimestampHeader: h.TimestampHeader,
			Separator:       h.Separator,
		}
	}
	if rt.verifier, err = schemes.New(cfg); err != nil {
		return nil, bad("signature", err)
	}
	return rt, nil
}

// match returns the contract of an event type: an exact type first, then
// the longest prefix pattern ("contact.*"), then "*"; nil when none
// covers it or the type is empty.
func (rt *route) match(eventType string) *contract {
	if eventType == "" {
		return nil
	}
	var best *contract
	bestLen := -1
	for _, c := range rt.contracts {
		switch {
		case c.pattern == eventType:
			return c
		case strings.HasSuffix(c.pattern, "*"):
			prefix := strings.TrimSuffix(c.pattern, "*")
			if strings.HasPrefix(eventType, prefix) && len(prefix) > bestLen {
				best, bestLen = c, len(prefix)
			}
		}
	}
	return best
}

// subjects returns the integration's subjects, once each.
func (rt *route) subjects() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range rt.contracts {
		if !seen[c.subject] {
			seen[c.subject] = true
			out = append(out, c.subject)
		}
	}
	return out
}
