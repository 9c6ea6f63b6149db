// Package mapping is sluice's declarative mapping engine: a YAML file per
// source system says how its events become objects of the canonical model
// (Account, Contact, Order, Ticket). Compile checks a file against the
// Avro contracts at start; Apply maps one decoded source event.
//
// A mapping names paths into the source event and fields of the
// canonical record; nothing else of the event is kept (unmapped fields
// are dropped). Compile refuses, with the file, the line and the place in
// the file, a path that does not exist in the source record, a canonical
// field that does not exist, a conversion that cannot work (a record
// where a string goes, a number to a timestamp without its unit, source
// enum values the canonical enum lacks), a map key the source cannot
// give, a canonical field the model requires that the mapping leaves
// unset, and a source event record the mapping neither maps nor ignores.
// It reports every problem of a file at once.
//
// Apply fails an event that cannot be mapped (a required value missing, a
// value that cannot be converted) with an *Error naming the canonical
// field and the source path, never the value, which may be personal
// data; the transform stage dead-letters such an event.
//
// # The format
//
//	source: commerce                   # the source system (catalog integration.source)
//	ignore: [sluice.source.x.PingEvent] # source event records left unmapped on purpose
//	events:
//	  - record: sluice.source.commerce.OrderEvent  # a source event record of the source
//	    types: ["orders/*"]            # optional: event types (exact, prefix*, *); default all
//	    objects:                       # the canonical objects one event makes, in order
//	      - object: contact            # account, contact, order or ticket
//	        name: customer             # unique within the event; default the object type
//	        when: {present: data.customer}   # optional condition on the event
//	        external_id: data.customer.id    # required: the object's id in the source system
//	        external_url: data.customer.url  # optional: a link to it there
//	        match:                     # optional match key for identity stitching:
//	          email: [data.customer.email, data.email]   #   contacts match on e-mail,
//	                                   #   accounts on domain (domain: paths to a domain, URL or e-mail)
//	        action:                    # optional: created, updated (default) or deleted
//	          from: envelope.event_type
//	          map: {orders/create: created}
//	          default: updated
//	        fields:                    # canonical field: how to fill it
//	          email: {from: data.customer.email, as: email}
//	          ...
//
// The stage sets tenant_id, id and external_ids itself; a mapping cannot.
// An object whose deleted field comes out true is a "deleted" event,
// whatever its action says. The canonical event type is
// "<object>.<action>".
//
// # Paths
//
// A path starts at the source event record: "envelope.<field>" (tenant,
// event type, times, ...) or "data.<field>" (the partner's payload as its
// contract names it). Fields are dotted; list elements are indexed
// ("data.associations.companies[0]"). A path through a union goes into
// the branch that has the next field, and reads as no value when the
// event holds another branch ("data.event.comment.body" of a support
// event is present only on comment events). Inside each (see below),
// "item.<field>" starts at the element at hand. Any part missing or null
// makes the whole path no value.
//
// # Fields
//
// A field is a path ("first_name: data.properties.firstname"), a list of
// paths (the first with a value wins), or a mapping of:
//
//	from:     a path or list of paths
//	const:    a constant instead of a path
//	as:       steps applied to the value in order: trim (blank becomes no
//	          value), lower, upper, email (trimmed, lower-cased; not an
//	          address becomes no value), domain (a company domain from a
//	          domain, URL or address; free-mail, or a page on a shared
//	          host such as linkedin.com, becomes no value),
//	          country_code (ISO 3166-1 alpha-2 from a code or a common
//	          English name), split (comma-separated text to a list), not
//	          (negate a boolean), and the casts string, long, double,
//	          boolean
//	map:      a lookup table of source values to canonical values, after
//	          the steps; a value not in it takes the default, or fails the
//	          event when there is none; a null target means no value
//	default:  the canonical value when there is no value (and for map
//	          misses, and source enum values the canonical enum lacks)
//	required: true to fail the event when there is no value, even for a
//	          nullable canonical field
//	unit:     s, ms or us: a number (whole or not) becomes a timestamp as
//	          a count of these since the Unix epoch, floored to the
//	          millisecond
//	layout:   a Go time layout to read a timestamp text with; without it
//	          RFC 3339 and a few common forms are tried (no zone is UTC;
//	          RFC 1123 with a numeric offset, or in GMT or UTC: a zone
//	          abbreviation such as EST has no reliable offset)
//	when:     a condition; when it does not hold the field has no value
//	money:    an amount (see below)
//	fields:   a nested canonical record (an address), field by field; a
//	          nullable record none of whose fields got a value is null
//	each:     a list to build a canonical list from, with fields (a record
//	          per element) or from (a value per element, paths at item)
//	entries:  a canonical map (attributes), key by key; keys without a
//	          value are left out, values become text
//	ref:      the canonical id of another object: the name of another
//	          object of the same event (ref: customer), or
//	          {object: account, external_id: <path>}, an object of the
//	          same source known by its id
//
// Values convert to the canonical field's type on their own: text and
// numbers either way (a long id becomes "115310627314723954"), decimals
// exactly, timestamps from Avro times, RFC 3339 text or (with unit)
// numbers, cut to milliseconds in UTC; enums by their symbol names. A
// condition is one of {present: path}, {absent: path}, or
// {path: p, in: [values]} / {path: p, not_in: [values]}.
//
// # Money
//
//	total:
//	  money:
//	    amount: item.price              # a path or const
//	    currency: data.currency         # ISO 4217 code, any case
//	    unit: major                     # major (19.99) or minor (1999)
//	    multiply: item.quantity         # optional
//	    add: [data.tax]                 # optional terms, missing ones count 0
//	    subtract: [item.total_discount]
//
// Amounts are computed exactly and become sluice.canonical.Money, an
// integer count of the currency's minor unit by ISO 4217 (cents, yen, or
// thousandths of a dinar); an amount with more decimal places than that
// fails the event. Without unit, whole-number types are minor units and
// decimals major units; a text amount needs the unit.
//
// # Example
//
// The shop's orders, as in connectors/commerce/mapping.yaml (abridged):
//
//	source: commerce
//	events:
//	  - record: sluice.source.commerce.OrderEvent
//	    objects:
//	      - object: contact
//	        name: customer
//	        when: {present: data.customer}
//	        external_id: data.customer.id
//	        match: {email: [data.customer.email, data.email]}
//	        fields:
//	          email: {from: [data.customer.email, data.email], as: email}
//	          lifecycle_stage: {const: CUSTOMER}
//	          marketing_opt_in:
//	            from: data.customer.email_marketing_consent.state
//	            map: {subscribed: true, unsubscribed: false, pending: null}
//	          updated_at: {from: [data.customer.updated_at, data.updated_at], required: true}
//	      - object: order
//	        external_id: data.id
//	        action: {from: envelope.event_type, map: {orders/create: created}, default: updated}
//	        fields:
//	          number: data.name
//	          contact_id: {ref: customer}
//	          status:
//	            from: [data.cancel_reason, data.fulfillment_status]
//	            map: {customer: CANCELLED, fraud: CANCELLED, fulfilled: FULFILLED, partial: PARTIALLY_FULFILLED}
//	            default: CONFIRMED
//	          currency: {from: data.currency, as: upper}
//	          lines:
//	            each: data.line_items
//	            fields:
//	              line_id: item.id
//	              name: [item.name, item.title]
//	              quantity: item.quantity
//	              unit_price: {money: {amount: item.price, currency: data.currency}}
//	              total: {money: {amount: item.price, multiply: item.quantity, subtract: item.total_discount, currency: data.currency}}
//	          subtotal: {money: {amount: data.subtotal_price, currency: data.currency}}
//	          total: {money: {amount: data.total_price, currency: data.currency}}
//	          updated_at: data.updated_at
//	          attributes:
//	            entries:
//	              commerce.source_name: data.source_name
//
// A Mapping is safe for concurrent use; Apply allocates what it returns
// and shares nothing between calls.
package mapping
