package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	tenantID      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	integrationID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,100}$`)
	avroFullName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	headerName    = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	hostName      = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

type validator struct {
	file  string
	lines map[string]int
	errs  []*FieldError
}

func (v *validator) fail(path, format string, args ...any) {
	line := v.lines[path]
	// Point at the nearest enclosing field that exists in the file.
	for p := path; line == 0 && p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		line = v.lines[p]
	}
	v.errs = append(v.errs, &FieldError{File: v.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func oneOf(opts ...string) string { return "expected one of " + strings.Join(opts, ", ") }

func (v *validator) enum(path, got string, opts ...string) {
	if got != "" && !slices.Contains(opts, got) {
		v.fail(path, "%s; got %q", oneOf(opts...), got)
	}
}

// requiredEnum is enum for a value that must be given.
func (v *validator) requiredEnum(path, got string, opts ...string) {
	if got == "" {
		v.fail(path, "required: %s", oneOf(opts...))
	}
	v.enum(path, got, opts...)
}

// id checks the id at path of an item of a list: given, of the form re
// matches (described by form), and not already in seen, which it joins.
func (v *validator) id(path, id string, re *regexp.Regexp, form, item string, seen map[string]bool) {
	switch {
	case id == "":
		v.fail(path, "required")
	case !re.MatchString(id):
		v.fail(path, "expected %s; got %q", form, id)
	case seen[id]:
		v.fail(path, "duplicate %s %q", item, id)
	}
	seen[id] = true
}

func (v *validator) catalog(c *Catalog) {
	if c.Version != 1 {
		v.fail("version", "expected 1; got %d", c.Version)
	}
	tenants := map[string]bool{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		p := fmt.Sprintf("tenants[%d]", i)
		v.id(p+".id", t.ID, tenantID, "lower-case letters, digits, '-' or '_' (at most 63)", "tenant", tenants)
		if t.HotSubKeys < 0 || t.HotSubKeys > 1024 {
			v.fail(p+".hot_sub_keys", "expected 0 to 1024; got %d", t.HotSubKeys)
		}
		v.rateLimit(p+".rate_limit", t.RateLimit)
	}
	if len(c.Tenants) == 0 {
		v.fail("tenants", "at least one tenant is required")
	}

	for i, d := range c.Identity.FreeMailDomains {
		v.host(fmt.Sprintf("identity.free_mail_domains[%d]", i), d)
	}
	for i, d := range c.Identity.SharedHosts {
		v.host(fmt.Sprintf("identity.shared_hosts[%d]", i), d)
	}

	integrations := map[string]bool{}
	for i := range c.Integrations {
		in := &c.Integrations[i]
		p := fmt.Sprintf("integrations[%d]", i)
		v.id(p+".id", in.ID, integrationID, "lower-case letters, digits, '.', '-' or '_'", "integration", integrations)
		v.requiredEnum(p+".kind", in.Kind, KindWebhook, KindOutbox, KindSync)
		if in.Source == "" {
			v.fail(p+".source", "required: the source system's connector, e.g. crm")
		}
		v.enum(p+".lane", in.Lane, LaneInteractive, LaneBatch)
		if in.Partitions < 0 || in.Partitions > 1000 {
			v.fail(p+".partitions", "expected 1 to 1000; got %d", in.Partitions)
		}
		for j, t := range in.Tenants {
			if !tenants[t] {
				v.fail(fmt.Sprintf("%s.tenants[%d]", p, j), "unknown tenant %q", t)
			}
		}
		if in.Kind == KindWebhook && in.Signature == nil {
			v.fail(p+".signature", "required for a webhook integration")
		}
		v.signature(p+".signature", in.Signature)
		v.contract(p+".contract", &in.Contract)
		v.rateLimit(p+".rate_limit", in.RateLimit)
		if in.Limits.MaxBodyBytes < 0 {
			v.fail(p+".limits.max_body_bytes", "expected a positive size; got %d", in.Limits.MaxBodyBytes)
		}
		if in.Limits.MaxBatchEvents < 0 {
			v.fail(p+".limits.max_batch_events", "expected a positive count; got %d", in.Limits.MaxBatchEvents)
		}
		if in.Limits.MaxBatchBytes < 0 {
			v.fail(p+".limits.max_batch_bytes", "expected a positive size; got %d", in.Limits.MaxBatchBytes)
		}
	}

	destinations := map[string]bool{}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		p := fmt.Sprintf("destinations[%d]", i)
		v.id(p+".id", d.ID, integrationID, "lower-case letters, digits, '.', '-' or '_'", "destination", destinations)
		v.requiredEnum(p+".kind", d.Kind, DestinationWebhook, DestinationKafka)
		switch d.Kind {
		case DestinationWebhook:
			u, err := url.Parse(d.URL)
			switch {
			case d.URL == "":
				v.fail(p+".url", "required for a webhook destination")
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
				v.fail(p+".url", "expected an http or https URL; got %q", d.URL)
			}
			if len(d.Secrets) == 0 {
				v.fail(p+".secrets", "at least one signing secret is required for a webhook destination")
			}
		case DestinationKafka:
			if d.Topic == "" {
				v.fail(p+".topic", "required for a kafka destination")
			}
		}
		for j, s := range d.Secrets {
			if msg := s.problem(); msg != "" {
				v.fail(fmt.Sprintf("%s.secrets[%d]", p, j), "%s", msg)
			}
		}
		for j, o := range d.Subscribe.Objects {
			if !slices.Contains(canonicalObjects, o) {
				v.fail(fmt.Sprintf("%s.subscribe.objects[%d]", p, j), "%s; got %q", oneOf(canonicalObjects...), o)
			}
		}
		for j, t := range d.Subscribe.Tenants {
			if !tenants[t] {
				v.fail(fmt.Sprintf("%s.subscribe.tenants[%d]", p, j), "unknown tenant %q", t)
			}
		}
		v.duration(p+".timeout", d.Timeout, 0, 5*time.Minute)
		v.rateLimit(p+".rate_limit", d.RateLimit)
		v.rateLimit(p+".tenant_rate_limit", d.TenantRateLimit)
		if d.MaxConcurrency < 0 {
			v.fail(p+".max_concurrency", "expected a positive count; got %d", d.MaxConcurrency)
		}
		if d.Retry.MaxAttempts < 0 {
			v.fail(p+".retry.max_attempts", "expected a positive count; got %d", d.Retry.MaxAttempts)
		}
		v.duration(p+".retry.max_age", d.Retry.MaxAge, 0, 30*24*time.Hour)
		v.duration(p+".retry.initial_backoff", d.Retry.InitialBackoff, 0, 24*time.Hour)
		v.duration(p+".retry.max_backoff", d.Retry.MaxBackoff, 0, 7*24*time.Hour)
	}
}

// host checks a domain name given in lower case, as a match key compares
// it: letters, digits, '-' and dots, with at least one dot.
func (v *validator) host(path, d string) {
	if !hostName.MatchString(d) {
		v.fail(path, "expected a domain name in lower case, such as mail.example.net; got %q", d)
	}
}

func (v *validator) duration(path string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		v.fail(path, "expected a duration from %v to %v; got %v", lo, hi, d)
	}
}

func (v *validator) rateLimit(path string, r *RateLimit) {
	if r == nil {
		return
	}
	if r.Rate <= 0 {
		v.fail(path+".rate", "expected a positive count; got %d", r.Rate)
	}
	if r.Burst < 0 {
		v.fail(path+".burst", "expected a positive count; got %d", r.Burst)
	}
	if r.Per < 0 || r.Per > 24*time.Hour {
		v.fail(path+".per", "expected a duration up to 24h; got %v", r.Per)
	}
}

func (v *validator) signature(path string, s *Signature) {
	if s == nil {
		return
	}
	if s.Scheme == "" {
		v.fail(path+".scheme", "required: %s", oneOf(Schemes()...))
	}
	v.enum(path+".scheme", s.Scheme, Schemes()...)
	if len(s.Secrets) == 0 {
		v.fail(path+".secrets", "at least one secret is required")
	}
	for i, sec := range s.Secrets {
		if msg := sec.problem(); msg != "" {
			v.fail(fmt.Sprintf("%s.secrets[%d]", path, i), "%s", msg)
		}
	}
	v.duration(path+".tolerance", s.Tolerance, 0, 24*time.Hour)
	switch {
	case s.Scheme == SchemeHMAC && s.HMAC == nil:
		v.fail(path+".hmac", "required for the hmac scheme")
	case s.Scheme != SchemeHMAC && s.HMAC != nil && s.Scheme != "":
		v.fail(path+".hmac", "only allowed with scheme hmac")
	}
	if h := s.HMAC; h != nil {
		if !headerName.MatchString(h.Header) {
			v.fail(path+".hmac.header", "expected an HTTP header name; got %q", h.Header)
		}
		v.enum(path+".hmac.algorithm", h.Algorithm, "sha256", "sha512")
		v.enum(path+".hmac.encoding", h.Encoding, "hex", "base64")
		if h.TimestampHeader != "" && !headerName.MatchString(h.TimestampHeader) {
			v.fail(path+".hmac.timestamp_header", "expected an HTTP header name; got %q", h.TimestampHeader)
		}
		if h.Separator != nil && h.TimestampHeader == "" {
			v.fail(path+".hmac.separator", "only allowed with timestamp_header: without a timestamp only the body is signed")
		}
	}
}

func (v *validator) contract(path string, c *Contract) {
	v.enum(path+".unknown_fields", c.UnknownFields, UnknownDrop, UnknownReject)
	v.enum(path+".on_invalid", c.OnInvalid, InvalidReject, InvalidQuarantine)
	v.fieldRef(path+".event_type", c.EventType)
	v.fieldRef(path+".event_id", c.EventID)
	v.fieldRef(path+".entity_id", c.EntityID)
	if len(c.Events) == 0 {
		v.fail(path+".events", "at least one event contract is required (type and Avro record)")
	}
	seen := map[string]bool{}
	for i, e := range c.Events {
		p := fmt.Sprintf("%s.events[%d]", path, i)
		switch {
		case e.Type == "":
			v.fail(p+".type", `required: an event type, a prefix ending in "*", or "*"`)
		case strings.Contains(strings.TrimSuffix(e.Type, "*"), "*"):
			v.fail(p+".type", `expected "*" only at the end; got %q`, e.Type)
		case seen[e.Type]:
			v.fail(p+".type", "duplicate event type %q", e.Type)
		}
		seen[e.Type] = true
		if !avroFullName.MatchString(e.Record) {
			v.fail(p+".record", "expected the full name of an Avro record, e.g. sluice.source.crm.ContactEvent; got %q", e.Record)
		}
	}
}

func (v *validator) fieldRef(path string, f *FieldRef) {
	if f == nil {
		return
	}
	switch {
	case f.Header == "" && f.JSON == "":
		v.fail(path, "expected header or json")
	case f.Header != "" && f.JSON != "":
		v.fail(path, "expected header or json, not both")
	case f.Header != "" && !headerName.MatchString(f.Header):
		v.fail(path+".header", "expected an HTTP header name; got %q", f.Header)
	}
}

// Defaults.
const (
	DefaultPartitions     = 6
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxBatchEvents = 500
	DefaultMaxBatchBytes  = 5 << 20
	DefaultTolerance      = 5 * time.Minute
	DefaultTimeout        = 20 * time.Second
	DefaultConcurrency    = 16
	DefaultMaxAttempts    = 8
	DefaultMaxAge         = 24 * time.Hour
	DefaultBackoff        = time.Second
	DefaultMaxBackoff     = time.Hour
)

func (r *RateLimit) applyDefaults() {
	if r == nil {
		return
	}
	if r.Per == 0 {
		r.Per = time.Second
	}
	if r.Burst == 0 {
		r.Burst = r.Rate
	}
}

func (c *Catalog) applyDefaults() {
	for i := range c.Tenants {
		c.Tenants[i].RateLimit.applyDefaults()
	}
	for i := range c.Integrations {
		in := &c.Integrations[i]
		if in.Lane == "" {
			in.Lane = LaneInteractive
		}
		if in.Partitions == 0 {
			in.Partitions = DefaultPartitions
		}
		if in.Limits.MaxBodyBytes == 0 {
			in.Limits.MaxBodyBytes = DefaultMaxBodyBytes
		}
		if in.Limits.MaxBatchEvents == 0 {
			in.Limits.MaxBatchEvents = DefaultMaxBatchEvents
		}
		if in.Limits.MaxBatchBytes == 0 {
			in.Limits.MaxBatchBytes = DefaultMaxBatchBytes
		}
		if s := in.Signature; s != nil {
			if s.Tolerance == 0 {
				s.Tolerance = DefaultTolerance
			}
			if h := s.HMAC; h != nil {
				if h.Algorithm == "" {
					h.Algorithm = "sha256"
				}
				if h.Encoding == "" {
					h.Encoding = "hex"
				}
				if h.Separator == nil && h.TimestampHeader != "" {
					dot := "."
					h.Separator = &dot
				}
			}
		}
		if in.Contract.UnknownFields == "" {
			in.Contract.UnknownFields = UnknownDrop
		}
		if in.Contract.OnInvalid == "" {
			in.Contract.OnInvalid = InvalidReject
		}
		in.RateLimit.applyDefaults()
	}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		if d.Timeout == 0 {
			d.Timeout = DefaultTimeout
		}
		if d.MaxConcurrency == 0 {
			d.MaxConcurrency = DefaultConcurrency
		}
		if d.Retry.MaxAttempts == 0 {
			d.Retry.MaxAttempts = DefaultMaxAttempts
		}
		if d.Retry.MaxAge == 0 {
			d.Retry.MaxAge = DefaultMaxAge
		}
		if d.Retry.InitialBackoff == 0 {
			d.Retry.InitialBackoff = DefaultBackoff
		}
		if d.Retry.MaxBackoff == 0 {
			d.Retry.MaxBackoff = DefaultMaxBackoff
		}
		d.RateLimit.applyDefaults()
		d.TenantRateLimit.applyDefaults()
	}
}

// Tenant returns the tenant with id.
func (c *Catalog) Tenant(id string) (*Tenant, bool) {
	for i := range c.Tenants {
		if c.Tenants[i].ID == id {
			return &c.Tenants[i], true
		}
	}
	return nil, false
}

// Integration returns the integration with id.
func (c *Catalog) Integration(id string) (*Integration, bool) {
	for i := range c.Integrations {
		if c.Integrations[i].ID == id {
			return &c.Integrations[i], true
		}
	}
	return nil, false
}

// Destination returns the destination with id.
func (c *Catalog) Destination(id string) (*Destination, bool) {
	for i := range c.Destinations {
		if c.Destinations[i].ID == id {
			return &c.Destinations[i], true
		}
	}
	return nil, false
}
