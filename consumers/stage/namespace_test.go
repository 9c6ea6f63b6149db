package stage_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestNamespaceHoldsEveryName runs a stage in a namespace, with a record
// that is retried once and one that fails for good, and checks that every
// Kafka name the runner derives is in the namespace: the retry and
// dead-letter topics it writes, its consumer group and its transactional
// id; and that the same names outside the namespace were never created.
func TestNamespaceHoldsEveryName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	ns, err := kafka.ParseNamespace(testkit.Name(t, "ns"))
	if err != nil {
		t.Fatal(err)
	}
	stagetest.Produce(t, e.k, e.in, inputs(3, "acme")...)
	h := stage.HandlerFunc(func(_ context.Context, b *stage.Batch) error {
		for _, r := range b.Records {
			switch {
			case string(r.Raw.Value) == "v-1" && r.Attempt == 1:
				r.Fail(errors.New("upstream 503"))
			case string(r.Raw.Value) == "v-2":
				r.Fail(stage.Permanent(errors.New("no mapping")))
			default:
				r.Emit(&kgo.Record{Topic: e.out, Key: r.Raw.Key, Value: r.Raw.Value})
			}
		}
		return nil
	})
	kc := stagetest.Config(e.k)
	kc.Namespace = ns
	r, err := stage.New(e.name, kc, h,
		stage.Consume(e.in),
		stage.Logger(testkit.Logger(t)),
		stage.RetryDelays(200*time.Millisecond),
		stage.TransactionTimeout(10*time.Second),
		stage.ShutdownTimeout(5*time.Second),
		stage.KafkaOpts(kgo.FetchMaxWait(100*time.Millisecond)),
	)
	if err != nil {
		t.Fatal(err)
	}
	retry, dlq := ns.Name(kafka.RetryTopic(e.name, 1)), ns.Name(kafka.DLQTopic(e.name))
	if got, want := strings.Join(r.Topics(), ","), e.in+","+retry; got != want {
		t.Errorf("topics %s, want %s", got, want)
	}
	group := ns.Name("sluice-" + e.name)
	if r.Group() != group || !strings.HasPrefix(r.TransactionalID(), group+"-") {
		t.Errorf("group %s, transactional id %s: want both in %s", r.Group(), r.TransactionalID(), group)
	}
	stagetest.Start(t, r)
	outs := stagetest.WaitRecords(t, e.k, e.out, 2, time.Minute)
	if err := exactlyOnce(outs, 2); err != nil {
		t.Fatal(err)
	}
	if got := stagetest.WaitRecords(t, e.k, retry, 1, 30*time.Second); len(got) != 1 || string(got[0].Value) != "v-1" {
		t.Errorf("%s holds %d records, want v-1 once", retry, len(got))
	}
	if got := stagetest.WaitRecords(t, e.k, dlq, 1, 30*time.Second); len(got) != 1 || string(got[0].Value) != "v-2" {
		t.Errorf("%s holds %d records, want v-2 once", dlq, len(got))
	}

	ctx := testkit.Context(t, 30*time.Second)
	adm := e.k.Admin(t)
	outside := []string{kafka.RetryTopic(e.name, 1), kafka.DLQTopic(e.name)}
	details, err := adm.ListTopics(ctx, outside...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range outside {
		if d, ok := details[name]; ok && d.Err == nil {
			t.Errorf("%s exists: the runner wrote outside its namespace", name)
		}
	}
	groups, err := adm.DescribeGroups(ctx, group, "sluice-"+e.name)
	if err != nil {
		t.Fatal(err)
	}
	if g := groups[group]; g.Err != nil || len(g.Members) != 1 {
		t.Errorf("group %s: %d members, %v; want the runner", group, len(g.Members), g.Err)
	}
	if g := groups["sluice-"+e.name]; g.Err == nil && g.State != "Dead" {
		t.Errorf("group %s outside the namespace is %s", "sluice-"+e.name, g.State)
	}
	txns, err := adm.ListTransactions(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := txns[r.TransactionalID()]; !ok {
		t.Errorf("transactional id %s not listed by the broker (%d listed)", r.TransactionalID(), len(txns))
	}
}
