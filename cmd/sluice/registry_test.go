package main

import (
	"context"
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
	reg := startRole(t, env, "registry", "--addr", addr, "--ops-addr", ops, "--log-level", "warn")
	waitReady(t, ops)
	cl, err := sr.NewClient(sr.URLs("http://" + addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateSchema(context.Background(), "orders-value", sr.Schema{Schema: `{"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}`}); err != nil {
		t.Fatal(err)
	}
	reg.stop(t)
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
