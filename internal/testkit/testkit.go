// Package testkit gives tests the services sluice runs on: a Kafka, a Redis
// and a Postgres.
//
// Each service comes from the environment when its address is set
// (KAFKA_BROKERS, REDIS_URL, DATABASE_URL) and from an embedded stand-in
// otherwise: a fresh in-process kfake cluster, a miniredis server. Postgres
// has no stand-in; without DATABASE_URL the test is skipped with a message
// that says so. The same tests pass both ways.
//
// Third-party clients (Confluent's Python client, the webhook providers'
// SDKs, Apache Avro's Java library) come from the Python in SLUICE_PYTHON,
// the Node.js packages in SLUICE_NODE_CLIENTS and the jars in
// SLUICE_JAVA_CLIENTS; Python, NodeClients and JavaClients skip a test
// without them, and RunClient runs the programs of the clients directory.
// KafkaTool runs Kafka's own command-line tools against a real broker.
//
// Tests share one real broker and one real Redis in CI and run in parallel,
// so every test isolates itself: topics, groups and transactional ids come
// from Name, Redis keys from Redis.Prefix.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// Name returns a name unique to this test run, built from prefix, the
// test's name and a Token, safe for Kafka topics, consumer groups and Redis
// keys.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	name := unsafeChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	name = strings.Trim(name, "-.")
	return fmt.Sprintf("%s.%s.%s", prefix, name, Token(t))
}

// Token returns 8 random lowercase hex digits for names unique to t.
//
// On a real broker (KAFKA_BROKERS) the topics and consumer groups whose
// names hold the token are deleted when t ends, unless t failed: a shared
// broker would otherwise gather thousands of partitions over a few runs,
// and with them open files and start-up time.
func Token(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testkit: random name: %v", err)
	}
	token := hex.EncodeToString(b[:])
	dropKafkaNamesAtEnd(t, token)
	return token
}

// Context returns a context that ends when the test ends or after timeout,
// whichever comes first.
func Context(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// Logger returns a logger that writes through t.Log, so a test's log lines
// appear only when it fails or runs verbose.
func Logger(t testing.TB) *zap.Logger {
	t.Helper()
	if os.Getenv("SLUICE_TEST_LOG") == "" {
		return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	return zaptest.NewLogger(t)
}

// CheckFor calls fn every interval until it returns nil or timeout passes,
// then fails the test with fn's last error. Use it instead of sleeping.
func CheckFor(t testing.TB, timeout, interval time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testkit: condition not met after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}
