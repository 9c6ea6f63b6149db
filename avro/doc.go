// Package avro holds sluice's Avro contracts and everything that reads or
// writes them: the .avsc files under avro/schemas (compiled into the
// binary), their loader, the validator that checks partner JSON against
// a contract, the serde that encodes and decodes Kafka values in the
// Confluent wire format against a schema registry, and the helpers that
// register the contracts and check their compatibility.
//
// # The contracts
//
// schemas/Envelope.avsc is sluice.Envelope: what every event carries
// besides its payload (tenant_id, event_id, event_type, integration,
// source, occurred_at, received_at, schema_version, trace_parent,
// actor_id, caused_by). The fields that describe an event repeat the
// record headers (tenant-id, event-id, event-type, integration,
// traceparent, received-at), so a value is complete on its own and the
// headers stay readable without decoding it.
//
// schemas/canonical holds the canonical model, Account, Contact, Order and
// Ticket: tenant id, canonical id, external ids per source system,
// updated_at, the fields integrations need, optional fields nullable with
// a null default. Enums start with UNKNOWN and declare it as their enum
// default, so a reader built before a symbol was added reads it as
// UNKNOWN instead of failing. Package internal/canonical mirrors these
// records in Go.
//
// schemas/source/<system> holds the payloads of the example integrations,
// as the partners send them: a CRM with HubSpot-like contacts and
// companies in Standard Webhooks bodies (the integration `sluice dev`
// demonstrates), a payments system with Stripe-like customer, invoice and
// charge events, a commerce platform with Shopify-like orders, and a
// support desk with Zendesk-like ticket events. They model only the
// fields sluice uses; the validator drops the rest (data minimisation) or
// refuses it, as the integration says.
//
// Every value written to Kafka is an event record, "<namespace>.<Name>Event"
// with exactly two fields: "envelope" (sluice.Envelope) and "data" (the
// payload), e.g. sluice.source.crm.ContactEvent {envelope, data:
// sluice.source.crm.ContactWebhook} on sluice.in.<integration>, and
// sluice.canonical.ContactEvent {envelope, data: sluice.canonical.Contact}
// on sluice.canonical.contact. A source event's data is the partner's body
// itself, so nothing is lost between what a partner sent and what sluice
// keeps, and a connector maps it to the canonical model later.
//
// Every file holds one named type, in a path that follows its name
// (sluice.source.crm.Contact is source/crm/Contact.avsc); a type used in
// several files has a file of its own, a type used in one is defined
// inline. Every record, enum and field has a doc.
//
// # Subjects
//
// Subjects follow the TopicRecordNameStrategy: "<topic>-<record full
// name>" (Subject), e.g. "sluice.in.crm-sluice.source.crm.ContactEvent".
// Several event types share a topic (a CRM's contact and company events),
// which TopicNameStrategy cannot express, and one record may go to several
// topics (two integrations of one source system), each subject evolving on
// its own. Schemas.Bind binds an event record to a topic; DefaultBindings
// gives every event on its default topic.
//
// # The envelope is inlined, not referenced
//
// Each registered schema is self-contained: the loader inlines every named
// type at its first use (docs and defaults kept), so sluice.Envelope
// appears in full in each event schema (Schema.Text). Confluent schema
// references (a subject "sluice.Envelope" referenced by name) would share
// it more elegantly, but every reader would then need to follow
// references: Kafka UI, kcat, Avro tools, older Confluent deserializers and
// other registries do not all do so, and a value must stay decodable by
// any Confluent-compatible consumer. The cost is that an envelope change
// gives every event subject a new version, which `sluice schema register`
// does in one step. In the repository the envelope still has one source,
// Envelope.avsc. The serde reads schemas registered by others with
// references all the same.
//
// # hamba/avro stays in here
//
// hamba/avro is the Avro library, and its upstream is no longer
// maintained, so every direct use of it is in this directory: its types do
// not appear in this package's API, and replacing it touches avro/ only.
// No process-wide state of hamba is used: each schema is parsed with a
// SchemaCache of its own (the loader's self-contained texts, and each
// registry id with its references), so two schemas that give one name two
// meanings (two versions of one record, or two subjects) never see each
// other's definition; each Serde has its own hamba API (codec cache).
//
// Native values (map[string]any, what the validator returns) are encoded
// by a writer of this package driven by the compiled schema (encode.go),
// because hamba encodes them through reflection at several times the cost
// of a Go struct. It writes exactly the bytes hamba writes; anything it is
// not sure of goes to hamba, and tests and the fuzzer hold it to hamba's
// output. Decoding into a map[string]any has its counterpart (decode.go):
// a reader driven by the compiled schema gives exactly hamba's native
// value at about a third of its cost; a Go value is decoded by hamba.
// Schema resolution is the package's own (resolve.go): the body of a
// writer's schema is transcoded into the body the local reader's schema
// gives the same datum, which is then decoded as one of the reader's.
// Either way a malformed body is an ErrDecode: a truncated one (which
// hamba's Unmarshal can take for whole), and one whose lengths or counts
// exceed what is left of it, which is refused before anything is
// allocated for it (hamba's arrays are capped at 2^20 items). Where hamba
// would skip part of a body (a field that a Go struct lacks), trusting its
// block counts, the body is first walked under the same bounds
// (check.go).
// DecodeRecord is that reader making each record a Record instead of a
// map: its values in the order of its schema's fields, for readers that
// know the schema and read a field by its position (the transform's
// mappings) rather than hash every field's name into a map. The encoder
// writes Records too, so the canonical records a mapping builds are
// Records as well.
//
// # Wire format and evolution
//
// Values are Avro binary in the Confluent wire format: byte 0, the schema
// id as four big-endian bytes, the body. The Serde registers a subject's
// schema on first use and caches its id; a record with an id it has not
// seen makes it fetch that schema once, and from then on the id is
// decoded without the registry. A writer schema is resolved to the local
// schema of the same name, so a consumer reads new and old writers alike
// in the shape it was built with; a new writer version is picked up
// without a restart. As the Avro specification has it, a value the local
// schema has no place for (an enum symbol it lacks and has no default
// for, a union branch it lacks, the null of a field it requires) fails
// the record that holds it, with ErrIncompatible, and no other.
//
// Contracts evolve BACKWARD compatibly, the registry's default: new fields
// have defaults, fields are removed only if they had one, enum symbols are
// added at the end (readers fall back to UNKNOWN). The tests hold the
// accepted version of every event under testdata/registered and fail when
// a change could not read data the accepted version wrote; go test
// -update accepts a reviewed change. Golden encodings of canonical
// fixtures (testdata/golden) and sample partner payloads with their
// expected issues (testdata/validate) are regenerated the same way.
//
// # Partner JSON
//
// A Validator checks plain JSON (as partners send it, not Avro's JSON
// encoding) against a contract, collects every issue with its path, a
// stable code, what was expected and the kind of what came, and returns
// the native value the serde encodes; see Validator for the mapping of
// JSON to each Avro type.
package avro
