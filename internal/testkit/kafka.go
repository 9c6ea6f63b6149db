package testkit

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafka"
)

// Kafka is a broker a test can use: the one named by KAFKA_BROKERS, or a
// fresh in-process kfake cluster owned by the test.
type Kafka struct {
	// Brokers are the seed addresses.
	Brokers []string
	// Cluster is the embedded cluster, nil when the broker is real.
	Cluster *kfake.Cluster
}

// Real reports whether the broker came from KAFKA_BROKERS.
func (k *Kafka) Real() bool { return k.Cluster == nil }

// NewKafka returns the broker for t. With KAFKA_BROKERS set it returns that
// broker; otherwise it starts a single-broker kfake cluster that is closed
// when t ends.
func NewKafka(t testing.TB) *Kafka {
	t.Helper()
	if env := os.Getenv("KAFKA_BROKERS"); env != "" {
		return &Kafka{Brokers: strings.Split(env, ",")}
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatalf("testkit: start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return &Kafka{Brokers: c.ListenAddrs(), Cluster: c}
}

// Client returns a client of this broker, closed when t ends. The options
// are added after the seed brokers.
func (k *Kafka) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Brokers...)}, opts...)...)
	if err != nil {
		t.Fatalf("testkit: kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns an admin client of this broker, closed when t ends.
func (k *Kafka) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(k.Client(t))
}

// CreateTopic creates a topic with the given partitions and configs and
// fails the test if it cannot.
func (k *Kafka) CreateTopic(t testing.TB, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := k.Admin(t)
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("testkit: create topic %s: %v", topic, err)
	}
	// Until the metadata shows the topic with a leader for each
	// partition, another client may not know it yet: a stage's
	// EnsureTopics would then size its retry topics by default rather
	// than by this topic.
	if err := kafka.AwaitLeaders(ctx, adm, topic); err != nil {
		t.Fatalf("testkit: %v", err)
	}
}

// Topic returns a unique topic name for t, created with the given number of
// partitions.
func (k *Kafka) Topic(t testing.TB, partitions int32) string {
	t.Helper()
	topic := Name(t, "test")
	k.CreateTopic(t, topic, partitions, nil)
	return topic
}

// Records reads every record of topic from the start up to its current end
// with a read_committed consumer and returns them in order per partition.
func (k *Kafka) Records(t testing.TB, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := k.Admin(t)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("testkit: end offsets of %s: %v", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("testkit: start offsets of %s: %v", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok && s.Offset < o.Offset {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	// Control records (transaction markers) take offsets too; keeping them
	// is what lets the loop see that a partition has been read to its end.
	cl := k.Client(t,
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	var out []*kgo.Record
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("testkit: reading %s: %v (still waiting for partitions %v)", topic, ctx.Err(), want)
		}
		fs.EachError(func(_ string, _ int32, err error) {
			t.Fatalf("testkit: reading %s: %v", topic, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset >= end-1 {
				delete(want, r.Partition)
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}

// dropKafkaNamesAtEnd deletes, when t ends, the topics and consumer groups
// of the broker in KAFKA_BROKERS whose names hold token as a whole word
// (not inside a longer run of hex digits). A failed test keeps them for
// inspection. Deleting is housekeeping: a failure is logged, not fatal.
func dropKafkaNamesAtEnd(t testing.TB, token string) {
	env := os.Getenv("KAFKA_BROKERS")
	if env == "" {
		return
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testkit: keeping the topics and groups named with %s for inspection", token)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(env, ",")...))
		if err != nil {
			t.Logf("testkit: drop topics of %s: %v", token, err)
			return
		}
		defer cl.Close()
		if err := dropNamed(ctx, kadm.NewClient(cl), token); err != nil {
			t.Logf("testkit: drop topics and groups of %s: %v", token, err)
		}
	})
}

// dropNamed deletes the topics and groups whose names hold token.
func dropNamed(ctx context.Context, adm *kadm.Client, token string) error {
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return err
	}
	if drop := holding(topics.Names(), token); len(drop) > 0 {
		resp, err := adm.DeleteTopics(ctx, drop...)
		if err != nil {
			return err
		}
		if err := resp.Error(); err != nil {
			return err
		}
	}
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		return err
	}
	drop := holding(groups.Groups(), token)
	if len(drop) == 0 {
		return nil
	}
	resp, err := adm.DeleteGroups(ctx, drop...)
	if err != nil {
		return err
	}
	return resp.Error()
}

// holding returns the names that hold token.
func holding(names []string, token string) []string {
	var out []string
	for _, name := range names {
		if holdsToken(name, token) {
			out = append(out, name)
		}
	}
	return out
}

// holdsToken reports whether token occurs in name with no hex digit right
// before or after it.
func holdsToken(name, token string) bool {
	for i := 0; ; {
		j := strings.Index(name[i:], token)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(token)
		if (start == 0 || !isHex(name[start-1])) && (end == len(name) || !isHex(name[end])) {
			return true
		}
		i = start + 1
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
