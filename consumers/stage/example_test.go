package stage_test

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/kafka"
)

// A stage is a handler run by a Runner. This one upper-cases payloads from
// sluice.in.crm into sluice.canonical.contact, dead-letters what it cannot
// read, retries what fails for now, and lets each event through once.
func Example() {
	var errEmpty = errors.New("upper: empty payload")
	h := stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
		for _, r := range b.Records { // one partition, in offset order
			if len(r.Raw.Value) == 0 {
				r.Fail(stage.Poison(errEmpty)) // dead-lettered at once
				continue
			}
			out := make([]byte, len(r.Raw.Value))
			for i, c := range r.Raw.Value {
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				out[i] = c
			}
			// Produced in the poll's transaction; tenant-id, event-id and
			// traceparent are copied from the input.
			r.Emit(&kgo.Record{Topic: kafka.CanonicalTopic("contact"), Key: r.Raw.Key, Value: out})
		}
		return nil
	})

	store, err := dedupe.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}))
	if err != nil {
		panic(err)
	}
	runner, err := stage.New("upper", kafka.ConfigFromEnv(os.Getenv), h,
		stage.Consume(kafka.InTopic("crm")),
		stage.RetryDelays(time.Minute, 10*time.Minute, time.Hour),
		stage.Use(store.Middleware()),
		stage.Logger(zap.NewNop()),
	)
	if err != nil {
		panic(err)
	}
	_ = runner // a worker: run it with worker.Run(ctx, log, grace, runner)
}
