package redisconn_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/testkit"
)

// EvalAll runs every call in one round trip, beside the commands the
// pipeline already holds; on a server that does not know the script (as
// after a restart) it runs the calls again with the script's text, in a
// second. The script's text is the test's own, so no other test (on a
// shared server) has loaded it.
func TestEvalAll(t *testing.T) {
	r := testkit.NewRedis(t)
	ctx := testkit.Context(t, 30*time.Second)
	script := redis.NewScript("-- " + r.Prefix + "\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
	keys := []string{r.Prefix + "a", r.Prefix + "b", r.Prefix + "c"}
	arg := func(i int) ([]string, []any) { return []string{keys[i]}, []any{i + 1} }
	check := func(step string, cmds []*redis.Cmd, trips, wantTrips int, err error, want ...int64) {
		t.Helper()
		if err != nil || trips != wantTrips || len(cmds) != len(want) {
			t.Fatalf("%s: %d commands, %d round trips, %v; want %d, %d, nil", step, len(cmds), trips, err, len(want), wantTrips)
		}
		for i, cmd := range cmds {
			if v, err := cmd.Int64(); err != nil || v != want[i] {
				t.Errorf("%s: call %d answered %d, %v; want %d", step, i, v, err, want[i])
			}
		}
	}

	cmds, trips, err := redisconn.EvalAll(ctx, r.Client, nil, script, 3, arg)
	check("not loaded", cmds, trips, 2, err, 1, 2, 3)

	pipe := r.Client.Pipeline()
	set := pipe.Set(ctx, r.Prefix+"other", "x", 0)
	cmds, trips, err = redisconn.EvalAll(ctx, r.Client, pipe, script, 3, arg)
	check("loaded, with another command", cmds, trips, 1, err, 2, 4, 6)
	if set.Err() != nil || r.Client.Get(ctx, r.Prefix+"other").Val() != "x" {
		t.Errorf("the pipeline's other command: %v", set.Err())
	}

	if err := r.Client.Set(ctx, keys[1], "not a number", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := redisconn.EvalAll(ctx, r.Client, nil, script, 3, arg); err == nil {
		t.Error("a call that failed did not fail EvalAll")
	}
}
