package tenant

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/internal/config"
)

func TestKey(t *testing.T) {
	plain := &config.Tenant{ID: "acme"}
	custom := &config.Tenant{ID: "acme", PartitionKey: "p-acme"}
	hot := &config.Tenant{ID: "acme", HotSubKeys: 8}
	if got := string(Key(plain, "e1")); got != "acme" {
		t.Errorf("plain key = %q", got)
	}
	if got := string(Key(custom, "e1")); got != "p-acme" {
		t.Errorf("custom key = %q", got)
	}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		e := fmt.Sprintf("entity-%d", i)
		k := string(Key(hot, e))
		if k != string(Key(hot, e)) {
			t.Fatalf("key of %s is not stable", e)
		}
		seen[k] = true
	}
	if len(seen) != 8 {
		t.Errorf("hot tenant spread over %d keys, want 8", len(seen))
	}
}

func TestResolve(t *testing.T) {
	off := false
	d := New(&config.Catalog{Tenants: []config.Tenant{{ID: "a"}, {ID: "b", Enabled: &off}}})
	if _, err := d.Resolve("a"); err != nil {
		t.Errorf("a: %v", err)
	}
	if _, err := d.Resolve("b"); !errors.Is(err, ErrDisabled) {
		t.Errorf("b: %v, want ErrDisabled", err)
	}
	if _, err := d.Resolve("c"); !errors.Is(err, ErrUnknown) {
		t.Errorf("c: %v, want ErrUnknown", err)
	}
}
