package testkit

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Python returns the Python interpreter in SLUICE_PYTHON, whose
// environment holds the third-party clients the interoperability tests
// check sluice with (Confluent's client and serializers, the Standard
// Webhooks library; deploy/local/clients.sh installs them, and CI does).
// It skips t, saying so, when SLUICE_PYTHON is unset.
func Python(t testing.TB) string {
	t.Helper()
	py := os.Getenv("SLUICE_PYTHON")
	if py == "" {
		t.Skip("SLUICE_PYTHON is unset: no third-party clients to check with (deploy/local/clients.sh install, then eval \"$(deploy/local/clients.sh env)\")")
	}
	return py
}

// RunClient runs script, a program of internal/testkit/clients, with the
// interpreter of Python and args, stdin on its standard input (none when
// nil), and returns what it wrote to stdout. It fails t when the script
// fails or takes longer than timeout, with what the script wrote to
// stderr.
func RunClient(t testing.TB, timeout time.Duration, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	py := Python(t)
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testkit: cannot find the clients directory")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join(filepath.Dir(self), "clients", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("testkit: %s: %v\n%s", script, err, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Logf("%s wrote to stderr:\n%s", script, stderr.Bytes())
	}
	return stdout.Bytes()
}
