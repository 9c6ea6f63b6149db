package config

import (
	"time"
)

// Catalog is the integration catalog held in sluice.yaml.
type Catalog struct {
	// Version is the format version of the file; 1 is the only one.
	Version int `yaml:"version"`
	// Tenants are the customers whose events sluice carries.
	Tenants []Tenant `yaml:"tenants"`
	// Integrations are the ways events come in.
	Integrations []Integration `yaml:"integrations"`
	// Destinations are the places canonical events go out to.
	Destinations []Destination `yaml:"destinations"`
	// Identity tunes how objects seen in several systems are matched.
	Identity Identity `yaml:"identity"`

	// dir is the directory the catalog was read from; relative file
	// references are resolved against it.
	dir string
}

// Dir returns the directory the catalog was loaded from ("" when it was
// parsed from memory). Relative paths in the catalog are relative to it.
func (c *Catalog) Dir() string { return c.dir }

// Identity tunes the match keys of identity stitching. Its lists are
// added to sluice's own (see package identity: DefaultFreeMail and
// DefaultSharedHosts). Changing them changes which objects match from
// then on; ids already given stay.
type Identity struct {
	// FreeMailDomains are mail domains that identify no company (a
	// regional provider, an internet provider's mail): an address there
	// gives an account no domain to match on.
	FreeMailDomains []string `yaml:"free_mail_domains"`
	// SharedHosts are hosts where a company's page is a path
	// (pages.example.com/acme): a website there gives an account no
	// domain to match on.
	SharedHosts []string `yaml:"shared_hosts"`
	// StripPlusTags matches ada+news@example.com as ada@example.com, for
	// tenants whose sources add sub-addresses. Default false: they are
	// different mailboxes at most providers.
	StripPlusTags bool `yaml:"strip_plus_tags"`
}

// Tenant is one customer of the product that runs sluice.
type Tenant struct {
	// ID identifies the tenant everywhere: envelopes, headers, metrics,
	// Redis keys, URLs. Lower-case letters, digits, '-' and '_'.
	ID string `yaml:"id"`
	// Name is for people.
	Name string `yaml:"name"`
	// PartitionKey is the Kafka record key of the tenant's events, so they
	// stay in order on one partition. Default: the tenant ID.
	PartitionKey string `yaml:"partition_key"`
	// HotSubKeys, when above 1, spreads a high-volume tenant over that many
	// keys chosen by entity id: per-entity order is kept, per-tenant order
	// is not. Default 0 (one key).
	HotSubKeys int `yaml:"hot_sub_keys"`
	// RateLimit caps the events a tenant may send in, across all
	// integrations and all ingress instances. Default: no limit.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// Enabled turns the tenant off without removing it. Default true.
	Enabled *bool `yaml:"enabled"`
}

// IsEnabled reports whether the tenant is enabled.
func (t *Tenant) IsEnabled() bool { return t.Enabled == nil || *t.Enabled }

// Key returns the partition key of the tenant.
func (t *Tenant) Key() string {
	if t.PartitionKey != "" {
		return t.PartitionKey
	}
	return t.ID
}

// RateLimit is a rate with a burst, enforced with GCRA.
type RateLimit struct {
	// Rate is how many events are allowed per Per.
	Rate int `yaml:"rate"`
	// Per is the period of Rate. Default 1s.
	Per time.Duration `yaml:"per"`
	// Burst is how many events may come at once. Default Rate.
	Burst int `yaml:"burst"`
}

// Integration kinds.
const (
	KindWebhook = "webhook"
	KindOutbox  = "outbox"
	KindSync    = "sync"
)

// Lanes separate interactive traffic from backfills and bulk syncs, so a
// batch never delays an interactive event.
const (
	LaneInteractive = "interactive"
	LaneBatch       = "batch"
)

// Integration is one way events come in for one source system.
type Integration struct {
	// ID names the integration in URLs and topics (sluice.in.<id>).
	// Lower-case letters, digits, '-', '_' and '.'.
	ID string `yaml:"id"`
	// Owner is who answers for the integration (a team or an address).
	Owner string `yaml:"owner"`
	// Kind is how events arrive: webhook, outbox or sync.
	Kind string `yaml:"kind"`
	// Source is the source system's connector (crm, payments, commerce,
	// support, ...); it selects the payload shapes and the mapping.
	Source string `yaml:"source"`
	// Enabled turns the integration off; while off, webhooks get 503 with
	// DisabledReason. Default true.
	Enabled *bool `yaml:"enabled"`
	// DisabledReason is said to callers while the integration is off.
	DisabledReason string `yaml:"disabled_reason"`
	// Tenants lists the tenants allowed to use the integration. Default:
	// every tenant.
	Tenants []string `yaml:"tenants"`
	// Lane is interactive (default) or batch.
	Lane string `yaml:"lane"`
	// Partitions of the integration's topics. Default 6.
	Partitions int32 `yaml:"partitions"`
	// Signature says how webhooks are authenticated; required for kind
	// webhook.
	Signature *Signature `yaml:"signature"`
	// Contract says which Avro schemas the events must match.
	Contract Contract `yaml:"contract"`
	// Mapping is the path of the YAML mapping to the canonical model.
	// Default: the source connector's own mapping.
	Mapping string `yaml:"mapping"`
	// RateLimit caps this integration's events per tenant. Default: none.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// Limits bound request and batch sizes.
	Limits Limits `yaml:"limits"`
}

// IsEnabled reports whether the integration is enabled.
func (i *Integration) IsEnabled() bool { return i.Enabled == nil || *i.Enabled }

// AllowsTenant reports whether tenant may use the integration.
func (i *Integration) AllowsTenant(tenant string) bool {
	if len(i.Tenants) == 0 {
		return true
	}
	for _, t := range i.Tenants {
		if t == tenant {
			return true
		}
	}
	return false
}

// Limits bound what one request may carry.
type Limits struct {
	// MaxBodyBytes is the largest request body. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatchEvents is the most events in one batch request. Default 500.
	MaxBatchEvents int `yaml:"max_batch_events"`
	// MaxBatchBytes is the largest batch request body. Default 5 MiB.
	MaxBatchBytes int64 `yaml:"max_batch_bytes"`
}

// Signature schemes.
const (
	SchemeStandardWebhooks = "standard-webhooks"
	SchemeStripe           = "stripe"
	SchemeGitHub           = "github"
	SchemeShopify          = "shopify"
	SchemeSlack            = "slack"
	SchemeHMAC             = "hmac"
)

// Schemes lists the signature schemes sluice knows.
func Schemes() []string {
	return []string{SchemeStandardWebhooks, SchemeStripe, SchemeGitHub, SchemeShopify, SchemeSlack, SchemeHMAC}
}

// Signature says how an integration's webhooks are signed.
type Signature struct {
	// Scheme is one of Schemes().
	Scheme string `yaml:"scheme"`
	// Secrets are the active signing secrets; several during a rotation.
	Secrets []Secret `yaml:"secrets"`
	// Tolerance is how far a signed timestamp may be from now. Default 5m.
	Tolerance time.Duration `yaml:"tolerance"`
	// HMAC configures the generic hmac scheme.
	HMAC *HMAC `yaml:"hmac"`
}

// HMAC configures a generic HMAC signature.
type HMAC struct {
	// Header carries the signature.
	Header string `yaml:"header"`
	// Algorithm is sha256 (default) or sha512.
	Algorithm string `yaml:"algorithm"`
	// Encoding is hex (default) or base64.
	Encoding string `yaml:"encoding"`
	// Prefix is stripped from the header value before decoding, e.g.
	// "sha256=".
	Prefix string `yaml:"prefix"`
	// TimestampHeader, when set, carries a Unix timestamp that is signed
	// with the body as "<timestamp><separator><body>".
	TimestampHeader string `yaml:"timestamp_header"`
	// Separator joins timestamp and body; only with TimestampHeader.
	// Default "." when TimestampHeader is set.
	Separator *string `yaml:"separator"`
}

// Unknown-field policies.
const (
	UnknownDrop   = "drop"
	UnknownReject = "reject"
)

// Invalid-event policies.
const (
	InvalidReject     = "reject"
	InvalidQuarantine = "quarantine"
)

// Contract names the Avro contracts of an integration's events.
type Contract struct {
	// EventType says where the event type is read from: a header, or a
	// field of the JSON body. Default: the source connector's rule.
	EventType *FieldRef `yaml:"event_type"`
	// EventID says where the provider's delivery id is read from. Default:
	// the signature scheme's rule, else a hash of the event.
	EventID *FieldRef `yaml:"event_id"`
	// EntityID says where the id of the entity an event is about is read
	// from (a contact's id, an order's number). It only matters for a hot
	// tenant, whose events are spread over sub-keys by entity id so that
	// one entity's events stay in order. Default: none, every event of a
	// hot tenant goes to its first sub-key.
	EntityID *FieldRef `yaml:"entity_id"`
	// Events map event types to the Avro record that carries them.
	Events []EventContract `yaml:"events"`
	// UnknownFields is drop (default: data minimization) or reject.
	UnknownFields string `yaml:"unknown_fields"`
	// OnInvalid is reject (default: 422 to the sender) or quarantine (202,
	// kept in the invalid topic for review).
	OnInvalid string `yaml:"on_invalid"`
}

// FieldRef points at a value in a request: a header or a JSON path.
type FieldRef struct {
	// Header is an HTTP header name.
	Header string `yaml:"header"`
	// JSON is a dotted path into the body, e.g. "type" or "event.id".
	JSON string `yaml:"json"`
}

// EventContract binds event types to an Avro record.
type EventContract struct {
	// Type is an event type, or a prefix pattern ending in '*'
	// ("contact.*"), or "*" for every type.
	Type string `yaml:"type"`
	// Record is the full name of the Avro record that carries the events.
	Record string `yaml:"record"`
}

// Destination kinds.
const (
	DestinationWebhook = "webhook"
	DestinationKafka   = "kafka"
)

// Destination is a place canonical events are delivered to.
type Destination struct {
	// ID names the destination in topics, groups and metrics.
	ID string `yaml:"id"`
	// Owner is who answers for the destination.
	Owner string `yaml:"owner"`
	// Kind is webhook or kafka.
	Kind string `yaml:"kind"`
	// Enabled turns the destination off. Default true.
	Enabled *bool `yaml:"enabled"`
	// URL is the webhook endpoint (kind webhook).
	URL string `yaml:"url"`
	// Topic is the Kafka topic (kind kafka).
	Topic string `yaml:"topic"`
	// Secrets sign outbound webhooks (Standard Webhooks whsec_ or whsk_
	// keys); several during a rotation.
	Secrets []Secret `yaml:"secrets"`
	// Subscribe selects the events delivered.
	Subscribe Subscription `yaml:"subscribe"`
	// AllowPrivateNetwork lets the destination resolve to private,
	// loopback or link-local addresses, which are refused by default.
	AllowPrivateNetwork bool `yaml:"allow_private_network"`
	// Timeout bounds one request. Default 20s.
	Timeout time.Duration `yaml:"timeout"`
	// RateLimit caps requests to the destination. Default: none.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// TenantRateLimit caps requests per tenant. Default: none.
	TenantRateLimit *RateLimit `yaml:"tenant_rate_limit"`
	// MaxConcurrency caps requests in flight. Default 16.
	MaxConcurrency int `yaml:"max_concurrency"`
	// Ordered delivers one tenant/entity's events in order.
	Ordered bool `yaml:"ordered"`
	// Retry bounds retries.
	Retry Retry `yaml:"retry"`
}

// IsEnabled reports whether the destination is enabled.
func (d *Destination) IsEnabled() bool { return d.Enabled == nil || *d.Enabled }

// Subscription selects events for a destination. Empty lists match all.
type Subscription struct {
	// Objects are canonical object types: account, contact, order, ticket.
	Objects []string `yaml:"objects"`
	// Tenants are tenant ids.
	Tenants []string `yaml:"tenants"`
	// EventTypes are event types or prefix patterns ending in '*'.
	EventTypes []string `yaml:"event_types"`
}

// Retry bounds retries of a failing delivery.
type Retry struct {
	// MaxAttempts counts the first attempt. Default 8.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxAge gives up on an event older than this. Default 24h.
	MaxAge time.Duration `yaml:"max_age"`
	// InitialBackoff is the first delay. Default 1s.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps a delay. Default 1h.
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// Canonical object types.
var canonicalObjects = []string{"account", "contact", "order", "ticket"}

// CanonicalObjects lists the canonical object types.
func CanonicalObjects() []string { return append([]string(nil), canonicalObjects...) }
