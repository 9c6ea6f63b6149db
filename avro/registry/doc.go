// Package registry is sluice's schema registry: a server of Confluent
// Schema Registry's REST API that keeps its data in a compacted Kafka topic.
//
// It runs as `sluice registry` and inside `sluice dev`. The rest of sluice
// reaches any registry only through franz-go's sr.Client, so
// SCHEMA_REGISTRY_URL may as well name Confluent Schema Registry or another
// compatible server; IsIncompatible, IsInvalidSchema and IsNotFound
// classify the errors of any of them.
//
// # API
//
// The paths, query parameters, JSON fields, content types and error codes
// are Confluent's (docs.confluent.io, schema-registry/develop/api):
//
//	GET    /subjects                                   ?subjectPrefix ?deleted ?deletedOnly (every version soft-deleted)
//	GET    /subjects/{s}/versions                      ?deleted ?deletedOnly
//	POST   /subjects/{s}/versions                      register; ?normalize
//	GET    /subjects/{s}/versions/{v}                  v is 1.. or "latest"; ?deleted
//	GET    /subjects/{s}/versions/{v}/schema           the schema text alone
//	GET    /subjects/{s}/versions/{v}/referencedby     ids of schemas referencing it
//	DELETE /subjects/{s}/versions/{v}                  soft; ?permanent=true after a soft delete
//	POST   /subjects/{s}                               look a schema up; ?deleted
//	DELETE /subjects/{s}                               soft; ?permanent=true
//	GET    /schemas                                    ?subjectPrefix ?deleted ?latestOnly
//	GET    /schemas/types
//	GET    /schemas/ids/{id}                           ?fetchMaxId ?subject
//	GET    /schemas/ids/{id}/schema
//	GET    /schemas/ids/{id}/subjects                  ?deleted
//	GET    /schemas/ids/{id}/versions                  ?deleted
//	POST   /compatibility/subjects/{s}/versions/{v}    ?verbose
//	POST   /compatibility/subjects/{s}/versions        against what registering would check; ?verbose
//	GET    /config, /config/{s}                        ?defaultToGlobal
//	PUT    /config, /config/{s}                        {"compatibility": "FULL"}
//	DELETE /config, /config/{s}
//	GET    /mode, /mode/{s}                            ?defaultToGlobal
//	PUT    /mode, /mode/{s}                            {"mode": "READONLY"}; ?force for IMPORT
//	DELETE /mode, /mode/{s}
//	GET    /contexts                                   only the default context "."
//
// Requests may be application/vnd.schemaregistry.v1+json,
// application/vnd.schemaregistry+json, application/json or
// application/octet-stream; responses are application/vnd.schemaregistry.v1+json.
// Lists accept ?offset and ?limit. Errors are {"error_code": N, "message": "..."}:
// 40401 subject, 40402 version, 40403 schema not found; 40404..40407 for
// soft-delete ordering; 40408/40409 no subject-level config or mode; HTTP
// 409 for an incompatible schema (error code 409 by default, 40901 with
// IncompatibleErrorCode), with each reason in the message; 42201 invalid
// schema, with the reason and its path in the schema; 42202 invalid
// version; 42203 invalid compatibility level; 42204 invalid mode; 42205
// operation not permitted (read-only, import mode); 42206 a reference
// exists; 42207 id mismatch on import; 42208 invalid subject; HTTP 400 with
// code 400 for a malformed body, 404 and 405 for unknown paths and
// methods, 415 for another content type; 50001 and 50002 when the storage
// topic cannot be written or read in time. A refused request changes
// nothing.
//
// Identical registrations return the existing id, and a lookup finds a
// schema however its names are written: two schema texts are the same
// schema when their canonical forms and their references are equal. The
// canonical form is the text Avro's Java library writes with
// Schema.toString(), which Confluent's Java serializers send and Confluent
// Schema Registry stores: insignificant whitespace removed, attributes in
// Avro's order, {"type":"int"} written as "int", a full name split into
// "name" and "namespace", a namespace equal to the enclosing one left out,
// references and aliases by the shortest name that means them, a field's
// "order" left out when ascending, numbers as Java writes them back (a
// default of 2.50 as 2.5). Other properties are sorted, where Avro keeps
// them as written. So a schema registered as written, as Python's and
// KafkaJS's serializers send it, is the one a Java serializer looks up or
// registers. The canonical form is what a registration stores and what is
// served; a schema stored in another spelling (by an older sluice, which
// kept names as written, or by another registry) keeps its id, versions
// and text, and a new version of it is stored with that text: one id, one
// text. The normalize parameter is accepted; canonicalisation always
// applies. Ids are global and increase; the same schema gets the same id
// in every subject.
//
// Modes: READWRITE (the default), READONLY (registrations, deletes and
// level changes are refused with 42205; reads go on), and IMPORT, for
// copying a registry: registrations must give their "id" (and may give
// their "version"), keep them, and skip the compatibility check. Switching
// to IMPORT needs a registry (or subject) without live subjects, or
// ?force=true. In every mode, as in Confluent's, registering a schema the
// subject already has (live) is no write: it answers with that version,
// unless the request gives another id or another version.
//
// # Schema types
//
// AVRO is the only schema type: it is validated strictly (names, namespaces,
// redefinitions, union branches, enum symbols and defaults, fixed sizes,
// and field defaults of the declared type, so a default of the wrong type
// is INVALID_SCHEMA) and also parsed by hamba/avro in a cache private to
// the request, so whatever is registered can be used by sluice's serde.
// JSON and PROTOBUF schemas are refused with 42201, and /schemas/types
// lists only AVRO. Schema metadata and rule sets are refused likewise.
// Schema references ({"name","subject","version"}, version -1 meaning the
// latest, stored as the version it resolved to) make the named types of the
// referenced schemas, and of what they reference, available to the schema;
// a referenced version cannot be deleted (42206).
//
// # Compatibility
//
// Every registration is checked against the subject's live versions under
// its level (the subject's, else the registry's, else DefaultCompatibility):
// BACKWARD (the new schema reads data written with the latest version),
// FORWARD (the latest version reads data written with the new one), FULL
// (both), their _TRANSITIVE forms (against every version, newest first),
// or NONE. The reader/writer check follows Avro's schema resolution rules
// as Avro's reference implementation checks them: named types match by
// unqualified name or by a reader alias; a reader field finds its writer
// field by name or alias, and needs a default when there is none; an enum
// reader needs every writer symbol unless it has a default; int, long and
// float promote to wider numbers; string and bytes read each other; every
// branch of a writer union must be readable, and a reader union needs a
// branch that reads the writer; logical types compare by their underlying
// types. Each reason is reported as Confluent does, with its error type
// and its path in the reader schema. The check is written here, not taken from hamba's SchemaCompatibility, because
// Confluent-style reasons need the path and kind of each incompatibility
// and hamba's check memoises results by the parsing canonical form, which
// ignores defaults and aliases that decide compatibility.
//
// # Storage
//
// The storage topic (default "_sluice_schemas") has one partition and
// cleanup.policy=compact; Run creates it when it is missing (it asks
// first, so a user that may not create topics can use one made
// beforehand), with replication factor min(3, brokers) and, with three
// or more, min.insync.replicas=2; one made without compaction is refused.
// Its records are in Confluent Schema
// Registry's own format, so a topic written by Confluent Schema Registry
// can be served and people who know that format can read this one:
//
//	{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}
//	  => {"subject":"s","version":1,"id":7,"schema":"...","deleted":false}
//	     (with "schemaType" unless AVRO, "references" when there are any;
//	     a soft delete rewrites it with "deleted":true; a hard delete is a
//	     tombstone)
//	{"keytype":"CONFIG","subject":"s","magic":0} => {"subject":"s","compatibilityLevel":"FULL"}
//	{"keytype":"CONFIG","magic":0}               => the registry's level
//	{"keytype":"MODE","subject":"s","magic":0}   => {"subject":"s","mode":"READONLY"}
//	{"keytype":"DELETE_SUBJECT","subject":"s","magic":0} => {"subject":"s","version":3}
//	     (soft-deletes versions 1 to 3)
//	{"keytype":"CLEAR_SUBJECT","subject":"s","magic":0}  => {"subject":"s"} (read only)
//	{"keytype":"NOOP","magic":0}                 => no value: a position marker
//
// Records of other key types are ignored, and so is a SCHEMA record that
// gives an id already held by another schema (Confluent's rule).
//
// Every instance reads the topic from the start into memory with a
// read_committed consumer and keeps following it; it is Ready once it has
// read back a position marker (a NOOP record) written after it started.
// Reads are served from memory. An instance therefore needs to read and
// write the topic, and to use the transactional id, even if it only ever
// answers reads. Another instance sees a write as soon as it has read it,
// usually within milliseconds; the instance that made it sees it before
// it answers.
//
// # One writer at a time
//
// All instances write with one Kafka transactional id (TransactionalID).
// A write takes a producer id for it, which fences every other instance's
// producer; then it writes a NOOP marker and waits until its reader has
// applied it, so it sees everything committed before; it decides from
// that state (next id, next version, compatibility, references) and
// commits its records in a transaction. If another instance takes the
// transactional id meanwhile, this transaction fails, nothing is written,
// and the write starts again with a new producer. So two different schemas
// never get the same id, and concurrent registrations of one schema,
// through one instance or several, yield one id. After committing, a write
// waits until its own records are applied, so a client reads its writes
// from the instance it wrote through. Readers never block on writers.
//
// Ids come from the highest id in the topic; an id whose every version was
// hard-deleted, and whose tombstones compaction has removed, could be
// given again after a restart, as in Confluent Schema Registry.
package registry
