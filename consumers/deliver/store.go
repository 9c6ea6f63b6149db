package deliver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// store keeps the stage's state in Redis: done-markers, the disabled
// flag of each destination, and the queues of ordered keys. Every command
// touches one key or keys of one hash tag, so it works on Redis Cluster.
type store struct {
	rc     redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// Disabled says why and since when a destination is disabled.
type Disabled struct {
	// Reason says why, e.g. "410 Gone from hooks.example.com".
	Reason string `json:"reason"`
	// At is when it was disabled.
	At time.Time `json:"at"`
}

func (s *store) doneKey(dest, tenant, eventID string) string {
	return s.prefix + "deliver:" + dest + ":" + tenant + ":" + eventID
}

// disabledKey and the order keys hold '@', which no tenant id holds, so
// they never meet a done-marker.
func (s *store) disabledKey(dest string) string { return s.prefix + "deliver:" + dest + ":@disabled" }

func (s *store) orderKeys(dest, tenant string, key []byte) []string {
	h := sha256.New()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write(key)
	tag := hex.EncodeToString(h.Sum(nil)[:12])
	base := s.prefix + "deliver:" + dest + ":@order:{" + tag + "}"
	return []string{base, base + ":due"}
}

// check returns, in one round trip, whether dest is disabled (when
// withDisabled) and which of the events are delivered already.
func (s *store) check(ctx context.Context, dest string, withDisabled bool, tenants, eventIDs []string) (*Disabled, []bool, error) {
	pipe := s.rc.Pipeline()
	var dis *redis.StringCmd
	if withDisabled {
		dis = pipe.Get(ctx, s.disabledKey(dest))
	}
	cmds := make([]*redis.IntCmd, len(eventIDs))
	for i := range eventIDs {
		cmds[i] = pipe.Exists(ctx, s.doneKey(dest, tenants[i], eventIDs[i]))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("deliver: redis: %w", err)
	}
	done := make([]bool, len(cmds))
	for i, c := range cmds {
		done[i] = c.Val() > 0
	}
	if dis == nil {
		return nil, done, nil
	}
	d, err := decodeDisabled(dis)
	return d, done, err
}

func decodeDisabled(c *redis.StringCmd) (*Disabled, error) {
	v, err := c.Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deliver: redis: %w", err)
	}
	var d Disabled
	if err := json.Unmarshal([]byte(v), &d); err != nil {
		d = Disabled{Reason: "disabled (unreadable flag)"}
	}
	return &d, nil
}

// markDone writes the done-markers of delivered events.
func (s *store) markDone(ctx context.Context, keys ...string) error {
	if len(keys) == 1 {
		if err := s.rc.Set(ctx, keys[0], "1", s.ttl).Err(); err != nil {
			return fmt.Errorf("deliver: redis: %w", err)
		}
		return nil
	}
	pipe := s.rc.Pipeline()
	for _, k := range keys {
		pipe.Set(ctx, k, "1", s.ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("deliver: redis: %w", err)
	}
	return nil
}

// disable sets the disabled flag of dest.
func (s *store) disable(ctx context.Context, dest string, d Disabled) error {
	b, _ := json.Marshal(d)
	if err := s.rc.Set(ctx, s.disabledKey(dest), b, 0).Err(); err != nil {
		return fmt.Errorf("deliver: redis: %w", err)
	}
	return nil
}

// enable clears the disabled flag of dest.
func (s *store) enable(ctx context.Context, dest string) error {
	if err := s.rc.Del(ctx, s.disabledKey(dest)).Err(); err != nil {
		return fmt.Errorf("deliver: redis: %w", err)
	}
	return nil
}

// disabled reads the disabled flags of dests in one round trip.
func (s *store) disabled(ctx context.Context, dests []string) ([]*Disabled, error) {
	pipe := s.rc.Pipeline()
	cmds := make([]*redis.StringCmd, len(dests))
	for i, d := range dests {
		cmds[i] = pipe.Get(ctx, s.disabledKey(d))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("deliver: redis: %w", err)
	}
	out := make([]*Disabled, len(dests))
	for i, c := range cmds {
		d, err := decodeDisabled(c)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// The queue of an ordered key: a list of the event ids waiting, the head
// being the one that must go first, and a hash of each one's due time
// (Unix ms) in its retry topic. An empty queue means nothing of the key
// is waiting, and the key's events go straight through.

// admitScript decides whether event ARGV[1] may go now. It may when the
// queue is empty or it is the head; otherwise it joins the queue's tail
// (once) and learns how long until the head is due. A head that has not
// come back ARGV[3] ms after it was due is dropped first.
//
// KEYS: queue, dues. ARGV: id, now, stale, ttl, lane delays (ascending).
// Returns {admitted, wait ms}.
var admitScript = redis.NewScript(`
local q, dues = KEYS[1], KEYS[2]
local id = ARGV[1]
local now, stale, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for _ = 1, 16 do
  local head = redis.call('LINDEX', q, 0)
  if not head or head == id then return {1, 0} end
  local due = tonumber(redis.call('HGET', dues, head) or '0')
  if due > 0 and now > due + stale then
    redis.call('LPOP', q)
    redis.call('HDEL', dues, head)
  else
    local wait = 0
    if due > now then wait = due - now end
    local lane = tonumber(ARGV[#ARGV])
    for i = 5, #ARGV do
      local l = tonumber(ARGV[i])
      if l >= wait then lane = l break end
    end
    if not redis.call('LPOS', q, id) then redis.call('RPUSH', q, id) end
    redis.call('HSET', dues, id, now + lane)
    redis.call('PEXPIRE', q, ttl)
    redis.call('PEXPIRE', dues, ttl)
    return {0, wait}
  end
end
return {0, 0}
`)

// blockScript records that event ARGV[1], which was let through, is now
// waiting in a retry topic until ARGV[2]: it heads the queue (it went
// first), and the events behind it wait for it.
//
// KEYS: queue, dues. ARGV: id, due, ttl.
var blockScript = redis.NewScript(`
local q, dues = KEYS[1], KEYS[2]
if not redis.call('LPOS', q, ARGV[1]) then redis.call('LPUSH', q, ARGV[1]) end
redis.call('HSET', dues, ARGV[1], ARGV[2])
redis.call('PEXPIRE', q, ARGV[3])
redis.call('PEXPIRE', dues, ARGV[3])
return 1
`)

// releaseScript takes event ARGV[1] out of the queue: it was delivered or
// dead-lettered, and the events behind it may go.
//
// KEYS: queue, dues. ARGV: id.
var releaseScript = redis.NewScript(`
local q, dues = KEYS[1], KEYS[2]
redis.call('LREM', q, 0, ARGV[1])
redis.call('HDEL', dues, ARGV[1])
if redis.call('LLEN', q) == 0 then redis.call('DEL', q, dues) end
return 1
`)

// admit runs admitScript for one event.
func (s *store) admit(ctx context.Context, keys []string, id string, now time.Time, stale, ttl time.Duration, lanes []time.Duration) (bool, time.Duration, error) {
	args := make([]any, 0, 4+len(lanes))
	args = append(args, id, now.UnixMilli(), stale.Milliseconds(), ttl.Milliseconds())
	for _, l := range lanes {
		args = append(args, l.Milliseconds())
	}
	res, err := admitScript.Run(ctx, s.rc, keys, args...).Int64Slice()
	if err != nil || len(res) != 2 {
		return false, 0, fmt.Errorf("deliver: redis: ordered key: %w", err)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}

// block runs blockScript for one event.
func (s *store) block(ctx context.Context, keys []string, id string, due time.Time, ttl time.Duration) error {
	if err := blockScript.Run(ctx, s.rc, keys, id, strconv.FormatInt(due.UnixMilli(), 10), ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("deliver: redis: ordered key: %w", err)
	}
	return nil
}

// release runs releaseScript for one event.
func (s *store) release(ctx context.Context, keys []string, id string) error {
	if err := releaseScript.Run(ctx, s.rc, keys, id).Err(); err != nil {
		return fmt.Errorf("deliver: redis: ordered key: %w", err)
	}
	return nil
}
