package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Topic names. Every topic sluice writes is named here.
const (
	// SchemasTopic stores the embedded schema registry's schemas
	// (compacted).
	SchemasTopic = "_sluice_schemas"
	// IdentityTopic is the source of truth of the identity map (compacted).
	IdentityTopic = "sluice.identity"
	// DeliveryAttemptsTopic records every delivery attempt.
	DeliveryAttemptsTopic = "sluice.delivery.attempts"
)

// InTopic is where an integration's valid events land.
func InTopic(integration string) string { return "sluice.in." + integration }

// InvalidTopic keeps an integration's events that broke their contract,
// raw, with the reason in headers.
func InvalidTopic(integration string) string { return "sluice.in." + integration + ".invalid" }

// CanonicalTopic carries the canonical events of one object type from
// interactive integrations.
func CanonicalTopic(object string) string { return "sluice.canonical." + object }

// CanonicalBatchTopic carries the canonical events of one object type from
// batch integrations (backfills, bulk syncs): a lane of its own, consumed
// by its own groups, so a backlog there never delays interactive events.
func CanonicalBatchTopic(object string) string { return "sluice.canonical." + object + ".batch" }

// CanonicalLaneTopic returns the canonical topic of object for lane
// ("interactive" or "batch").
func CanonicalLaneTopic(object, lane string) string {
	if lane == "batch" {
		return CanonicalBatchTopic(object)
	}
	return CanonicalTopic(object)
}

// RetryTopic is the n-th (1-based) delayed retry lane of a stage.
func RetryTopic(stage string, n int) string { return "sluice.retry." + stage + "." + strconv.Itoa(n) }

// DLQTopic is the dead-letter topic of a stage.
func DLQTopic(stage string) string { return "sluice.dlq." + stage }

// TopicSpec describes a topic to create.
type TopicSpec struct {
	// Name of the topic.
	Name string
	// Partitions of the topic. Default 6.
	Partitions int32
	// Replication factor. Default (0 or less) DefaultReplication of the
	// cluster's brokers.
	Replication int16
	// Configs are topic configs such as cleanup.policy.
	Configs map[string]*string
}

// Compacted is the config of a compacted topic.
func Compacted() map[string]*string {
	c := "compact"
	return map[string]*string{"cleanup.policy": &c}
}

// DefaultReplication is the replication factor of the topics sluice
// creates on a cluster of brokers brokers: 3, or all of them when fewer.
// A broker's own default (default.replication.factor) is 1 unless set,
// under which acks=all protects nothing.
func DefaultReplication(brokers int) int16 { return int16(max(1, min(3, brokers))) }

// createConfigs returns the configs a topic of replication factor r is
// created with: configs, and with three replicas or more
// min.insync.replicas 2 unless configs set it, so that a write
// acknowledged by all in-sync replicas survives the loss of one broker.
func createConfigs(configs map[string]*string, r int16) map[string]*string {
	if r < 3 || configs["min.insync.replicas"] != nil {
		return configs
	}
	out := make(map[string]*string, len(configs)+1)
	for k, v := range configs {
		out[k] = v
	}
	two := "2"
	out["min.insync.replicas"] = &two
	return out
}

// EnsureTopics creates the topics that do not exist yet. It asks the
// metadata first and creates only what it lacks: Kafka checks the
// permission to create before it checks that a topic exists, so a
// deployment whose user may write to topics made beforehand, but not
// create topics, would be refused every one. Topics that exist are left
// as they are, whatever their partition count; one the spec has
// compacted must be (see checkCompacted). It returns once the cluster's
// metadata shows every topic it created with a leader for each
// partition, so that a client started next does not meet an unknown
// topic and wait out its metadata refresh interval (5 s by default in
// franz-go) before its first produce.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs ...TopicSpec) error {
	if len(specs) == 0 {
		return nil
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	// Asked of the broker, not of the client's metadata cache: a cached
	// answer that a topic is missing would be served to AwaitLeaders
	// below for MetadataMinAge (5 s) after the topic was made.
	md, err := adm.Metadata(kadm.WithAuthorizedOps(ctx), names...)
	if err != nil {
		return fmt.Errorf("kafka: describe topics: %w", err)
	}
	var created, compacted []string
	for _, s := range specs {
		if td, ok := md.Topics[s.Name]; ok && td.Err == nil {
			if p := s.Configs["cleanup.policy"]; p != nil && *p == "compact" {
				compacted = append(compacted, s.Name)
			}
			continue
		}
		p := s.Partitions
		if p == 0 {
			p = 6
		}
		r := s.Replication
		if r <= 0 {
			r = DefaultReplication(len(md.Brokers))
		}
		resp, err := adm.CreateTopic(ctx, p, r, createConfigs(s.Configs, r), s.Name)
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			created = append(created, s.Name)
		case !errors.Is(err, kerr.TopicAlreadyExists):
			return fmt.Errorf("kafka: create topic %s: %w", s.Name, err)
		}
	}
	if err := checkCompacted(ctx, adm, compacted); err != nil {
		return err
	}
	return AwaitLeaders(ctx, adm, created...)
}

// checkCompacted refuses topics made beforehand without compaction where
// sluice needs it: their records are a source of truth (the identity
// map's), and deletion by retention would lose them. Without the right
// to describe the topics' configs it checks nothing.
func checkCompacted(ctx context.Context, adm *kadm.Client, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return fmt.Errorf("kafka: describe topic configs: %w", err)
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			if errors.Is(rc.Err, kerr.TopicAuthorizationFailed) {
				continue
			}
			return fmt.Errorf("kafka: describe the configs of %s: %w", rc.Name, rc.Err)
		}
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" && (c.Value == nil || !strings.Contains(*c.Value, "compact")) {
				return fmt.Errorf("kafka: topic %s exists with cleanup.policy %s; sluice needs it compacted, or retention deletes its records: kafka-configs --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact",
					rc.Name, c.MaybeValue(), rc.Name)
			}
		}
	}
	return nil
}

// AwaitLeaders waits until the metadata shows each topic with a leader
// for every partition, or ctx ends.
func AwaitLeaders(ctx context.Context, adm *kadm.Client, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	wait := 10 * time.Millisecond
	for {
		// Asked of the broker each time: the client's cache may hold an
		// answer from before the topics were made (see EnsureTopics).
		md, err := adm.Metadata(kadm.WithAuthorizedOps(ctx), topics...)
		if err == nil && led(md, topics) {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("kafka: topics %v created but without leaders yet: %w", topics, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// led reports whether md shows every topic with a leader for each of
// its partitions.
func led(md kadm.Metadata, topics []string) bool {
	for _, name := range topics {
		td, ok := md.Topics[name]
		if !ok || td.Err != nil || len(td.Partitions) == 0 {
			return false
		}
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return false
			}
		}
	}
	return true
}
