package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafka"
)

// Kinds of binding.
const (
	// KindExternal binds an object's id in a source system.
	KindExternal = "ext"
	// KindEmail binds a contact's normalised e-mail address (hashed).
	KindEmail = "email"
	// KindDomain binds an account's normalised domain (hashed).
	KindDomain = "domain"
)

// idPrefix is the short name of an object type at the front of its ids.
func idPrefix(object string) string {
	switch object {
	case "account":
		return "acc"
	case "contact":
		return "con"
	case "order":
		return "ord"
	case "ticket":
		return "tkt"
	}
	return "obj"
}

// NewID returns the canonical id derived from a key: "<prefix>_" and 26
// base32 characters (130 bits) of SHA-256 over the tenant, the object
// type, the kind and the key. The same key always gives the same id, which
// is what lets two instances that meet the same new customer at once agree
// on its id without talking to each other.
func NewID(tenant, object, kind, key string) string {
	return HashID(idPrefix(object), tenant, object, kind, key)
}

// idAlphabet is lower-case Crockford base32: ids are plain ASCII with no
// '.', space or punctuation, so they serve as Standard Webhooks message
// ids and in URLs as they are.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// HashID returns prefix, "_" and 26 lower-case Crockford base32
// characters (130 bits) of SHA-256 over parts, each ended by a zero byte.
// The same parts always give the same id.
func HashID(prefix string, parts ...string) string {
	// The parts go through one buffer, on the stack while they fit, and
	// the id is made in another: the id string is the one allocation.
	var in [256]byte
	buf := in[:0]
	for _, s := range parts {
		buf = append(buf, s...)
		buf = append(buf, 0)
	}
	d := sha256.Sum256(buf)
	var id [64]byte
	out := append(id[:0], prefix...)
	out = append(out, '_')
	// 26 characters of 5 bits from the digest's first 17 bytes.
	var acc uint64
	bits := 0
	for i := 0; len(out) < len(prefix)+1+26; {
		if bits < 5 {
			acc = acc<<8 | uint64(d[i])
			bits += 8
			i++
		}
		bits -= 5
		out = append(out, idAlphabet[(acc>>uint(bits))&31])
	}
	return string(out)
}

// hashLen is the length of a hashed match value: SHA-256 in hex.
const hashLen = 2 * sha256.Size

// appendHash appends the hash of a match value to b: an e-mail address is
// personal data, so keys of Redis and of the identity topic hold its
// SHA-256 (hex) instead.
func appendHash(b []byte, v string) []byte {
	var in [128]byte // []byte(v) would allocate beyond 32 bytes
	sum := sha256.Sum256(append(in[:0], v...))
	return hex.AppendEncode(b, sum[:])
}

// Binding is one entry of the identity map: a key of an object (its id in
// a source system, or a match key) bound to a canonical id.
type Binding struct {
	// Tenant and Object say whose and what kind of object.
	Tenant, Object string
	// Kind is KindExternal, KindEmail or KindDomain.
	Kind string
	// System, Integration and ExternalID name an external id.
	System, Integration, ExternalID string
	// Hash is the SHA-256 (hex) of a normalised match value.
	Hash string
	// ID is the canonical id.
	ID string
}

// Key returns the binding's record key in the identity topic:
// "<tenant>|<object>|ext|<system>|<external id>" or
// "<tenant>|<object>|<kind>|<hash>". Compaction keeps the last value of
// each.
func (b Binding) Key() string {
	if b.Kind == KindExternal {
		return b.Tenant + "|" + b.Object + "|" + KindExternal + "|" + b.System + "|" + b.ExternalID
	}
	return b.Tenant + "|" + b.Object + "|" + b.Kind + "|" + b.Hash
}

// recordValue is the JSON value of an identity record.
type recordValue struct {
	ID          string `json:"id"`
	Integration string `json:"integration,omitempty"`
}

// Record returns the binding as a record of the identity topic: key as
// Key says, value {"id": ..., "integration": ...} in JSON, readable in
// Kafka UI, and the tenant-id header.
func (b Binding) Record(topic string) *kgo.Record {
	v, _ := json.Marshal(recordValue{ID: b.ID, Integration: b.Integration})
	r := &kgo.Record{Topic: topic, Key: []byte(b.Key()), Value: v}
	kafka.SetHeader(r, kafka.HeaderTenantID, b.Tenant)
	return r
}

// ParseBinding reads a record of the identity topic. A record without a
// value is a tombstone: the binding is removed (deleted reports it).
func ParseBinding(key, value []byte) (b Binding, deleted bool, err error) {
	parts := strings.SplitN(string(key), "|", 4)
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" {
		return Binding{}, false, fmt.Errorf("%w: key is not <tenant>|<object>|<kind>|...", ErrRecord)
	}
	b = Binding{Tenant: parts[0], Object: parts[1], Kind: parts[2]}
	switch b.Kind {
	case KindExternal:
		sys, ext, ok := strings.Cut(parts[3], "|")
		if !ok || sys == "" {
			return Binding{}, false, fmt.Errorf("%w: an external id key is <tenant>|<object>|ext|<system>|<id>", ErrRecord)
		}
		b.System, b.ExternalID = sys, ext
	case KindEmail, KindDomain:
		b.Hash = parts[3]
	default:
		return Binding{}, false, fmt.Errorf("%w: unknown kind %q", ErrRecord, b.Kind)
	}
	if value == nil {
		return b, true, nil
	}
	var v recordValue
	if err := json.Unmarshal(value, &v); err != nil || v.ID == "" {
		return Binding{}, false, fmt.Errorf("%w: value is not {\"id\": ...}", ErrRecord)
	}
	b.ID, b.Integration = v.ID, v.Integration
	return b, false, nil
}

// Redis keys. Every key of a tenant carries the hash tag {<tenant>}, so
// the resolve script, which reads and writes several keys of one object,
// works on Redis Cluster: a tenant's identity map lives on one node.
// Each key is made in one concatenation, so one allocation.

func (m *Map) bindingKey(b Binding) string {
	if b.Kind == KindExternal {
		return m.prefix + "identity:{" + b.Tenant + "}:" + b.Object + ":ext:" + b.System + ":" + b.ExternalID
	}
	return m.prefix + "identity:{" + b.Tenant + "}:" + b.Object + ":" + b.Kind + ":" + b.Hash
}

// matchKey is the key of the binding of kind (KindEmail, KindDomain) for
// the normalised match value v: bindingKey's, its Hash the value's hash,
// in the one allocation of the concatenation (the hash's bytes are only
// read by it). The hash is the key's last hashLen bytes.
func (m *Map) matchKey(tenant, object, kind, v string) string {
	var hx [hashLen]byte
	return m.prefix + "identity:{" + tenant + "}:" + object + ":" + kind + ":" + string(appendHash(hx[:0], v))
}

// listKeyPrefix is the key of a canonical id's list of external ids (see
// lists.go), less the id.
func (m *Map) listKeyPrefix(tenant string) string {
	return m.prefix + "identity:{" + tenant + "}:extids:"
}

// The loaded markers name the format of the map in Redis ("2": id lists;
// the format before kept Redis sets under "...:ids:<id>" and had markers
// without a version). A map of another format is not loaded for this one,
// so the first start of a new format rebuilds it from the topic.

func (m *Map) sentinelKey(tenant string) string {
	return m.prefix + "identity:{" + tenant + "}:loaded:" + keyFormat
}

// tenantSet is the key of the tenant set (see joinScript). It has no hash
// tag: it is one slot of its own, not a tenant's.
func (m *Map) tenantSet() string { return m.prefix + "identity:tenants:" + keyFormat }

// keyFormat is the version of the map's Redis keys, in its loaded markers.
const keyFormat = "2"

// luaReplID is the Lua function the scripts share to read the
// replication id of the Redis node they run on (INFO replication's
// master_replid), or "" where INFO cannot be read (the embedded
// miniredis). A node's replication id changes when it is promoted from
// replica to master, as in a failover, so a tenant's loaded marker holds
// the id of the node that marked it, and a marker whose id is not the
// node's says the map may have lost writes there.
const luaReplID = `
local function replid()
  local ok, info = pcall(redis.call, 'INFO', 'replication')
  if not ok or type(info) ~= 'string' then return '' end
  return string.match(info, 'master_replid:(%w+)') or ''
end
`

// markScript marks a tenant's map loaded on this node: KEYS[1] is its
// loaded marker, set to the node's replication id. ARGV[1] is the mode:
// "" sets it; markNX sets it unless it is there; markCheck only reads it.
// It returns 1 when the marker holds this node's id (set now, or before),
// 0 when it holds another node's (a stale marker, left as it is by
// markNX and markCheck), -1 when it is missing (markCheck).
const markScript = luaReplID + `
local id = replid()
if ARGV[1] ~= '' then
  local v = redis.call('GET', KEYS[1])
  if v then
    if v == id then return 1 end
    return 0
  end
  if ARGV[1] == 'check' then return -1 end
end
redis.call('SET', KEYS[1], id)
return 1
`

// The modes of markScript.
const (
	markSet   = ""
	markNX    = "nx"
	markCheck = "check"
)

// joinScript adds tenants to the tenant set: a hash whose fields are the
// tenants whose map was ever loaded, and whose field "" holds the
// replication id of the node that made it. A tenant joins it before its
// loaded marker is first set, so that while the set is there, a tenant
// with no marker and not in the set has never been loaded, and one in the
// set has lost its map (see reload).
//
//	KEYS[1]   the tenant set
//	ARGV[1]   the mode: "" joins the tenants; "list" joins them and
//	          lists the set; "create" makes the set anew for this node,
//	          then as "list"
//	ARGV[2:]  the tenants
//
// It returns {"gone"} when the set is missing (Redis lost the map, or
// never held it) and {"moved"} when another node made it (a failover,
// which may have lost its last members), both unless creating; else
// {"ok", a flag per tenant, "1" when it joined now, "0" when it was in the
// set, then with "list" and "create" every tenant of the set}.
const joinScript = luaReplID + `
local id = replid()
local mode = ARGV[1]
if mode == 'create' then
  redis.call('HSET', KEYS[1], '', id)
else
  local v = redis.call('HGET', KEYS[1], '')
  if not v then return {'gone'} end
  if v ~= id then return {'moved'} end
end
local flags = {}
for i = 2, #ARGV do
  flags[#flags + 1] = tostring(redis.call('HSETNX', KEYS[1], ARGV[i], '1'))
end
local out = {'ok', table.concat(flags)}
if mode ~= '' then
  for _, t in ipairs(redis.call('HKEYS', KEYS[1])) do
    if t ~= '' then out[#out + 1] = t end
  end
end
return out
`

// member is how an external id is kept in its canonical id's list.
func member(system, integration, externalID string) string {
	return system + "|" + integration + "|" + externalID
}

// parseMember splits a member of an id's list (see member); the external
// id may hold '|'.
func parseMember(s string) (system, integration, externalID string, ok bool) {
	system, rest, ok1 := strings.Cut(s, "|")
	integration, externalID, ok2 := strings.Cut(rest, "|")
	if !ok1 || !ok2 {
		return "", "", "", false
	}
	return system, integration, externalID, true
}
