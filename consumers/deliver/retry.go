package deliver

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
)

// retryLanes returns the delays of a destination's retry topics:
// initial, initial×factor, ... while below max, then max.
func retryLanes(r config.Retry, factor int) []time.Duration {
	initial, max := r.InitialBackoff, r.MaxBackoff
	if initial <= 0 {
		initial = config.DefaultBackoff
	}
	if max < initial {
		max = initial
	}
	var lanes []time.Duration
	for d := initial; d < max; d *= time.Duration(factor) {
		lanes = append(lanes, d)
	}
	return append(lanes, max)
}

// laneDelay is the delay of the lane the runner picks for a wish of d
// (see stage.RetryAfter): the shortest lane delay of at least d, or the
// longest.
func laneDelay(lanes []time.Duration, d time.Duration) time.Duration {
	for _, l := range lanes {
		if l >= d {
			return l
		}
	}
	return lanes[len(lanes)-1]
}

// backoff returns the wish for the delay after the n-th failed attempt:
// exponential from InitialBackoff, capped at MaxBackoff, with full jitter
// (uniform from 0 to the cap).
func backoff(r config.Retry, n int) time.Duration {
	ceiling := r.InitialBackoff
	for i := 1; i < n && ceiling < r.MaxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, r.MaxBackoff)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// clampRetryAfter bounds a destination's Retry-After to [lo, min(hi,
// MaxBackoff)].
func clampRetryAfter(d, lo, hi, maxBackoff time.Duration) time.Duration {
	hi = min(hi, max(maxBackoff, lo))
	return min(max(d, lo), hi)
}

// eventTime is when sluice received the event, from its received-at
// header (RFC 3339, or Unix milliseconds), else, for a record of an input
// topic, its timestamp. ok is false when neither is known.
func eventTime(r *stage.Record) (time.Time, bool) {
	if v := kafka.Header(r.Raw, kafka.HeaderReceivedAt); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, true
		}
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
			return time.UnixMilli(ms), true
		}
	}
	if r.Lane == 0 && !r.Raw.Timestamp.IsZero() {
		return r.Raw.Timestamp, true
	}
	return time.Time{}, false
}
