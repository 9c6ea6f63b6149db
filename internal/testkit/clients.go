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

// KafkaTool runs one of Kafka's own command-line tools (name is one of
// deploy/local/kafka.sh's: consumer-groups, console-consumer, topics)
// with --bootstrap-server set to KAFKA_BROKERS and args, and returns what
// it wrote to stdout. It skips t without a real broker (KAFKA_BROKERS) or
// without the tools (deploy/local/kafka.sh start installs them), and
// fails t when the tool fails.
func KafkaTool(t testing.TB, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		t.Skip("KAFKA_BROKERS is unset: Kafka's own tools need a real broker")
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testkit: cannot find deploy/local")
	}
	script := filepath.Join(filepath.Dir(self), "..", "..", "deploy", "local", "kafka.sh")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, append([]string{"tool", name, "--bootstrap-server", brokers}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if bytes.Contains(stderr.Bytes(), []byte("is not installed yet")) {
			t.Skipf("Kafka's tools are not installed here: %s", bytes.TrimSpace(stderr.Bytes()))
		}
		t.Fatalf("testkit: kafka-%s: %v\n%s", name, err, stderr.Bytes())
	}
	return stdout.String()
}
