package dedupe_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestStoreUnderConcurrentCopies runs the store as stages would, with
// several copies of each event and every way a batch can end, and checks
// the two promises against a ledger of what "committed":
//
//   - no loss: a claim answers duplicate only for an event whose output a
//     committed batch holds;
//   - no duplicate: no two batches commit an output of one event.
//
// Workers stand for stage instances. Each owns its records (owners), as a
// consumer group gives a partition to one member at a time, and loops:
// it claims a few of its records in a new group, then the batch commits
// (some records done, some routed to a retry topic and released) or
// aborts (every claim released). A record not done stays with its worker
// and comes again, as a retry copy or a record consumed again does. Two
// of the workers crash instead of ending their third batch that claimed
// something: they stop, and nothing more is said of their claims. Each event has a copy at every worker, so copies meet
// each other's claims: live, committed, released, and left by a crash
// until the lease ends, when another copy takes over. The workers that
// never crash must finish every one of their records: none is stuck.
func TestStoreUnderConcurrentCopies(t *testing.T) {
	t.Parallel()
	const (
		workers = 4
		events  = 24
		crashy  = 2 // workers 0 and 1 crash
		lease   = 400 * time.Millisecond
		run     = 20 * time.Second // at most: the workers end when done
	)
	r := testkit.NewRedis(t)
	s, err := dedupe.New(r.Client, dedupe.Prefix(r.Prefix), dedupe.Lease(lease), dedupe.TTL(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t, 60*time.Second)

	var mu sync.Mutex
	committed := make([]int, events) // batches that committed an output of the event
	crashedBy := make([]int, events) // 1 + the worker that crashed holding the event's claim
	late := make([]bool, events)     // committed by a batch that took half its lease or more
	var duplicates, busy, takenAfterCrash int
	unfinished := make([]int, workers)

	var wg sync.WaitGroup
	deadline := time.Now().Add(run)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			// The worker's records still to finish: one copy of each
			// event, its owner named by worker and event.
			todo := map[int]bool{}
			for e := range events {
				todo[e] = true
			}
			claim := func(e int) dedupe.Claim {
				return dedupe.Claim{Stage: "transform", Tenant: "acme", EventID: fmt.Sprintf("e-%d", e), Owner: fmt.Sprintf("in/%d/%d", w, e)}
			}
			defer func() {
				mu.Lock()
				unfinished[w] = len(todo)
				mu.Unlock()
			}()
			batches := 0 // that claimed something
			for time.Now().Before(deadline) && len(todo) > 0 {
				time.Sleep(time.Duration(1+rng.IntN(2)) * time.Millisecond)
				var batch []int
				for e := range todo {
					if len(batch) == 5 {
						break
					}
					if rng.IntN(3) == 0 {
						batch = append(batch, e)
					}
				}
				if len(batch) == 0 {
					continue
				}
				claims := make([]dedupe.Claim, len(batch))
				for i, e := range batch {
					claims[i] = claim(e)
				}
				g, made := dedupe.NewGroup(), time.Now()
				got, err := s.Claim(ctx, g, claims)
				if err != nil {
					t.Error(err)
					return
				}
				var held, done, release []dedupe.Claim
				var doneEvents []int
				mu.Lock()
				for i, st := range got {
					e := batch[i]
					switch st {
					case dedupe.Duplicate:
						if committed[e] == 0 {
							t.Errorf("worker %d: event %d answered duplicate, but no batch committed it", w, e)
						}
						duplicates++
						delete(todo, e) // skipped: finished
					case dedupe.Busy:
						busy++
					case dedupe.Claimed:
						if by := crashedBy[e]; by != 0 && by != w+1 {
							takenAfterCrash++
						}
						crashedBy[e] = 0
						held = append(held, claims[i])
						if rng.IntN(5) == 0 {
							release = append(release, claims[i]) // to a retry topic
						} else {
							done = append(done, claims[i])
							doneEvents = append(doneEvents, e)
						}
					}
				}
				mu.Unlock()
				if len(held) == 0 {
					continue
				}
				batches++
				switch n := rng.IntN(10); {
				case w < crashy && batches == 3:
					// Crashes: its claims wait for the lease.
					mu.Lock()
					for _, c := range held {
						var e int
						if _, err := fmt.Sscanf(c.EventID, "e-%d", &e); err != nil {
							t.Error(err)
						}
						crashedBy[e] = w + 1
					}
					mu.Unlock()
					return
				case n < 7: // commits
					mu.Lock()
					for _, e := range doneEvents {
						committed[e]++
						delete(todo, e)
						if time.Since(made) > lease/2 {
							// A batch near its lease (a slow machine) is
							// outside the store's contract: another copy
							// may take its claims over, and commit too.
							late[e] = true
						}
					}
					mu.Unlock()
					if err := s.Settle(ctx, g, "transform", release); err != nil {
						t.Error(err)
						return
					}
				default: // aborts
					if err := s.Release(ctx, g, held); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for e, n := range committed {
		if n > 1 && !late[e] {
			t.Errorf("event %d: %d batches committed an output of it, want at most 1", e, n)
		}
	}
	for w := crashy; w < workers; w++ {
		if unfinished[w] != 0 {
			t.Errorf("worker %d (never crashed) ended with %d records not finished", w, unfinished[w])
		}
	}
	t.Logf("%d duplicates, %d busy, %d claims taken over after a crash", duplicates, busy, takenAfterCrash)
	if duplicates == 0 || busy == 0 || takenAfterCrash == 0 {
		t.Errorf("the run did not meet every case: %d duplicates, %d busy, %d taken over after a crash", duplicates, busy, takenAfterCrash)
	}
}
