package dedupe

import (
	"context"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// SkipReason is the reason given to stage.Record.Skip for a duplicate.
const SkipReason = "duplicate"

// Owner returns the claim owner of a record: where it first entered the
// stage, the same for the record on every attempt.
func Owner(r *stage.Record) string {
	// One allocation: the numbers are formatted on the stack.
	var num [20]byte
	var b strings.Builder
	b.Grow(len(r.Source.Topic) + 2*len(num))
	b.WriteString(r.Source.Topic)
	b.WriteByte('/')
	b.Write(strconv.AppendInt(num[:0], int64(r.Source.Partition), 10))
	b.WriteByte('/')
	b.Write(strconv.AppendInt(num[:0], r.Source.Offset, 10))
	return b.String()
}

// Middleware deduplicates a stage's records by tenant and event id, with
// one Redis round trip to claim a batch and one to settle it after the
// commit (more only for events found claimed before: see Claim). Per
// record:
//
//   - no event-id header: failed as permanent (ErrNoEventID);
//   - the same event earlier in the batch: skipped as a duplicate;
//   - Duplicate: skipped (reason "duplicate"), never reaches the handler;
//   - Busy: failed as retryable (ErrBusy), tried again from a retry topic;
//   - Claimed: handed to the next handler.
//
// Each batch's claims are one Group. After the transaction commits, the
// group is marked committed, naming the records routed to a retry or
// dead-letter topic, which frees their claims and makes the others done.
// After an abort every claim is released. If Redis fails to claim, the batch
// fails as a whole (unclassified, wrapping ErrUnavailable) and the runner
// handles it again after a backoff.
func (s *Store) Middleware() stage.Middleware {
	return func(next stage.Handler) stage.Handler {
		return stage.HandlerFunc(func(ctx context.Context, b *stage.Batch) error {
			claims := make([]Claim, 0, len(b.Records))
			recs := make([]*stage.Record, 0, len(b.Records))
			// An event of the batch is known by its tenant and id: the
			// stage is the batch's.
			type event struct{ tenant, id string }
			seen := make(map[event]struct{}, len(b.Records))
			for _, r := range b.Records {
				if r.EventID == "" {
					r.Fail(stage.Permanent(ErrNoEventID))
					continue
				}
				k := event{r.Tenant, r.EventID}
				if _, dup := seen[k]; dup {
					s.duplicates.Add(1)
					s.results.WithLabelValues(b.Stage, Duplicate.String()).Inc()
					r.Skip(SkipReason)
					continue
				}
				seen[k] = struct{}{}
				claims = append(claims, Claim{Stage: b.Stage, Tenant: r.Tenant, EventID: r.EventID, Owner: Owner(r)})
				recs = append(recs, r)
			}
			g := NewGroup()
			statuses, err := s.Claim(ctx, g, claims)
			if err != nil {
				// Claim may have taken some keys before it failed; the
				// batch fails as a whole and its abort hooks run. Tried
				// once: Redis is likely down, and a claim left behind
				// only makes other copies of its event wait for its lease.
				b.AfterAbort(func(ctx context.Context) {
					if err := s.Release(ctx, g, claims); err != nil {
						s.log.Debug("dedupe: claims of a failed claim not released", zap.String(telemetry.FieldStage, b.Stage), zap.Error(err))
					}
				})
				return err
			}
			// Most claims are claimed: room for all of them.
			pass := make([]*stage.Record, 0, len(statuses))
			held := make([]Claim, 0, len(statuses))
			heldRecs := make([]*stage.Record, 0, len(statuses))
			for i, st := range statuses {
				switch st {
				case Duplicate:
					recs[i].Skip(SkipReason)
				case Busy:
					recs[i].Fail(stage.Retryable(ErrBusy))
				case Claimed:
					pass = append(pass, recs[i])
					held = append(held, claims[i])
					heldRecs = append(heldRecs, recs[i])
				}
			}
			if len(held) > 0 {
				b.AfterCommit(func(ctx context.Context) {
					var release []Claim
					for i, r := range heldRecs {
						if o := r.Outcome(); o != stage.OutcomeDone && o != stage.OutcomeSkipped {
							release = append(release, held[i])
						}
					}
					s.retry(ctx, b, len(held), func() error { return s.Settle(ctx, g, b.Stage, release) },
						"dedupe: batch not marked committed; copies of its events that come after the lease are processed again")
				})
				b.AfterAbort(func(ctx context.Context) {
					s.retry(ctx, b, len(held), func() error { return s.Release(ctx, g, held) },
						"dedupe: claims not released; other copies of their events wait until their lease ends")
				})
			}
			if len(pass) == 0 {
				return nil
			}
			return next.Handle(ctx, b.Subset(pass))
		})
	}
}

// retry calls settle (Settle or Release) for a batch of n claims, trying
// again a few times. If every try fails, it logs failed, which says what
// that means, with the last error.
func (s *Store) retry(ctx context.Context, b *stage.Batch, n int, settle func() error, failed string) {
	wait := 50 * time.Millisecond
	var err error
	for attempt := 1; ; attempt++ {
		if err = settle(); err == nil {
			return
		}
		if attempt == 4 || !sleep(ctx, wait) {
			break
		}
		wait *= 2
	}
	s.log.Error(failed,
		zap.String(telemetry.FieldStage, b.Stage), zap.String(telemetry.FieldTopic, b.Topic),
		zap.Int32(telemetry.FieldPartition, b.Partition), zap.Int("claims", n), zap.Error(err))
}

// sleep waits d or until ctx ends, reporting whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
