// Package identity is sluice's identity map: it gives every object of the
// canonical model one canonical id across the systems it is known in, and
// keeps each of its external ids.
//
//	(tenant, object, source system, external id) → canonical id
//	(tenant, contact, normalised e-mail)          → canonical id
//	(tenant, account, normalised domain)          → canonical id
//	canonical id                                  → its external ids
//
// # Resolving
//
// The transform stage resolves the objects of each chunk of a batch (256
// records) in one Resolve call of two Redis pipelines. The first reads
// every key of the call's objects (one MGET per tenant). An object whose
// keys are all bound durably to one id is known and needs nothing
// written, so the second pipeline only reads its id's list of external
// ids (one more MGET per tenant); every other object goes to a Lua script
// call, atomic for the object. In the steady state of updates to known
// customers no script runs at all, and the first pipeline is left out
// too: the map remembers the bindings it has seen durable (see below). For
// one object, in order:
//
//  1. its external id is bound: that canonical id (Known);
//  2. else its match key is bound: the object is one already known from
//     another system or under another id, and takes that id (Matched);
//  3. else it gets a new id (Minted), derived from its match key, or from
//     its external id when it has none.
//
// Then every key of the object not yet bound is bound to the id, and the
// external id joins the id's list, which Resolve returns sorted: the
// canonical object lists every external id it has.
//
// Match keys: a contact matches on its e-mail address, trimmed and
// lower-cased; sub-addresses (+tags) and dots are kept by default (they
// are different mailboxes at most providers; see Normalizer). An account
// matches on its domain, from a domain, a website URL or an e-mail
// address: lower-cased, without scheme, path, port and "www."; free-mail
// and internet providers' mail domains (gmail.com, comcast.net, ...) and
// pages on shared hosts (linkedin.com/company/acme, ...) give no key, as
// they would join unrelated companies into one account. Match values are hashed
// (SHA-256) in Redis keys and in the topic, so no address is readable
// there; ids are derived with SHA-256 too and show nothing of the key.
//
// Concurrency: two instances that meet the same new customer at once,
// from two systems whose topics are on different partitions, both derive
// its id from the same match key and so agree without talking; the
// script's GET-then-SET makes the first binding of a key win, and an
// object resolved after it adopts it. A tenant's keys carry the hash tag
// {<tenant>}, so on Redis Cluster a tenant's map lives on one node and
// the script's keys share a slot.
//
// Merges are not handled. When an object's external id is bound to one
// canonical id and its match key to another (a contact known by its CRM
// id gains an e-mail address another system already brought in), the two
// canonical objects are one real person: Resolve keeps the external id's
// id, leaves the match key where it is, and reports a Conflict
// (sluice_identity_conflicts_total). Joining the two ids, and telling the
// destinations, is left to a later merge tool. A referenced object that
// was never seen (an order's customer) gets an id from its external id
// alone, and may later turn out to match another one in the same way.
//
// # Durability: the identity topic
//
// The compacted topic sluice.identity is the source of truth; Redis is a
// cache of it. A record is one binding: key
// "<tenant>|<object>|ext|<system>|<id>" or "<tenant>|<object>|<kind>|<hash>",
// value {"id": ..., "integration": ...}. The transform stage writes the
// bindings its events rely on in the same Kafka transaction as the
// events, so an aborted batch leaves no binding in the topic, and a
// canonical event never commits without the bindings behind its id.
//
// In Redis a binding is "p:<id>" (pending: written by Resolve for a
// transaction that may still abort) or "d:<id>" (durable: in the topic).
// Resolve reports the pending bindings a subject relies on, its own new
// ones and those of others still in flight, so every transaction that
// uses one writes it; Confirm marks them durable once committed, so they
// are not written again. A pending binding of a transaction that aborted
// stays in Redis; the records of that transaction are consumed again and
// resolve to the same ids, and write it then.
//
// Rebuild reads the topic (read_committed, up to its last stable offset:
// what committed, without waiting for transactions still open, which may
// be the rebuilding stage's own) into Redis and marks each tenant's map
// loaded (those of
// the topic and those of the tenant set, below). Load rebuilds at start
// unless Redis kept the map. Every resolve script checks its tenant's
// loaded marker first: after a flush it is gone, the script answers
// "reload", and Resolve rebuilds the map from the topic (one rebuild per
// process at a time) before it resolves anything, so a flush never leads
// to a wrong id. Confirm writes back a binding it finds missing, which
// covers a transaction that was in flight across the flush. What remains
// is a narrow race: a flush while one instance is binding a match key that
// another instance then meets for the first time may give two ids,
// reported as a Conflict.
//
// A failover is met the same way. Redis replicates asynchronously, so a
// replica promoted by Sentinel or by a Redis Cluster may lack the old
// master's last writes, while the loaded markers, written long before,
// survive. A binding lost there would look unknown: a contact matched to
// a customer's id by e-mail, with both bindings lost, would get the id
// its e-mail gives instead, splitting the customer in two. So a tenant's
// loaded marker holds the replication id (INFO replication's
// master_replid) of the node that wrote it, which changes when a replica
// is promoted; a resolve script that finds another node's id in the
// marker answers "reload", and the map is rebuilt from the topic before
// anything resolves, as after a flush. Resolves of objects all of whose
// bindings are durable read no marker value and go on: what they read is
// there. A node restarted from its own persistence may have a new
// replication id too, which costs one rebuild. Where INFO cannot be read
// (the embedded miniredis) the markers hold "" and only a flush is
// noticed.
//
// A tenant can lose its map alone: on Redis Cluster its keys share a slot,
// so when their node restarts without persistence, is flushed or is
// replaced, the other nodes keep theirs (on one server, only a deletion of
// its keys does that). Its marker is gone, as a new tenant's is; but a new
// tenant has nothing in the topic and needs no rebuild, while this one
// would start over from an empty map, giving its customers second ids. So
// Redis also holds the tenant set, in a slot of its own: every tenant
// whose map was ever loaded, and the replication id of the node that made
// it. A tenant joins it before its marker is first set (by a rebuild, by
// Load for the catalog's tenants, by Resolve for a tenant it meets first),
// so a failure in between leaves a tenant in the set without a marker,
// which costs a rebuild, never the reverse. Only on a "reload" answer does
// Resolve read the set (the hot path reads nothing more): a tenant not in
// it was never loaded, and is marked; a tenant in it without a marker lost
// its map, which is rebuilt from the topic, as is the whole map when the
// set itself is gone (Redis flushed, or the set's node lost its data) or
// another node made it (a failover). A tenant of the set without a marker
// may also be one that another instance has just added and is about to
// mark, as when instances meet a new tenant at once: its marker is looked
// at again for up to a second before the map is rebuilt. Load leaves a
// catalog tenant of the set without a marker to its first resolve. A
// rebuild that finds the set gone makes it again from the topic's tenants
// and from the loaded markers Redis holds (a SCAN of every master: the one
// time the map reads every key), so that a tenant whose bindings are all
// still pending stays in it. A loss of the set's node in the moment
// between a new tenant's joining and its marking, with a rebuild scanning
// before the marking, leaves the tenant out of the set: a later loss of
// its own map would then go unnoticed.
//
// # Memory
//
// Each Map remembers, in process memory, the bindings Redis has shown it
// durable: read as "d:<id>", or made so by its own Confirm (whose script
// reports which bindings it found bound to another id, and those are not
// remembered). An object all of whose keys it remembers, bound to one id,
// is Known without reading them: only its id's list is read, which still
// changes as other systems join (a reference reads nothing). A durable
// binding never changes, so nothing invalidates the memory; it is bounded
// (CacheSize, default DefaultCacheSize bindings; those read least, and
// least recently, go first) and dropped when the map rebuilds Redis from
// the topic (after a flush, a failover or a tenant's loss). Two cases
// outlive it, as an instance that did not run the rebuild keeps what it
// remembers: a key bound again to another id in the race around a flush
// described above, and a binding deleted from the topic by hand (a
// tombstone). Restart the transform instances after deleting bindings.
//
// Redis must keep identity keys: use a maxmemory policy that evicts none
// of them (noeviction, or volatile-* since these keys have no TTL). An
// evicted binding would look unknown, and, unlike a failover, an
// eviction changes no replication id.
//
// # Keys in Redis
//
// Every key starts with the prefix (default "sluice:") and
// "identity:{<tenant>}:":
//
//	<object>:ext:<system>:<external id>   a binding, "p:<id>" or "d:<id>"
//	<object>:<email|domain>:<hash>        a binding, as above
//	extids:<id>                           the id's list of external ids
//	loaded:2                              the tenant's loaded marker: the
//	                                      replication id of the node that
//	                                      wrote it
//
// and "identity:tenants:2" is the tenant set, a hash with no hash tag: a
// field "<tenant>" ("1") per tenant, and the field "" the replication id
// of the node that made it. Markers written before the replication id was
// in them hold "1" and cost one rebuild. An id list is one string of
// netstrings, "<length>:<system>|<integration>|<external id>," per
// member, in the order they joined, so a batch's known objects read
// theirs in one MGET per tenant (an SMEMBERS per object of a Redis set
// cost Redis a command each). The "2" in the markers is the keys'
// format: releases before id lists kept sets under "ids:<id>" and
// markers without it. The first start of this format finds no marker of
// its own and rebuilds the map from the topic. While instances of both
// run (a rolling upgrade), an external id that an older one binds first
// is missing from the id's list; the next event of that external id
// adds it, as Resolve sends an object whose list lacks it to the script.
// Once no older instance runs, their keys ("...:ids:*", "...:loaded")
// can be deleted.
//
// Releases before the tenant set marked the whole map loaded with
// "identity:loaded:2" instead: the first start of this one finds no set
// and rebuilds the map from the topic. While instances of both run, a
// tenant that an older one meets first is marked without joining the
// set, until a rebuild joins it (if the topic holds a binding of its by
// then); once no older instance runs, "identity:loaded:2" can be deleted.
//
// An id list that is not netstrings (written by hand, or by something
// other than sluice) fails the resolve that reads it, with an error
// naming the key: the batch is handled again after a backoff, as when
// Redis is down. Deleting the key mends it: each object adds itself
// again when next resolved, and a rebuild writes the whole list.
package identity
