package redisconn_test

import (
	"errors"
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

// A call answering nil answered: EvalAll returns it as redis.Nil in its
// command, not as its error, whether the script was loaded or not, and a
// nil answer of another command of the pipeline is no error either.
func TestEvalAllNil(t *testing.T) {
	r := testkit.NewRedis(t)
	ctx := testkit.Context(t, 30*time.Second)
	script := redis.NewScript("-- " + r.Prefix + " nil\nif ARGV[1] == '' then return false end\nreturn ARGV[1]")
	args := []string{"", "a", ""}
	arg := func(i int) ([]string, []any) { return []string{r.Prefix + "k"}, []any{args[i]} }
	for _, step := range []struct {
		name  string
		trips int
	}{{"not loaded", 2}, {"loaded", 1}} {
		pipe := r.Client.Pipeline()
		get := pipe.Get(ctx, r.Prefix+"absent")
		cmds, trips, err := redisconn.EvalAll(ctx, r.Client, pipe, script, len(args), arg)
		if err != nil || trips != step.trips || len(cmds) != len(args) {
			t.Fatalf("%s: %d commands, %d round trips, %v; want %d, %d, nil", step.name, len(cmds), trips, err, len(args), step.trips)
		}
		for i, cmd := range cmds {
			v, err := cmd.Text()
			if args[i] == "" && !errors.Is(err, redis.Nil) || args[i] != "" && (err != nil || v != args[i]) {
				t.Errorf("%s: call %d answered %q, %v; want %q", step.name, i, v, err, args[i])
			}
		}
		if !errors.Is(get.Err(), redis.Nil) {
			t.Errorf("%s: the other command: %v", step.name, get.Err())
		}
	}
}
