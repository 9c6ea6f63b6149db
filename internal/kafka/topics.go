package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
	// Replication factor; -1 (the default) leaves it to the broker.
	Replication int16
	// Configs are topic configs such as cleanup.policy.
	Configs map[string]*string
}

// Compacted is the config of a compacted topic.
func Compacted() map[string]*string {
	c := "compact"
	return map[string]*string{"cleanup.policy": &c}
}

// EnsureTopics creates the topics that do not exist yet. Topics that exist
// are left as they are, whatever their partition count. It returns once
// the cluster's metadata shows every topic it created with a leader for
// each partition, so that a client started next does not meet an unknown
// topic and wait out its metadata refresh interval (5 s by default in
// franz-go) before its first produce.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs ...TopicSpec) error {
	var created []string
	for _, s := range specs {
		p := s.Partitions
		if p == 0 {
			p = 6
		}
		r := s.Replication
		if r == 0 {
			r = -1
		}
		resp, err := adm.CreateTopic(ctx, p, r, s.Configs, s.Name)
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
	return AwaitLeaders(ctx, adm, created...)
}

// AwaitLeaders waits until the metadata shows each topic with a leader
// for every partition, or ctx ends.
func AwaitLeaders(ctx context.Context, adm *kadm.Client, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	wait := 10 * time.Millisecond
	for {
		md, err := adm.Metadata(ctx, topics...)
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
