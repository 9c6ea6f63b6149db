package stage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafka"
)

func TestLaneFor(t *testing.T) {
	delays := []time.Duration{time.Second, 4 * time.Second, 16 * time.Second, time.Minute}
	for _, tc := range []struct {
		name string
		d    time.Duration
		want int
	}{
		{"zero takes the shortest", 0, 1},
		{"exactly a lane's delay", 4 * time.Second, 2},
		{"between two lanes takes the longer", 5 * time.Second, 3},
		{"beyond the longest takes the longest", time.Hour, 4},
		{"negative takes the shortest", -time.Second, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := laneFor(delays, tc.d); got != tc.want {
				t.Errorf("laneFor(%v) = %d, want %d", tc.d, got, tc.want)
			}
		})
	}
	t.Run("unsorted delays", func(t *testing.T) {
		if got := laneFor([]time.Duration{time.Minute, time.Second, 10 * time.Second}, 5*time.Second); got != 3 {
			t.Errorf("laneFor = %d, want 3 (10s)", got)
		}
	})
}

func TestRouteWithDelay(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rt := router{stage: "deliver.x", delays: []time.Duration{time.Second, 4 * time.Second, time.Minute}, maxAttempts: 3, msgSize: 64}
	rec := func(attempts int) *kgo.Record {
		r := &kgo.Record{Topic: "sluice.canonical.contact", Partition: 1, Offset: 9, Key: []byte("acme")}
		kafka.SetHeader(r, kafka.HeaderTenantID, "acme")
		if attempts > 0 {
			r.Topic = kafka.RetryTopic("deliver.x", 1)
			kafka.SetHeader(r, kafka.HeaderAttempts, fmt.Sprint(attempts))
		}
		return r
	}
	cause := errors.New("503")
	for _, tc := range []struct {
		name     string
		attempts int // attempts header of the record, 0 for an input record
		err      error
		topic    string
		outcome  Outcome
		header   string // attempts header written
		delay    time.Duration
	}{
		{"retry-after picks the covering lane", 0, RetryAfter(cause, 3*time.Second), kafka.RetryTopic("deliver.x", 2), OutcomeRetry, "1", 4 * time.Second},
		{"retry-after beyond every lane takes the longest", 1, RetryAfter(cause, time.Hour), kafka.RetryTopic("deliver.x", 3), OutcomeRetry, "2", time.Minute},
		{"retry-after counts the attempt", 2, RetryAfter(cause, time.Second), kafka.DLQTopic("deliver.x"), OutcomeDead, "3", 0},
		{"defer keeps the attempts", 0, Defer(cause, 2*time.Second), kafka.RetryTopic("deliver.x", 2), OutcomeRetry, "0", 4 * time.Second},
		{"defer past max attempts still retries", 2, Defer(cause, 0), kafka.RetryTopic("deliver.x", 1), OutcomeRetry, "2", time.Second},
		{"a class outside wins over a delay", 0, Permanent(RetryAfter(cause, time.Second)), kafka.DLQTopic("deliver.x"), OutcomeDead, "1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lane := 0
			if tc.attempts > 0 {
				lane = 1
			}
			r := newRecord(context.Background(), rec(tc.attempts), lane)
			out, o := rt.route(r, tc.err, now)
			if out.Topic != tc.topic || o != tc.outcome {
				t.Fatalf("routed to %s as %s, want %s as %s", out.Topic, o, tc.topic, tc.outcome)
			}
			if got := kafka.Header(out, kafka.HeaderAttempts); got != tc.header {
				t.Errorf("attempts header %q, want %q", got, tc.header)
			}
			wantAt := ""
			if tc.delay > 0 {
				wantAt = now.Add(tc.delay).Format(time.RFC3339Nano)
			}
			if got := kafka.Header(out, kafka.HeaderRetryAt); got != wantAt {
				t.Errorf("retry-at %q, want %q", got, wantAt)
			}
			if !errors.Is(tc.err, cause) {
				t.Error("the delayed error does not wrap its cause")
			}
		})
	}
	if RetryAfter(nil, time.Second) != nil || Defer(nil, time.Second) != nil {
		t.Error("delaying nil must give nil")
	}
	if _, _, ok := Delay(errors.New("plain")); ok {
		t.Error("Delay found a delay in a plain error")
	}
}
