package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// testNamespace returns a namespace unique to t for a role run by the
// test: r.Prefix without its colon, so the role's default Redis prefix
// ("<ns>:sluice:") is under r.Prefix and goes with r's clean-up, and its
// Kafka names hold a testkit token and go at the test's end.
func testNamespace(t *testing.T, r *testkit.Redis) kafka.Namespace {
	t.Helper()
	ns, err := kafka.ParseNamespace(strings.TrimSuffix(r.Prefix, ":"))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// defaultTopics are the topics sluice writes outside any namespace, for a
// stage called stage and an integration: the in-topics, canonical,
// identity, attempts and schema topics, and the stage's retry and
// dead-letter topics.
func defaultTopics(stage, integration string) []string {
	ts := []string{kafka.InTopic(integration), kafka.InvalidTopic(integration), kafka.IdentityTopic,
		kafka.DeliveryAttemptsTopic, kafka.SchemasTopic, kafka.DLQTopic(stage), kafka.RetryTopic(stage, 1)}
	for _, obj := range config.CanonicalObjects() {
		ts = append(ts, kafka.CanonicalTopic(obj), kafka.CanonicalBatchTopic(obj))
	}
	return ts
}

// endOffsets sums the end offsets of each of topics; a topic that does not
// exist counts 0.
func endOffsets(t *testing.T, adm *kadm.Client, topics []string) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			sums[o.Topic] += o.Offset
		}
	})
	return sums
}

// untouched returns a check that no topic of topics grew from now on: a
// role run in a namespace writes nothing outside it. Nothing else writes
// those topics during the tests (they all run in namespaces of their own
// or name their topics), so a record there is the role's.
func untouched(t *testing.T, k *testkit.Kafka, topics []string) func() {
	t.Helper()
	before := endOffsets(t, k.Admin(t), topics)
	return func() {
		t.Helper()
		// A client of its own: one that saw a topic missing may still
		// think so.
		after := endOffsets(t, k.Admin(t), topics)
		for _, topic := range topics {
			if after[topic] != before[topic] {
				t.Errorf("%s grew from %d to %d records: a role wrote outside its namespace", topic, before[topic], after[topic])
			}
		}
	}
}

// checkGroupIn waits until the consumer group group, in ns, committed
// offsets (a role may hand on an event before its transaction commits),
// and checks that the broker lists a transactional id of the group's
// members, which all start with the group's name, and that the group
// outside the namespace committed nothing.
func checkGroupIn(t *testing.T, k *testkit.Kafka, ns kafka.Namespace, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := k.Admin(t)
	name := ns.Name(group)
	testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		offsets, err := adm.FetchOffsets(ctx, name)
		if err != nil || len(offsets) == 0 {
			return fmt.Errorf("group %s committed no offsets (%v)", name, err)
		}
		return nil
	})
	if outside, err := adm.FetchOffsets(ctx, group); err == nil && len(outside) > 0 {
		t.Errorf("group %s, outside the namespace, committed offsets", group)
	}
	txns, err := adm.ListTransactions(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for id := range txns {
		if strings.HasPrefix(id, name+"-") {
			return
		}
	}
	t.Errorf("no transactional id starting with %s- among the %d the broker lists", name, len(txns))
}

// checkRedisIn checks that the role wrote Redis keys of tenant under the
// namespace's default prefix and none under the default prefix.
func checkRedisIn(t *testing.T, r *testkit.Redis, ns kafka.Namespace, tenant string) {
	t.Helper()
	if keys := r.Keys(t, string(ns)+":sluice:*"+tenant+"*"); len(keys) == 0 {
		t.Errorf("no Redis key of %s under %s:sluice:", tenant, ns)
	}
	if keys := r.Keys(t, "sluice:*"+tenant+"*"); len(keys) > 0 {
		t.Errorf("Redis keys outside the namespace: %v", keys)
	}
}

func TestNamespaceFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"transform", "--namespace", "stag ing"}, nil, `--namespace: namespace "stag ing": character ' ' at 4`},
		{[]string{"deliver"}, map[string]string{"SLUICE_NAMESPACE": ".staging"}, `--namespace: namespace ".staging": starts or ends with '.'`},
	} {
		root := newRootCmd(func(key string) string { return tc.env[key] })
		root.SetArgs(tc.args)
		out := &lockedBuffer{}
		root.SetOut(out)
		root.SetErr(out)
		err := root.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v with %v: %v, want an error saying %s", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestRedisPrefixInANamespace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ns      kafka.Namespace
		env     map[string]string
		flagged bool
		want    string
	}{
		{"", nil, false, "sluice:"},
		{"staging", nil, false, "staging:sluice:"},
		{"staging", map[string]string{"SLUICE_REDIS_PREFIX": "mine:"}, false, "mine:"},
		{"staging", nil, true, "mine:"},
	} {
		g := &globals{getenv: func(key string) string { return tc.env[key] }, ns: tc.ns}
		cmd := newTransformCmd(g)
		value := envOr(g.getenv, "SLUICE_REDIS_PREFIX", "sluice:")
		if tc.flagged {
			if err := cmd.Flags().Set("redis-prefix", "mine:"); err != nil {
				t.Fatal(err)
			}
			value = "mine:"
		}
		if got := g.redisPrefix(cmd, value, "sluice:"); got != tc.want {
			t.Errorf("namespace %q, env %v, flagged %v: prefix %q, want %q", tc.ns, tc.env, tc.flagged, got, tc.want)
		}
	}
	// sluice dev reads no SLUICE_REDIS_PREFIX: its prefixes are in the
	// namespace whatever that says.
	g := &globals{getenv: func(string) string { return "mine:" }, ns: "staging"}
	if got := g.nsPrefix("sluice:"); got != "staging:sluice:" {
		t.Errorf("sluice dev's prefix in namespace staging: %q", got)
	}
}

// recordsOf returns how many records of topic carry tenant.
func recordsOf(t *testing.T, k *testkit.Kafka, topic, tenant string) int {
	t.Helper()
	n := 0
	for _, r := range k.Records(t, topic) {
		if kafka.Header(r, kafka.HeaderTenantID) == tenant {
			n++
		}
	}
	return n
}
