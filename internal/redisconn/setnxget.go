package redisconn

import (
	"context"
	"errors"
	"strings"
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
		var re redis.Error
		if err := cmd.Err(); errors.As(err, &re) && strings.Contains(re.Error(), "syntax error") {
			return nil, ErrNXGetRefused
		}
		out[i] = PrevOf(cmd.Result())
	}
	return out, nil
}

// PrevOf reads the answer of a command that answers a key's value before
// it, or nil when the key was absent (SET ... GET, or a script doing the
// same) into a Prev.
func PrevOf(v string, err error) Prev {
	switch {
	case errors.Is(err, redis.Nil):
		return Prev{}
	case err != nil:
		return Prev{Err: err}
	}
	return Prev{Value: v, Found: true}
}
