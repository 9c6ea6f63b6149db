package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testkit"
)

// role is a sluice command a test runs in the background.
type role struct {
	out    *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

// startRole runs sluice with args, reading its environment from env, until
// stop (or the test's end).
func startRole(t *testing.T, env map[string]string, args ...string) *role {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &role{out: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	root := newRootCmd(func(key string) string { return env[key] })
	root.SetArgs(args)
	root.SetOut(r.out)
	root.SetErr(r.out)
	go func() { r.done <- root.ExecuteContext(ctx) }()
	t.Cleanup(cancel)
	return r
}

// stop stops the role and fails t unless it stops cleanly within 30 s.
func (r *role) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("stopped with %v\n%s", err, r.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("did not stop\n%s", r.out)
	}
}

// waitReady waits until the ops server at addr answers /readyz with 200.
func waitReady(t *testing.T, addr string) {
	t.Helper()
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
}

// readyChecks returns the checks /readyz of the ops server at addr
// answers, by name.
func readyChecks(t *testing.T, addr string) map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("readyz: %v", err)
	}
	return body.Checks
}
