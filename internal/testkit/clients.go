package testkit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Python returns the Python interpreter in SLUICE_PYTHON, whose
// environment holds the third-party clients the interoperability tests
// check sluice with (Confluent's client and serializers, the Standard
// Webhooks library, Stripe's and Slack's SDKs; deploy/local/clients.sh
// installs them, and CI does). It skips t, saying so, when SLUICE_PYTHON
// is unset.
func Python(t testing.TB) string {
	t.Helper()
	return clientsFrom(t, "SLUICE_PYTHON", "no third-party clients to check with")
}

// NodeClients returns the directory of SLUICE_NODE_CLIENTS, whose
// node_modules hold the Node.js clients the interoperability tests check
// sluice with (GitHub's Octokit webhook methods, the Standard Webhooks
// JavaScript library, KafkaJS's schema registry client;
// deploy/local/clients.sh installs them, and CI does).
// It skips t, saying so, when SLUICE_NODE_CLIENTS is unset.
func NodeClients(t testing.TB) string {
	t.Helper()
	return clientsFrom(t, "SLUICE_NODE_CLIENTS", "no Node.js clients to check with")
}

// JavaClients returns the directory of SLUICE_JAVA_CLIENTS, whose libs
// hold the Java clients the interoperability tests check sluice with
// (Apache Avro's Java library; deploy/local/clients.sh installs them, and
// CI does). It skips t, saying so, when SLUICE_JAVA_CLIENTS is unset.
func JavaClients(t testing.TB) string {
	t.Helper()
	return clientsFrom(t, "SLUICE_JAVA_CLIENTS", "no Java clients to check with")
}

// clientsFrom returns the value of the environment variable name, or
// skips t saying that without it there is what, and how to install it.
func clientsFrom(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s is unset: %s (deploy/local/clients.sh install, then eval \"$(deploy/local/clients.sh env)\")", name, what)
	}
	return v
}

// repoPath returns the path of elem, relative to the repository's root.
func repoPath(t testing.TB, elem ...string) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testkit: cannot find the repository")
	}
	return filepath.Join(append([]string{filepath.Dir(self), "..", ".."}, elem...)...)
}

// RunClient runs script, a program of internal/testkit/clients, with args
// and stdin on its standard input (none when nil), and returns what it
// wrote to stdout: a .py script with the interpreter of Python; a .mjs
// module with Node.js, evaluated in NodeClients so that it imports the
// packages installed there; a .java program with Java's source launcher
// and the libraries of JavaClients. It fails t when the script fails or
// takes longer than timeout, with what the script wrote to stderr.
func RunClient(t testing.TB, timeout time.Duration, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	path := repoPath(t, "internal", "testkit", "clients", script)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var cmd *exec.Cmd
	if strings.HasSuffix(script, ".mjs") {
		dir := NodeClients(t)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Evaluated rather than run from its file: a module's imports
		// resolve from where it is, an evaluated one's from the
		// working directory.
		cmd = exec.CommandContext(ctx, "node", append([]string{"--input-type=module", "--eval", string(src), "--"}, args...)...)
		cmd.Dir = dir
	} else if strings.HasSuffix(script, ".java") {
		libs := filepath.Join(JavaClients(t), "libs", "*")
		cmd = exec.CommandContext(ctx, "java", append([]string{"-cp", libs, path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, Python(t), append([]string{path}, args...)...)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	stdout, stderr, err := output(cmd)
	if err != nil {
		t.Fatalf("testkit: %s: %v\n%s", script, err, stderr)
	}
	if len(stderr) > 0 {
		t.Logf("%s wrote to stderr:\n%s", script, stderr)
	}
	return stdout
}

// output runs cmd and returns what it wrote to stdout and to stderr.
func output(cmd *exec.Cmd) (stdout, stderr []byte, err error) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// RealBroker returns the addresses in KAFKA_BROKERS, or skips t when it
// is unset: for a test that needs a real broker, such as one that runs
// Kafka's own tools, and no embedded stand-in.
func RealBroker(t testing.TB) string {
	t.Helper()
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		t.Skip("KAFKA_BROKERS is unset: this test needs a real broker (Kafka's own tools do not run against the embedded one)")
	}
	return brokers
}

// KafkaTool runs one of Kafka's own command-line tools (name is one of
// deploy/local/kafka.sh's: consumer-groups, console-consumer, topics,
// transactions)
// with --bootstrap-server set to KAFKA_BROKERS and args, and returns what
// it wrote to stdout. It skips t without a real broker (KAFKA_BROKERS) or
// without the tools (deploy/local/kafka.sh start installs them), and
// fails t when the tool fails.
func KafkaTool(t testing.TB, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	brokers := RealBroker(t)
	script := repoPath(t, "deploy", "local", "kafka.sh")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, append([]string{"tool", name, "--bootstrap-server", brokers}, args...)...)
	stdout, stderr, err := output(cmd)
	if err != nil {
		if bytes.Contains(stderr, []byte("is not installed yet")) {
			t.Skipf("Kafka's tools are not installed here: %s", bytes.TrimSpace(stderr))
		}
		t.Fatalf("testkit: kafka-%s: %v\n%s", name, err, stderr)
	}
	return string(stdout)
}

// JSONLines encodes each of values as JSON on a line of its own: the
// input of the client programs, which read one object per line.
func JSONLines[T any](t testing.TB, values ...T) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, v := range values {
		line, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	return b.Bytes()
}

// ReadJSONLines decodes out, one JSON object per line as the client
// programs print them, into a T each. It fails t, naming who printed it,
// on a line that is not a T.
func ReadJSONLines[T any](t testing.TB, who string, out []byte) []T {
	t.Helper()
	var vs []T
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s printed %q: %v", who, sc.Bytes(), err)
		}
		vs = append(vs, v)
	}
	return vs
}

// DecodeWith has decoder, a program of internal/testkit/clients that
// decodes Confluent wire-format values by their schema ids in the registry
// at registryURL (one {"value": hex} per line in, one {"value": ...} per
// line out), decode values, and returns what it printed for each, as JSON
// values. It fails t unless every value decodes.
func DecodeWith(t testing.TB, decoder, registryURL string, values [][]byte) []any {
	t.Helper()
	in := make([]map[string]string, len(values))
	for i, v := range values {
		in[i] = map[string]string{"value": hex.EncodeToString(v)}
	}
	out := RunClient(t, 2*time.Minute, JSONLines(t, in...), decoder, registryURL)
	var decoded []any
	for _, got := range ReadJSONLines[struct {
		Value any `json:"value"`
	}](t, decoder, out) {
		decoded = append(decoded, got.Value)
	}
	if len(decoded) != len(values) {
		t.Fatalf("%s decoded %d of %d values", decoder, len(decoded), len(values))
	}
	return decoded
}
