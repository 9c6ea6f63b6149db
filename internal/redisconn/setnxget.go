package redisconn

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNXGetRefused says the server refused SET with both NX and GET, as
// Redis before 7.0 does.
var ErrNXGetRefused = errors.New("redis: SET NX GET refused (the server is older than 7.0)")

// Prev is what SET NX GET answered for one key.
type Prev struct {
	// Value is the key's value, when Found.
	Value string
	// Found says the key was present, so it was left as it was; else it
	// was set.
	Found bool
	// Err says the command failed: nothing is known of the key.
	Err error
}

// SetNXGet runs SET key value NX PX ttl GET for each key, in one pipeline:
// each absent key is set to its value for ttl and each present one is
// left as it is and its value answered, atomically per key. Each command
// names one key, so the pipeline is safe on Redis Cluster, where go-redis
// sends each command to its slot's node. The error is ErrNXGetRefused
// when the server refuses NX with GET (before 7.0), and then nothing was
// set; any other failure is in the keys' Err.
func SetNXGet(ctx context.Context, c redis.UniversalClient, keys, values []string, ttl time.Duration) ([]Prev, error) {
	pipe := c.Pipeline()
	cmds := make([]*redis.StatusCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.SetArgs(ctx, k, values[i], redis.SetArgs{Mode: "NX", TTL: ttl, Get: true})
	}
	_, _ = pipe.Exec(ctx) // each command's error is read below
	out := make([]Prev, len(keys))
	for i, cmd := range cmds {
		if refused(cmd.Err()) {
			return nil, ErrNXGetRefused
		}
		out[i] = prevOf(cmd.Result())
	}
	return out, nil
}

// refused reports whether err is the server refusing NX with GET.
func refused(err error) bool {
	if err == nil || err == redis.Nil { // most answers (go-redis answers an absent key with redis.Nil itself)
		return false
	}
	var re redis.Error
	return errors.As(err, &re) && strings.Contains(re.Error(), "syntax error")
}

// prevOf reads the answer of a command that answers a key's value before
// it, or nil when the key was absent (SET ... GET, or a script doing the
// same) into a Prev.
func prevOf(v string, err error) Prev {
	switch {
	case errors.Is(err, redis.Nil):
		return Prev{}
	case err != nil:
		return Prev{Err: err}
	}
	return Prev{Value: v, Found: true}
}

// nxGetScript is SET key ARGV[1] NX PX ARGV[2] GET for servers that refuse
// it: it sets an absent key and answers a present key's value, atomically.
var nxGetScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  return v
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`)

// NXGetter runs SetNXGet on a server of any version: from the first time
// the server refuses NX with GET (before Redis 7.0), it sends a Lua script
// that does the same instead, one call per key, several times the
// server's work. Safe for concurrent use.
type NXGetter struct {
	c        redis.UniversalClient
	refused  func()
	scripted atomic.Bool
}

// NewNXGetter returns an NXGetter on c. refused, when not nil, is called
// once, on the server's first refusal (to say so in a log).
func NewNXGetter(c redis.UniversalClient, refused func()) *NXGetter {
	return &NXGetter{c: c, refused: refused}
}

// SetNXGet is the package's SetNXGet, and also returns the round trips it
// took. With the script, a call that fails fails them all: nothing is
// known of any key then, and the keys the other calls set stay set.
func (n *NXGetter) SetNXGet(ctx context.Context, keys, values []string, ttl time.Duration) ([]Prev, int, error) {
	trips := 0
	if !n.scripted.Load() {
		prev, err := SetNXGet(ctx, n.c, keys, values, ttl)
		if !errors.Is(err, ErrNXGetRefused) {
			return prev, 1, err
		}
		trips++
		if !n.scripted.Swap(true) && n.refused != nil {
			n.refused()
		}
	}
	ms := ttl.Milliseconds()
	cmds, t, err := EvalAll(ctx, n.c, nil, nxGetScript, len(keys), func(i int) ([]string, []any) {
		return []string{keys[i]}, []any{values[i], ms}
	})
	trips += t
	if err != nil {
		return nil, trips, err
	}
	prev := make([]Prev, len(cmds))
	for i, cmd := range cmds {
		prev[i] = prevOf(cmd.Text())
	}
	return prev, trips, nil
}
