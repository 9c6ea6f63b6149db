// Package canonical holds the Go form of sluice's canonical model: the
// objects Account, Contact, Order and Ticket that every source is mapped
// to, the envelope every event carries, and the events of the
// sluice.canonical.<object> topics.
//
// The Avro contracts in avro/schemas/canonical are the source of truth
// and document every field; these types mirror them field for field (the
// avro tag names the field) and are checked against them by the avro
// package's tests, which compare the fields and encode and decode every
// type through its schema. The json tags give the same names to
// destinations that receive JSON.
//
// Optional fields are pointers (nil is the Avro null); lists and maps are
// never nil after decoding. Times are UTC with millisecond precision, the
// precision of their Avro logical type. Values of these types are plain
// data and safe to share between goroutines once built.
package canonical

import "time"

// Full names of the canonical event records.
const (
	RecordAccountEvent = "sluice.canonical.AccountEvent"
	RecordContactEvent = "sluice.canonical.ContactEvent"
	RecordOrderEvent   = "sluice.canonical.OrderEvent"
	RecordTicketEvent  = "sluice.canonical.TicketEvent"
)

// Names of the canonical object types, as topics (sluice.canonical.<object>)
// and destination subscriptions write them.
const (
	ObjectAccount = "account"
	ObjectContact = "contact"
	ObjectOrder   = "order"
	ObjectTicket  = "ticket"
)

// Envelope is what every event carries besides its payload (sluice.Envelope).
type Envelope struct {
	// TenantID is the tenant the event belongs to (tenant-id header).
	TenantID string `avro:"tenant_id" json:"tenant_id"`
	// EventID is the deterministic id and idempotency key (event-id header).
	EventID string `avro:"event_id" json:"event_id"`
	// EventType says what happened, e.g. "contact.updated" (event-type header).
	EventType string `avro:"event_type" json:"event_type"`
	// Integration is the catalog integration the event came through.
	Integration string `avro:"integration" json:"integration"`
	// Source is the source system, e.g. "crm".
	Source string `avro:"source" json:"source"`
	// OccurredAt is when the change happened at the source, when known.
	OccurredAt *time.Time `avro:"occurred_at" json:"occurred_at,omitempty"`
	// ReceivedAt is when sluice accepted the event (received-at header).
	ReceivedAt time.Time `avro:"received_at" json:"received_at"`
	// SchemaVersion is the payload format version the source declared.
	SchemaVersion *string `avro:"schema_version" json:"schema_version,omitempty"`
	// TraceParent is the W3C traceparent (traceparent header).
	TraceParent *string `avro:"trace_parent" json:"trace_parent,omitempty"`
	// ActorID is the source's id of who made the change, when known.
	ActorID *string `avro:"actor_id" json:"actor_id,omitempty"`
	// CausedBy is the event id this event was derived from.
	CausedBy *string `avro:"caused_by" json:"caused_by,omitempty"`
}

// ExternalID is the id an object has in one source system
// (sluice.canonical.ExternalId).
type ExternalID struct {
	// System is the source system, e.g. "crm".
	System string `avro:"system" json:"system"`
	// ID is the object's id in that system.
	ID string `avro:"id" json:"id"`
	// Integration is the catalog integration the id came through, when a
	// tenant connects the same system twice.
	Integration *string `avro:"integration" json:"integration,omitempty"`
	// URL links to the object in the source system.
	URL *string `avro:"url" json:"url,omitempty"`
}

// Address is a postal address (sluice.canonical.Address).
type Address struct {
	Line1      *string `avro:"line1" json:"line1,omitempty"`
	Line2      *string `avro:"line2" json:"line2,omitempty"`
	City       *string `avro:"city" json:"city,omitempty"`
	Region     *string `avro:"region" json:"region,omitempty"`
	PostalCode *string `avro:"postal_code" json:"postal_code,omitempty"`
	// CountryCode is ISO 3166-1 alpha-2, upper case.
	CountryCode *string `avro:"country_code" json:"country_code,omitempty"`
}

// Money is an exact amount in one currency (sluice.canonical.Money).
type Money struct {
	// AmountMinor counts the currency's minor unit (cents for USD).
	AmountMinor int64 `avro:"amount_minor" json:"amount_minor"`
	// Currency is the ISO 4217 code, upper case.
	Currency string `avro:"currency" json:"currency"`
}

// AccountStatus is the relationship status of an account.
type AccountStatus string

// Account statuses.
const (
	AccountStatusUnknown  AccountStatus = "UNKNOWN"
	AccountStatusProspect AccountStatus = "PROSPECT"
	AccountStatusCustomer AccountStatus = "CUSTOMER"
	AccountStatusPartner  AccountStatus = "PARTNER"
	AccountStatusChurned  AccountStatus = "CHURNED"
	AccountStatusOther    AccountStatus = "OTHER"
)

// Account is a company or organisation (sluice.canonical.Account).
type Account struct {
	TenantID        string            `avro:"tenant_id" json:"tenant_id"`
	ID              string            `avro:"id" json:"id"`
	ExternalIDs     []ExternalID      `avro:"external_ids" json:"external_ids"`
	Name            string            `avro:"name" json:"name"`
	Domain          *string           `avro:"domain" json:"domain,omitempty"`
	Website         *string           `avro:"website" json:"website,omitempty"`
	Industry        *string           `avro:"industry" json:"industry,omitempty"`
	EmployeeCount   *int32            `avro:"employee_count" json:"employee_count,omitempty"`
	AnnualRevenue   *Money            `avro:"annual_revenue" json:"annual_revenue,omitempty"`
	Phone           *string           `avro:"phone" json:"phone,omitempty"`
	BillingAddress  *Address          `avro:"billing_address" json:"billing_address,omitempty"`
	ShippingAddress *Address          `avro:"shipping_address" json:"shipping_address,omitempty"`
	Status          AccountStatus     `avro:"status" json:"status"`
	OwnerID         *string           `avro:"owner_id" json:"owner_id,omitempty"`
	CreatedAt       *time.Time        `avro:"created_at" json:"created_at,omitempty"`
	UpdatedAt       time.Time         `avro:"updated_at" json:"updated_at"`
	Deleted         bool              `avro:"deleted" json:"deleted"`
	Attributes      map[string]string `avro:"attributes" json:"attributes"`
}

// LifecycleStage is the marketing and sales stage of a contact.
type LifecycleStage string

// Lifecycle stages.
const (
	LifecycleUnknown            LifecycleStage = "UNKNOWN"
	LifecycleSubscriber         LifecycleStage = "SUBSCRIBER"
	LifecycleLead               LifecycleStage = "LEAD"
	LifecycleMarketingQualified LifecycleStage = "MARKETING_QUALIFIED"
	LifecycleSalesQualified     LifecycleStage = "SALES_QUALIFIED"
	LifecycleOpportunity        LifecycleStage = "OPPORTUNITY"
	LifecycleCustomer           LifecycleStage = "CUSTOMER"
	LifecycleEvangelist         LifecycleStage = "EVANGELIST"
	LifecycleOther              LifecycleStage = "OTHER"
)

// Contact is a person (sluice.canonical.Contact). Email, names, phone and
// address are personal data: they never reach a log line.
type Contact struct {
	TenantID       string            `avro:"tenant_id" json:"tenant_id"`
	ID             string            `avro:"id" json:"id"`
	ExternalIDs    []ExternalID      `avro:"external_ids" json:"external_ids"`
	AccountID      *string           `avro:"account_id" json:"account_id,omitempty"`
	Email          *string           `avro:"email" json:"email,omitempty"`
	FirstName      *string           `avro:"first_name" json:"first_name,omitempty"`
	LastName       *string           `avro:"last_name" json:"last_name,omitempty"`
	FullName       *string           `avro:"full_name" json:"full_name,omitempty"`
	Phone          *string           `avro:"phone" json:"phone,omitempty"`
	Title          *string           `avro:"title" json:"title,omitempty"`
	Address        *Address          `avro:"address" json:"address,omitempty"`
	LifecycleStage LifecycleStage    `avro:"lifecycle_stage" json:"lifecycle_stage"`
	MarketingOptIn *bool             `avro:"marketing_opt_in" json:"marketing_opt_in,omitempty"`
	CreatedAt      *time.Time        `avro:"created_at" json:"created_at,omitempty"`
	UpdatedAt      time.Time         `avro:"updated_at" json:"updated_at"`
	Deleted        bool              `avro:"deleted" json:"deleted"`
	Attributes     map[string]string `avro:"attributes" json:"attributes"`
}

// OrderStatus is the fulfilment state of an order.
type OrderStatus string

// Order statuses.
const (
	OrderStatusUnknown            OrderStatus = "UNKNOWN"
	OrderStatusPending            OrderStatus = "PENDING"
	OrderStatusConfirmed          OrderStatus = "CONFIRMED"
	OrderStatusPartiallyFulfilled OrderStatus = "PARTIALLY_FULFILLED"
	OrderStatusFulfilled          OrderStatus = "FULFILLED"
	OrderStatusCancelled          OrderStatus = "CANCELLED"
)

// PaymentStatus is the money state of an order.
type PaymentStatus string

// Payment statuses.
const (
	PaymentStatusUnknown           PaymentStatus = "UNKNOWN"
	PaymentStatusPending           PaymentStatus = "PENDING"
	PaymentStatusAuthorized        PaymentStatus = "AUTHORIZED"
	PaymentStatusPartiallyPaid     PaymentStatus = "PARTIALLY_PAID"
	PaymentStatusPaid              PaymentStatus = "PAID"
	PaymentStatusPartiallyRefunded PaymentStatus = "PARTIALLY_REFUNDED"
	PaymentStatusRefunded          PaymentStatus = "REFUNDED"
	PaymentStatusVoided            PaymentStatus = "VOIDED"
	PaymentStatusFailed            PaymentStatus = "FAILED"
)

// OrderLine is one line of an order (sluice.canonical.OrderLine).
type OrderLine struct {
	LineID    *string `avro:"line_id" json:"line_id,omitempty"`
	SKU       *string `avro:"sku" json:"sku,omitempty"`
	ProductID *string `avro:"product_id" json:"product_id,omitempty"`
	Name      string  `avro:"name" json:"name"`
	Quantity  int32   `avro:"quantity" json:"quantity"`
	UnitPrice Money   `avro:"unit_price" json:"unit_price"`
	Total     Money   `avro:"total" json:"total"`
}

// Order is a purchase (sluice.canonical.Order).
type Order struct {
	TenantID        string            `avro:"tenant_id" json:"tenant_id"`
	ID              string            `avro:"id" json:"id"`
	ExternalIDs     []ExternalID      `avro:"external_ids" json:"external_ids"`
	Number          *string           `avro:"number" json:"number,omitempty"`
	AccountID       *string           `avro:"account_id" json:"account_id,omitempty"`
	ContactID       *string           `avro:"contact_id" json:"contact_id,omitempty"`
	Status          OrderStatus       `avro:"status" json:"status"`
	PaymentStatus   PaymentStatus     `avro:"payment_status" json:"payment_status"`
	Currency        string            `avro:"currency" json:"currency"`
	Lines           []OrderLine       `avro:"lines" json:"lines"`
	Subtotal        Money             `avro:"subtotal" json:"subtotal"`
	Discount        *Money            `avro:"discount" json:"discount,omitempty"`
	Tax             *Money            `avro:"tax" json:"tax,omitempty"`
	Shipping        *Money            `avro:"shipping" json:"shipping,omitempty"`
	Total           Money             `avro:"total" json:"total"`
	BillingAddress  *Address          `avro:"billing_address" json:"billing_address,omitempty"`
	ShippingAddress *Address          `avro:"shipping_address" json:"shipping_address,omitempty"`
	PlacedAt        *time.Time        `avro:"placed_at" json:"placed_at,omitempty"`
	CancelledAt     *time.Time        `avro:"cancelled_at" json:"cancelled_at,omitempty"`
	CreatedAt       *time.Time        `avro:"created_at" json:"created_at,omitempty"`
	UpdatedAt       time.Time         `avro:"updated_at" json:"updated_at"`
	Deleted         bool              `avro:"deleted" json:"deleted"`
	Attributes      map[string]string `avro:"attributes" json:"attributes"`
}

// TicketStatus is the state of a ticket.
type TicketStatus string

// Ticket statuses.
const (
	TicketStatusUnknown TicketStatus = "UNKNOWN"
	TicketStatusNew     TicketStatus = "NEW"
	TicketStatusOpen    TicketStatus = "OPEN"
	TicketStatusPending TicketStatus = "PENDING"
	TicketStatusOnHold  TicketStatus = "ON_HOLD"
	TicketStatusSolved  TicketStatus = "SOLVED"
	TicketStatusClosed  TicketStatus = "CLOSED"
)

// TicketPriority is the urgency of a ticket.
type TicketPriority string

// Ticket priorities.
const (
	TicketPriorityUnknown TicketPriority = "UNKNOWN"
	TicketPriorityLow     TicketPriority = "LOW"
	TicketPriorityNormal  TicketPriority = "NORMAL"
	TicketPriorityHigh    TicketPriority = "HIGH"
	TicketPriorityUrgent  TicketPriority = "URGENT"
)

// TicketType is the kind of a ticket.
type TicketType string

// Ticket types.
const (
	TicketTypeUnknown  TicketType = "UNKNOWN"
	TicketTypeQuestion TicketType = "QUESTION"
	TicketTypeIncident TicketType = "INCIDENT"
	TicketTypeProblem  TicketType = "PROBLEM"
	TicketTypeTask     TicketType = "TASK"
)

// Ticket is a support request (sluice.canonical.Ticket).
type Ticket struct {
	TenantID    string            `avro:"tenant_id" json:"tenant_id"`
	ID          string            `avro:"id" json:"id"`
	ExternalIDs []ExternalID      `avro:"external_ids" json:"external_ids"`
	Subject     string            `avro:"subject" json:"subject"`
	Description *string           `avro:"description" json:"description,omitempty"`
	Status      TicketStatus      `avro:"status" json:"status"`
	Priority    TicketPriority    `avro:"priority" json:"priority"`
	TicketType  TicketType        `avro:"ticket_type" json:"ticket_type"`
	Channel     *string           `avro:"channel" json:"channel,omitempty"`
	RequesterID *string           `avro:"requester_id" json:"requester_id,omitempty"`
	AccountID   *string           `avro:"account_id" json:"account_id,omitempty"`
	AssigneeID  *string           `avro:"assignee_id" json:"assignee_id,omitempty"`
	Tags        []string          `avro:"tags" json:"tags"`
	CreatedAt   *time.Time        `avro:"created_at" json:"created_at,omitempty"`
	SolvedAt    *time.Time        `avro:"solved_at" json:"solved_at,omitempty"`
	UpdatedAt   time.Time         `avro:"updated_at" json:"updated_at"`
	Deleted     bool              `avro:"deleted" json:"deleted"`
	Attributes  map[string]string `avro:"attributes" json:"attributes"`
}

// AccountEvent is a change to an account (sluice.canonical.AccountEvent).
type AccountEvent struct {
	Envelope Envelope `avro:"envelope" json:"envelope"`
	Data     Account  `avro:"data" json:"data"`
}

// ContactEvent is a change to a contact (sluice.canonical.ContactEvent).
type ContactEvent struct {
	Envelope Envelope `avro:"envelope" json:"envelope"`
	Data     Contact  `avro:"data" json:"data"`
}

// OrderEvent is a change to an order (sluice.canonical.OrderEvent).
type OrderEvent struct {
	Envelope Envelope `avro:"envelope" json:"envelope"`
	Data     Order    `avro:"data" json:"data"`
}

// TicketEvent is a change to a ticket (sluice.canonical.TicketEvent).
type TicketEvent struct {
	Envelope Envelope `avro:"envelope" json:"envelope"`
	Data     Ticket   `avro:"data" json:"data"`
}
