package stage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestKafkaToolsSeeTheStage looks at a stage with Kafka's own tools, as an
// operator does: kafka-consumer-groups shows the stage's group caught up
// (no lag on any partition of its transactional input that holds
// records: its committed offsets step over the commit markers), and
// kafka-console-consumer prints a dead letter's headers as readable text.
// Needs a real broker with the tools (deploy/local/kafka.sh; CI has them).
func TestKafkaToolsSeeTheStage(t *testing.T) {
	t.Parallel()
	testkit.RealBroker(t)
	e := newEnv(t, 3)
	ctx := testkit.Context(t, 2*time.Minute)
	const n, bad = 30, 7
	recs := inputs(n, "acme", "globex", "initech")
	p := e.k.Client(t, kgo.TransactionalID(testkit.Name(t, "txn")), kgo.DefaultProduceTopic(e.in))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	badValue := fmt.Sprintf("v-%d", bad)
	h := stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			if string(r.Raw.Value) == badValue {
				r.Fail(stage.Poison(fmt.Errorf("field email: expected a string, got 42")))
				continue
			}
			r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
		}
		return nil
	})
	stagetest.Start(t, e.runner(t, h))
	stagetest.WaitRecords(t, e.k, e.out, n-1, time.Minute)
	dlq := kafka.DLQTopic(e.name)
	stagetest.WaitRecords(t, e.k, dlq, 1, 30*time.Second)

	t.Run("consumer-groups shows no lag", func(t *testing.T) {
		// The partitions that hold records (and so a commit marker); an
		// empty one has no offset to commit.
		ends, err := e.k.Admin(t).ListEndOffsets(ctx, e.in)
		if err != nil {
			t.Fatal(err)
		}
		var used []int32
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset > 0 {
				used = append(used, o.Partition)
			}
		})
		if len(used) < 2 {
			t.Fatalf("the input went to partitions %v; want several", used)
		}
		testkit.CheckFor(t, 60*time.Second, 500*time.Millisecond, func() error {
			out := testkit.KafkaTool(t, time.Minute, "consumer-groups", "--describe", "--group", e.name)
			lags := map[string]string{}
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				// GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
				if len(f) >= 6 && f[0] == e.name && f[1] == e.in {
					lags[f[2]] = f[5]
				}
			}
			for _, part := range used {
				if lag := lags[fmt.Sprint(part)]; lag != "0" {
					return fmt.Errorf("partition %d: lag %q, want 0\n%s", part, lag, out)
				}
			}
			return nil
		})
	})
	t.Run("console-consumer prints the dead letter's headers", func(t *testing.T) {
		out := testkit.KafkaTool(t, time.Minute, "console-consumer",
			"--topic", dlq, "--from-beginning", "--max-messages", "1", "--timeout-ms", "30000",
			"--isolation-level", "read_committed", "--group", testkit.Name(t, "console"),
			"--formatter-property", "print.headers=true", "--formatter-property", "print.value=true")
		in := find(t, e.k.Records(t, e.in), badValue)
		for _, want := range []string{
			kafka.HeaderErrorStage + ":" + e.name,
			kafka.HeaderErrorClass + ":poison",
			kafka.HeaderErrorMessage + ":field email: expected a string, got 42",
			kafka.HeaderOriginalTopic + ":" + e.in,
			kafka.HeaderOriginalPartition + ":" + fmt.Sprint(in.Partition),
			kafka.HeaderOriginalOffset + ":" + fmt.Sprint(in.Offset),
			kafka.HeaderAttempts + ":1",
			kafka.HeaderTenantID + ":" + kafka.Header(in, kafka.HeaderTenantID),
			badValue,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("kafka-console-consumer printed no %q:\n%s", want, out)
			}
		}
	})
}
