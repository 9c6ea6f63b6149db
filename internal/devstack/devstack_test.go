package devstack

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	k, err := StartKafka(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.DefaultProduceTopic("persisted"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "persisted"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("kept")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := kadm.NewClient(cl).CommitAllOffsets(ctx, "g", kadm.OffsetsFromRecords(kgo.Record{Topic: "persisted", Partition: 0, Offset: 0})); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	k.Close()

	k, err = StartKafka(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	cl, err = kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.ConsumeTopics("persisted"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fs := cl.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "kept" {
		t.Fatalf("after restart got %d records", len(recs))
	}
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup("persisted", 0); !ok || o.At != 1 {
		t.Fatalf("committed offset after restart = %+v, want 1", o)
	}
}

func TestKafkaFallsBackWhenPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	k, err := StartKafka("", port)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if !k.Fallback || k.Addr == ln.Addr().String() {
		t.Fatalf("want a fallback port, got %s (fallback %v)", k.Addr, k.Fallback)
	}
}

func TestListenFallback(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, _, err := Listen(taken.Addr().String(), false); err == nil {
		t.Fatal("want an error without fallback")
	}
	ln, moved, err := Listen(taken.Addr().String(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !moved || ln.Addr().String() == taken.Addr().String() {
		t.Fatalf("want another port, got %s moved=%v", ln.Addr(), moved)
	}
}
