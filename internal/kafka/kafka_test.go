package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

func TestEnsureTopicsCreatesOnceAndKeepsExisting(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	ctx := testkit.Context(t, 30*time.Second)
	adm := k.Admin(t)
	plain := testkit.Name(t, "plain")
	compacted := testkit.Name(t, "compacted")
	specs := []TopicSpec{{Name: plain, Partitions: 3}, {Name: compacted, Partitions: 1, Configs: Compacted()}}
	for i := 0; i < 2; i++ {
		if err := EnsureTopics(ctx, adm, specs...); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		// Created topics are led by the time EnsureTopics returns.
		md, err := adm.Metadata(ctx, plain, compacted)
		if err != nil {
			t.Fatal(err)
		}
		if !led(md, []string{plain, compacted}) {
			t.Fatalf("round %d: a created topic has no leader yet: %+v", i, md.Topics)
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
	SetHeader(r, HeaderAttempts, "1")
	SetHeader(r, HeaderTenantID, "acme")
	SetHeader(r, HeaderAttempts, "2")
	if len(r.Headers) != 2 {
		t.Fatalf("SetHeader added a duplicate: %v", r.Headers)
	}
	if got := Header(r, HeaderTenantID); got != "acme" {
		t.Errorf("tenant = %q", got)
	}
	if got := HeaderInt(r, HeaderAttempts, 0); got != 2 {
		t.Errorf("attempts = %d", got)
	}
	if got := HeaderInt(r, HeaderEventID, 7); got != 7 {
		t.Errorf("missing header default = %d", got)
	}
	out := &kgo.Record{}
	SetHeaderBytes(out, HeaderTenantID, HeaderBytes(r, HeaderTenantID))
	SetHeaderBytes(out, HeaderTenantID, HeaderBytes(r, HeaderTenantID))
	if len(out.Headers) != 1 || Header(out, HeaderTenantID) != "acme" {
		t.Errorf("passed on: %v", out.Headers)
	}
	if HeaderBytes(r, HeaderTraceParent) != nil {
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
	c := ConfigFromEnv(func(k string) string { return env[k] })
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
	if _, err := (Config{}).Opts(); err != ErrNoBrokers {
		t.Errorf("no brokers: %v", err)
	}
}

func TestTopicNames(t *testing.T) {
	for got, want := range map[string]string{
		InTopic("crm"):                             "sluice.in.crm",
		InvalidTopic("crm"):                        "sluice.in.crm.invalid",
		CanonicalTopic("contact"):                  "sluice.canonical.contact",
		CanonicalLaneTopic("order", "batch"):       "sluice.canonical.order.batch",
		CanonicalLaneTopic("order", "interactive"): "sluice.canonical.order",
		RetryTopic("transform", 2):                 "sluice.retry.transform.2",
		DLQTopic("deliver.webhook"):                "sluice.dlq.deliver.webhook",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
