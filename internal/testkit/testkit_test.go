package testkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLinkCutsKafka(t *testing.T) {
	t.Parallel()
	k := NewKafka(t)
	topic := k.Topic(t, 1)
	link := NewLink()
	cl := k.Client(t, kgo.Dialer(link.Dial), kgo.DefaultProduceTopic(topic))

	ctx := Context(t, 60*time.Second)
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
		t.Fatalf("produce before cut: %v", err)
	}
	link.Cut()
	// While the link is cut the record cannot reach the broker; the
	// idempotent producer keeps it until it can.
	done := make(chan error, 1)
	cl.Produce(ctx, &kgo.Record{Value: []byte("during")}, func(_ *kgo.Record, err error) { done <- err })
	select {
	case err := <-done:
		t.Fatalf("produce finished through a cut link: %v", err)
	case <-time.After(2 * time.Second):
	}
	link.Restore()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("produce after restore: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("produce did not finish after the link was restored")
	}
	recs := k.Records(t, topic)
	if len(recs) != 2 || string(recs[0].Value) != "before" || string(recs[1].Value) != "during" {
		t.Fatalf("want [before during], got %d records", len(recs))
	}
}

func TestCheckForReturnsOnSuccess(t *testing.T) {
	n := 0
	CheckFor(t, time.Second, time.Millisecond, func() error {
		n++
		if n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Fatalf("fn called %d times, want 3", n)
	}
}

func TestNameIsUniqueAndSafe(t *testing.T) {
	a, b := Name(t, "x"), Name(t, "x")
	if a == b {
		t.Fatalf("two names are equal: %s", a)
	}
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			t.Fatalf("unsafe rune %q in %s", r, a)
		}
	}
}

func TestRedisPrefixFlush(t *testing.T) {
	t.Parallel()
	r := NewRedis(t)
	ctx := Context(t, 10*time.Second)
	other := Name(t, "other") + ":k"
	r.Client.Set(ctx, r.Prefix+"a", "1", time.Minute)
	r.Client.Set(ctx, other, "1", time.Minute)
	t.Cleanup(func() { r.Client.Del(context.Background(), other) })
	r.Flush(t)
	if n := r.Client.Exists(ctx, r.Prefix+"a").Val(); n != 0 {
		t.Errorf("key under the prefix survived Flush")
	}
	if n := r.Client.Exists(ctx, other).Val(); n != 1 {
		t.Errorf("Flush removed a key outside the prefix")
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	pool := Postgres(t)
	ctx := Context(t, 10*time.Second)
	var version string
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version == "" {
		t.Fatal("empty server version")
	}
	t.Logf("postgres %s", version)
}

func TestHoldsToken(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"st.TestX.0a1b2c3d", true},
		{"st.TestX.0a1b2c3d.retry.1", true},
		{"sluice.in.crm-0a1b2c3d-0", true},
		{"0a1b2c3d", true},
		{"st.TestX.f0a1b2c3d", false},
		{"st.TestX.0a1b2c3de.in", false},
		{"st.TestX.0a1b2c3e", false},
	} {
		if got := holdsToken(c.name, "0a1b2c3d"); got != c.want {
			t.Errorf("holdsToken(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

// A passing test's named topics and groups leave the shared broker with it.
func TestNamedTopicsAndGroupsGoWithTheTest(t *testing.T) {
	t.Parallel()
	k := NewKafka(t)
	if !k.Real() {
		t.Skip("an embedded cluster ends with its test; nothing to delete (set KAFKA_BROKERS)")
	}
	var topic, group string
	t.Run("user", func(t *testing.T) {
		topic = k.Topic(t, 1)
		group = Name(t, "group")
		ctx := Context(t, 60*time.Second)
		p := k.Client(t, kgo.DefaultProduceTopic(topic))
		if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		c := k.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if fs := c.PollFetches(ctx); fs.NumRecords() != 1 {
			t.Fatalf("poll: %d records, errors %v", fs.NumRecords(), fs.Errors())
		}
		if err := c.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
		groups, err := k.Admin(t).ListGroups(ctx)
		if err != nil || !slices.Contains(groups.Groups(), group) {
			t.Fatalf("group %s not listed while in use (err %v)", group, err)
		}
	})
	adm := k.Admin(t)
	ctx := Context(t, 60*time.Second)
	CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		if topics.Has(topic) {
			return fmt.Errorf("topic %s still there", topic)
		}
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			return err
		}
		if slices.Contains(groups.Groups(), group) {
			return fmt.Errorf("group %s still there", group)
		}
		return nil
	})
}

// The slot of the Redis Cluster specification's example key, and hash
// tags as the specification reads them.
func TestRedisSlot(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]uint16{
		"123456789":         12739,
		"{123456789}:x":     12739,
		"a{123456789}b{c}d": 12739,
	} {
		if got := RedisSlot(key); got != want {
			t.Errorf("RedisSlot(%q) = %d, want %d", key, got, want)
		}
	}
	if RedisSlot("{}123456789") == 12739 {
		t.Error("an empty hash tag was taken for the key")
	}
}
