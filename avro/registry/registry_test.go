package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/testkit"
)

// newClient returns an sr client of the registry at url.
func newClient(t testing.TB, url string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatalf("sr client: %v", err)
	}
	return cl
}

func TestRegisterAndFetch(t *testing.T) {
	t.Parallel()
	k := testkit.NewKafka(t)
	url := registrytest.Start(t, k)
	cl := newClient(t, url)
	ctx := testkit.Context(t, 30*time.Second)

	const schema = `{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}`
	id, err := cl.RegisterSchema(ctx, "a-value", sr.Schema{Schema: schema}, -1, -1)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	got, err := cl.SchemaByID(ctx, id)
	if err != nil {
		t.Fatalf("by id: %v", err)
	}
	if got.Schema != schema {
		t.Errorf("schema by id = %s, want %s", got.Schema, schema)
	}
	again, err := cl.RegisterSchema(context.Background(), "a-value", sr.Schema{Schema: " " + schema}, -1, -1)
	if err != nil || again != id {
		t.Errorf("register again = %d, %v; want %d", again, err, id)
	}
}
