package kafka_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

func TestEnsureTopicsCreatesOnceAndKeepsExisting(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	ctx := testkit.Context(t, 30*time.Second)
	adm := k.Admin(t)
	plain := testkit.Name(t, "plain")
	compacted := testkit.Name(t, "compacted")
	specs := []kafka.TopicSpec{{Name: plain, Partitions: 3}, {Name: compacted, Partitions: 1, Configs: kafka.Compacted()}}
	for i := 0; i < 2; i++ {
		if err := kafka.EnsureTopics(ctx, adm, specs...); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		// Created topics are led by the time kafka.EnsureTopics returns.
		md, err := adm.Metadata(ctx, plain, compacted)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{plain, compacted} {
			td := md.Topics[name]
			if td.Err != nil || len(td.Partitions) == 0 {
				t.Fatalf("round %d: %s is not in the metadata yet: %v", i, name, td.Err)
			}
			for _, p := range td.Partitions {
				if p.Err != nil || p.Leader < 0 {
					t.Fatalf("round %d: %s partition %d has no leader yet", i, name, p.Partition)
				}
			}
		}
	}
	details, err := adm.ListTopics(ctx, plain, compacted)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(details[plain].Partitions); n != 3 {
		t.Errorf("%s has %d partitions, want 3", plain, n)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, compacted)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfgs.On(compacted, nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := ""
	for _, kv := range c.Configs {
		if kv.Key == "cleanup.policy" && kv.Value != nil {
			policy = *kv.Value
		}
	}
	if policy != "compact" {
		t.Errorf("cleanup.policy of %s = %q, want compact", compacted, policy)
	}
}

func TestHeaders(t *testing.T) {
	r := &kgo.Record{}
	kafka.SetHeader(r, kafka.HeaderAttempts, "1")
	kafka.SetHeader(r, kafka.HeaderTenantID, "acme")
	kafka.SetHeader(r, kafka.HeaderAttempts, "2")
	if len(r.Headers) != 2 {
		t.Fatalf("kafka.SetHeader added a duplicate: %v", r.Headers)
	}
	if got := kafka.Header(r, kafka.HeaderTenantID); got != "acme" {
		t.Errorf("tenant = %q", got)
	}
	if got := kafka.HeaderInt(r, kafka.HeaderAttempts, 0); got != 2 {
		t.Errorf("attempts = %d", got)
	}
	if got := kafka.HeaderInt(r, kafka.HeaderEventID, 7); got != 7 {
		t.Errorf("missing header default = %d", got)
	}
	out := &kgo.Record{}
	kafka.SetHeaderBytes(out, kafka.HeaderTenantID, kafka.HeaderBytes(r, kafka.HeaderTenantID))
	kafka.SetHeaderBytes(out, kafka.HeaderTenantID, kafka.HeaderBytes(r, kafka.HeaderTenantID))
	if len(out.Headers) != 1 || kafka.Header(out, kafka.HeaderTenantID) != "acme" {
		t.Errorf("passed on: %v", out.Headers)
	}
	if kafka.HeaderBytes(r, kafka.HeaderTraceParent) != nil {
		t.Errorf("a missing header's bytes are not nil")
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"KAFKA_BROKERS":        " a:9092, b:9092 ,",
		"KAFKA_SASL_MECHANISM": "scram-sha-512",
		"KAFKA_SASL_USERNAME":  "u",
		"KAFKA_SASL_PASSWORD":  "p",
	}
	c := kafka.ConfigFromEnv(func(k string) string { return env[k] })
	if strings.Join(c.Brokers, ",") != "a:9092,b:9092" || c.SASLMechanism != "SCRAM-SHA-512" {
		t.Fatalf("config = %+v", c)
	}
	if _, err := c.Opts(); err != nil {
		t.Fatal(err)
	}
	c.SASLMechanism = "GSSAPI"
	if _, err := c.Opts(); err == nil || !strings.Contains(err.Error(), "GSSAPI") {
		t.Errorf("unknown mechanism: %v", err)
	}
	if _, err := (kafka.Config{}).Opts(); err != kafka.ErrNoBrokers {
		t.Errorf("no brokers: %v", err)
	}
}

func TestTopicNames(t *testing.T) {
	for got, want := range map[string]string{
		kafka.InTopic("crm"):                             "sluice.in.crm",
		kafka.InvalidTopic("crm"):                        "sluice.in.crm.invalid",
		kafka.CanonicalTopic("contact"):                  "sluice.canonical.contact",
		kafka.CanonicalLaneTopic("order", "batch"):       "sluice.canonical.order.batch",
		kafka.CanonicalLaneTopic("order", "interactive"): "sluice.canonical.order",
		kafka.RetryTopic("transform", 2):                 "sluice.retry.transform.2",
		kafka.DLQTopic("deliver.webhook"):                "sluice.dlq.deliver.webhook",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// createRequests counts the CreateTopics requests a client writes.
type createRequests struct{ n atomic.Int32 }

func (c *createRequests) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, _ error) {
	if key == (&kmsg.CreateTopicsRequest{}).Key() {
		c.n.Add(1)
	}
}

// TestEnsureTopicsCreatesOnlyWhatIsMissing checks that topics made
// beforehand cost no create request, which a user allowed to write but
// not to create would be refused; and that one made without compaction
// where sluice needs it is refused, naming the fix.
func TestEnsureTopicsCreatesOnlyWhatIsMissing(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	ctx := testkit.Context(t, 30*time.Second)
	made, deleting := testkit.Name(t, "made"), testkit.Name(t, "deleting")
	k.CreateTopic(t, made, 2, nil)
	k.CreateTopic(t, deleting, 1, nil)
	var creates createRequests
	adm := kadm.NewClient(k.Client(t, kgo.WithHooks(&creates)))
	if err := kafka.EnsureTopics(ctx, adm, kafka.TopicSpec{Name: made, Partitions: 3}); err != nil {
		t.Fatal(err)
	}
	if n := creates.n.Load(); n != 0 {
		t.Errorf("%d create requests for a topic that exists, want none", n)
	}
	err := kafka.EnsureTopics(ctx, adm, kafka.TopicSpec{Name: deleting, Partitions: 1, Configs: kafka.Compacted()})
	if err == nil || !strings.Contains(err.Error(), "cleanup.policy=compact") {
		t.Errorf("a topic that must be compacted exists without: %v, want an error naming the fix", err)
	}
	missing := testkit.Name(t, "missing")
	if err := kafka.EnsureTopics(ctx, adm, kafka.TopicSpec{Name: made}, kafka.TopicSpec{Name: missing, Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if n := creates.n.Load(); n != 1 {
		t.Errorf("%d create requests for one missing topic, want 1", n)
	}
}

func TestDefaultReplication(t *testing.T) {
	for brokers, want := range map[int]int16{0: 1, 1: 1, 2: 2, 3: 3, 9: 3} {
		if got := kafka.DefaultReplication(brokers); got != want {
			t.Errorf("DefaultReplication(%d) = %d, want %d", brokers, got, want)
		}
	}
}
