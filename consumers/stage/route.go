package stage

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafka"
)

// router decides where a failed record goes and builds the record that
// carries it there.
type router struct {
	stage       string
	ns          kafka.Namespace // of the retry and dead-letter topics
	delays      []time.Duration
	maxAttempts int
	msgSize     int
}

// route returns the retry or dead-letter record for r, which failed with
// err on attempt r.Attempt, and the outcome that becomes.
func (rt router) route(r *Record, err error, now time.Time) (*kgo.Record, Outcome) {
	class := ClassOf(err)
	out := &kgo.Record{
		Key:   r.Raw.Key,
		Value: r.Raw.Value,
	}
	out.Headers = make([]kgo.RecordHeader, 0, len(r.Raw.Headers)+9)
	for _, h := range r.Raw.Headers {
		out.Headers = append(out.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	kafka.SetHeader(out, kafka.HeaderErrorStage, rt.stage)
	kafka.SetHeader(out, kafka.HeaderErrorClass, string(class))
	kafka.SetHeader(out, kafka.HeaderErrorMessage, truncate(err.Error(), rt.msgSize))
	kafka.SetHeader(out, kafka.HeaderOriginalTopic, r.Source.Topic)
	kafka.SetHeader(out, kafka.HeaderOriginalPartition, strconv.FormatInt(int64(r.Source.Partition), 10))
	kafka.SetHeader(out, kafka.HeaderOriginalOffset, strconv.FormatInt(r.Source.Offset, 10))
	kafka.SetHeader(out, kafka.HeaderAttempts, strconv.Itoa(r.Attempt))

	after, deferred, delayed := Delay(err)
	if deferred && class == ClassRetryable && len(rt.delays) > 0 {
		// Not tried: the attempt does not count, and the stage bounds
		// how often it defers.
		kafka.SetHeader(out, kafka.HeaderAttempts, strconv.Itoa(r.Attempt-1))
	}
	if class == ClassRetryable && (deferred || r.Attempt < rt.maxAttempts) && len(rt.delays) > 0 {
		lane := min(r.Attempt, len(rt.delays))
		if delayed {
			lane = laneFor(rt.delays, after)
		}
		out.Topic = rt.retryTopic(lane)
		kafka.SetHeader(out, kafka.HeaderRetryAt, now.Add(rt.delays[lane-1]).UTC().Format(time.RFC3339Nano))
		return out, OutcomeRetry
	}
	out.Topic = rt.dlqTopic()
	delHeader(out, kafka.HeaderRetryAt)
	return out, OutcomeDead
}

// laneFor returns the retry topic (1-based) with the shortest delay of at
// least d, or the one with the longest delay when none is that long.
func laneFor(delays []time.Duration, d time.Duration) int {
	best, longest := 0, 0
	for i, x := range delays {
		if x >= d && (best == 0 || x < delays[best-1]) {
			best = i + 1
		}
		if longest == 0 || x > delays[longest-1] {
			longest = i + 1
		}
	}
	if best == 0 {
		return longest
	}
	return best
}

// due returns when a retry-topic record is due; a record without a
// readable retry-at header is due at once.
func due(r *kgo.Record) time.Time {
	t, err := time.Parse(time.RFC3339Nano, kafka.Header(r, kafka.HeaderRetryAt))
	if err != nil {
		return time.Time{}
	}
	return t
}

func delHeader(r *kgo.Record, key string) {
	hs := r.Headers[:0]
	for _, h := range r.Headers {
		if h.Key != key {
			hs = append(hs, h)
		}
	}
	r.Headers = hs
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// retryTopic is the stage's n-th (1-based) retry topic, in its namespace.
func (rt router) retryTopic(n int) string { return rt.ns.Name(kafka.RetryTopic(rt.stage, n)) }

// dlqTopic is the stage's dead-letter topic, in its namespace.
func (rt router) dlqTopic() string { return rt.ns.Name(kafka.DLQTopic(rt.stage)) }
