package redisconn

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// EvalAll runs script n times in one pipeline (EVALSHA, call i with the
// keys and arguments arg(i) gives), in pipe with the commands it already
// holds, or in a new pipeline of c when pipe is nil. The calls a node
// answered NOSCRIPT (after a Redis restart or failover) run once more
// with the script's text (EVAL), in a second round trip. It returns the
// calls' commands and the round trips taken. A call that answers nil
// (redis.Nil) answered; one that failed fails EvalAll. An error of
// another command of pipe is the caller's to read from that command,
// unless no call failed: then it is returned (redis.Nil excepted).
func EvalAll(ctx context.Context, c redis.UniversalClient, pipe redis.Pipeliner, script *redis.Script, n int, arg func(i int) (keys []string, args []any)) ([]*redis.Cmd, int, error) {
	if pipe == nil {
		pipe = c.Pipeline()
	}
	cmds := make([]*redis.Cmd, n)
	for i := range n {
		keys, args := arg(i)
		cmds[i] = script.EvalSha(ctx, pipe, keys, args...)
	}
	_, err := pipe.Exec(ctx)
	if err == nil {
		return cmds, 1, nil
	}
	var missing []int
	for i, cmd := range cmds {
		switch cerr := cmd.Err(); {
		case cerr == nil, errors.Is(cerr, redis.Nil):
		case redis.HasErrorPrefix(cerr, "NOSCRIPT"):
			missing = append(missing, i)
		default:
			return nil, 1, cerr
		}
	}
	if len(missing) == 0 {
		if errors.Is(err, redis.Nil) {
			return cmds, 1, nil
		}
		return nil, 1, err
	}
	pipe = c.Pipeline()
	for _, i := range missing {
		keys, args := arg(i)
		cmds[i] = script.Eval(ctx, pipe, keys, args...)
	}
	_, _ = pipe.Exec(ctx) // each call's error is read below
	for _, i := range missing {
		if cerr := cmds[i].Err(); cerr != nil && !errors.Is(cerr, redis.Nil) {
			return nil, 2, cerr
		}
	}
	return cmds, 2, nil
}
