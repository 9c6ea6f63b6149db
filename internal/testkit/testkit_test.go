package testkit

import (
	"context"
	"errors"
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
