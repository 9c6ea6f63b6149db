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
// records: its committed offsets step over the commit markers),
// kafka-console-consumer prints a dead letter's headers as readable text,
// and kafka-transactions shows the stage's transactional id committed,
// with no transaction of its producer left open on any output partition.
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
	rn := e.runner(t, h)
	stagetest.Start(t, rn)
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
	t.Run("transactions shows nothing left open", func(t *testing.T) {
		out := testkit.KafkaTool(t, time.Minute, "transactions", "describe", "--transactional-id", rn.TransactionalID())
		// CoordinatorId TransactionalId ProducerId ProducerEpoch
		// TransactionState TransactionTimeoutMs ... TopicPartitions
		var producer, state string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 5 && f[1] == rn.TransactionalID() {
				producer, state = f[2], f[4]
			}
		}
		if state != "CompleteCommit" {
			t.Fatalf("the stage's transactional id is in state %q, want CompleteCommit:\n%s", state, out)
		}
		// openSince returns, per producer id, where the transaction open
		// on topic/partition started ("" when none is open), as
		// describe-producers prints it: ProducerId ProducerEpoch
		// LatestCoordinatorEpoch LastSequence LastTimestamp
		// CurrentTransactionStartOffset ("None" or -1 when none).
		openSince := func(topic string, partition int32) map[string]string {
			out := testkit.KafkaTool(t, time.Minute, "transactions", "describe-producers", "--topic", topic, "--partition", fmt.Sprint(partition))
			m := map[string]string{}
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				if len(f) < 6 || f[0] == "ProducerId" {
					continue
				}
				m[f[0]] = ""
				if f[5] != "None" && f[5] != "-1" {
					m[f[0]] = f[5]
				}
			}
			return m
		}
		// A control: a transaction left open is seen as open.
		other := e.k.Client(t, kgo.TransactionalID(testkit.Name(t, "open")), kgo.DefaultProduceTopic(e.out), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err := other.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := other.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte("open")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = other.AbortBufferedRecords(ctx); _ = other.EndTransaction(ctx, kgo.TryAbort) })
		id, _, err := other.ProducerID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if since := openSince(e.out, 0)[fmt.Sprint(id)]; since == "" {
			t.Fatalf("kafka-transactions shows no open transaction of producer %d, which left one open", id)
		}

		ends, err := e.k.Admin(t).ListEndOffsets(ctx, e.out, dlq)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset == 0 {
				return
			}
			since, ok := openSince(o.Topic, o.Partition)[producer]
			if !ok {
				return
			}
			seen++
			if since != "" {
				t.Errorf("%s/%d: the stage's producer %s has a transaction open since offset %s", o.Topic, o.Partition, producer, since)
			}
		})
		if seen == 0 {
			t.Errorf("kafka-transactions showed the stage's producer %s on no output partition", producer)
		}
	})
}
