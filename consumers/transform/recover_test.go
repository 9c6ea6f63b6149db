package transform

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
)

// brokenIdentities answers Resolve as the identities it wraps, through
// broken, which may drop resolutions or panic.
type brokenIdentities struct {
	*benchIdentities
	broken func(identity.Result) identity.Result
}

func (b brokenIdentities) Resolve(ctx context.Context, subjects []identity.Subject) (identity.Result, error) {
	res, err := b.benchIdentities.Resolve(ctx, subjects)
	return b.broken(res), err
}

// worked begins the stage's work on recs and waits for it.
func worked(t *testing.T, s *Stage, recs []*stage.Record) *work {
	t.Helper()
	w := s.begin(context.Background(), recs)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the batch's work never ended")
	}
	return w
}

// TestPanicOnARecordIsItsOwn checks that a panic in the work on one
// record, which runs away from Handle's goroutine, fails that record as
// poison and leaves the others alone, instead of stopping the process.
func TestPanicOnARecordIsItsOwn(t *testing.T) {
	s, ids, recs := benchStage(t)
	recs = recs[:10]
	// One resolution short: building the last event indexes past it.
	s.ids = brokenIdentities{ids, func(res identity.Result) identity.Result {
		res.Resolutions = res.Resolutions[:len(res.Resolutions)-1]
		return res
	}}
	w := worked(t, s, recs)
	if w.failed != nil || w.resErr != nil {
		t.Fatalf("the batch failed: %v, %v", w.failed, w.resErr)
	}
	for i, it := range w.prepared {
		switch {
		case i < len(recs)-1 && it.err != nil:
			t.Errorf("record %d: %v, want built", i, it.err)
		case i == len(recs)-1 && (!errors.Is(it.err, stage.ErrPanic) || stage.ClassOf(it.err) != stage.ClassPoison):
			t.Errorf("record %d: %v (%s), want poison for its panic", i, it.err, stage.ClassOf(it.err))
		}
	}
}

// TestPanicResolvingFailsTheBatch checks that a panic resolving a chunk's
// identities fails the batch, which comes again, rather than stopping the
// process or leaving the batch's work waiting for ever.
func TestPanicResolvingFailsTheBatch(t *testing.T) {
	s, ids, recs := benchStage(t)
	s.ids = brokenIdentities{ids, func(identity.Result) identity.Result { panic("identity: broken") }}
	w := worked(t, s, recs[:600]) // three chunks, each waiting for the one before
	if !errors.Is(w.resErr, stage.ErrPanic) || isClassified(w.resErr) {
		t.Errorf("the batch's error is %v, want an unclassified panic", w.resErr)
	}
}
