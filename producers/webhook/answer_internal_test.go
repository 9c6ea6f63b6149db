package webhook

import (
	"net/http"
	"testing"
)

// TestBatchStatus checks that a batch is answered 2xx only when no event
// of it needs sending again.
func TestBatchStatus(t *testing.T) {
	for _, tc := range []struct {
		name        string
		a           batchAnswer
		unavailable string
		status      int
		outcome     string
	}{
		{"all taken", batchAnswer{Accepted: 2, Duplicates: 1, Quarantined: 1}, "", http.StatusAccepted, OutcomeAccepted},
		{"one not written among accepted", batchAnswer{Accepted: 3, Unavailable: 1}, CodeKafkaUnavailable, http.StatusServiceUnavailable, CodeKafkaUnavailable},
		{"a full buffer among accepted and invalid", batchAnswer{Accepted: 1, Invalid: 1, Unavailable: 2}, CodeBackpressure, http.StatusServiceUnavailable, CodeBackpressure},
		{"unavailable and in progress", batchAnswer{InProgress: 1, Unavailable: 1}, CodeKafkaUnavailable, http.StatusServiceUnavailable, CodeKafkaUnavailable},
		{"one in progress among accepted", batchAnswer{Accepted: 2, InProgress: 1}, "", http.StatusConflict, CodeInProgress},
		{"all in progress", batchAnswer{InProgress: 2}, "", http.StatusConflict, CodeInProgress},
		{"all invalid", batchAnswer{Invalid: 2}, "", http.StatusUnprocessableEntity, CodeSchemaViolation},
		{"all too large", batchAnswer{TooLarge: 2}, "", http.StatusRequestEntityTooLarge, CodeRecordTooLarge},
		{"accepted and invalid", batchAnswer{Accepted: 1, Invalid: 1}, "", http.StatusMultiStatus, OutcomePartial},
		{"accepted and too large", batchAnswer{Accepted: 1, TooLarge: 1}, "", http.StatusMultiStatus, OutcomePartial},
		{"invalid and too large", batchAnswer{Invalid: 1, TooLarge: 1}, "", http.StatusMultiStatus, OutcomePartial},
	} {
		n := tc.a.Accepted + tc.a.Duplicates + tc.a.Quarantined + tc.a.Invalid + tc.a.InProgress + tc.a.Unavailable + tc.a.TooLarge
		status, outcome := batchStatus(&tc.a, n, tc.unavailable)
		if status != tc.status || outcome != tc.outcome {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, outcome, tc.status, tc.outcome)
		}
	}
}
