package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
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

// TestRegistryClientKeepsCredentialsOutOfErrors checks that a user and
// password in SCHEMA_REGISTRY_URL are sent as basic auth and are in no
// error the client returns: those reach logs and /readyz.
func TestRegistryClientKeepsCredentialsOutOfErrors(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		auth.Store(user + ":" + pass)
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		_, _ = w.Write([]byte(`["AVRO"]`))
	}))
	t.Cleanup(srv.Close)
	withCreds := strings.Replace(srv.URL, "http://", "http://key:s3cret@", 1)
	ctx := testkit.Context(t, 30*time.Second)
	cl, err := registryClient(func(string) string { return "" }, withCreds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SupportedTypes(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := auth.Load().(string); got != "key:s3cret" {
		t.Errorf("basic auth %q, want the URL's user and password", got)
	}
	// The environment's credentials win over the URL's.
	env := map[string]string{"SCHEMA_REGISTRY_USERNAME": "api-key", "SCHEMA_REGISTRY_PASSWORD": "api-secret"}
	cl, err = registryClient(func(k string) string { return env[k] }, withCreds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SupportedTypes(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := auth.Load().(string); got != "api-key:api-secret" {
		t.Errorf("basic auth %q, want the environment's", got)
	}
	// A registry that does not answer: the error names no secret.
	dead := freeAddr(t)
	cl, err = registryClient(func(string) string { return "" }, "http://key:s3cret@"+dead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SupportedTypes(ctx); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v: want one without the password", err)
	}
	if _, err := registryClient(func(string) string { return "" }, "http://key:s3cr%et@registry.internal"); err == nil || strings.Contains(err.Error(), "s3cr") {
		t.Errorf("an unparsable URL: %v, want an error without the password", err)
	}
}
