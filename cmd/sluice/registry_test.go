package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestRegistryCommand runs sluice registry in a namespace, registers a
// schema through its API, and checks that the schema is stored in the
// namespace's storage topic, written with the namespace's transactional
// id, and that the default storage topic did not move.
func TestRegistryCommand(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	ns, err := kafka.ParseNamespace(testkit.Name(t, "ns"))
	if err != nil {
		t.Fatal(err)
	}
	outside := untouched(t, k, []string{kafka.SchemasTopic})
	addr, ops := freeAddr(t), freeAddr(t)
	env := map[string]string{"KAFKA_BROKERS": strings.Join(k.Brokers, ","), "SLUICE_NAMESPACE": string(ns)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	root := newRootCmd(func(key string) string { return env[key] })
	root.SetArgs([]string{"registry", "--addr", addr, "--ops-addr", ops, "--log-level", "warn"})
	root.SetOut(out)
	root.SetErr(out)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	cl, err := sr.NewClient(sr.URLs("http://" + addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateSchema(ctx, "orders-value", sr.Schema{Schema: `{"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}`}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("registry: %v\n%s", err, out)
	}
	if recs := k.Records(t, ns.Name(kafka.SchemasTopic)); len(recs) == 0 {
		t.Errorf("nothing stored in %s", ns.Name(kafka.SchemasTopic))
	}
	txns, err := k.Admin(t).ListTransactions(testkit.Context(t, 30*time.Second), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id := ns.Name("sluice-registry-" + kafka.SchemasTopic); !slices.Contains(txns.TransactionalIDs(), id) {
		t.Errorf("the broker lists no transactional id %s", id)
	}
	outside()
}
