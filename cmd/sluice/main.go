// Command sluice is the one binary of sluice: a subcommand per role.
//
//	sluice dev        every role in one process, on embedded Kafka, registry and Redis
//	sluice ingress    receives partner webhooks: verify, validate, produce
//	sluice transform  source events to the canonical model, ids stitched, deduplicated
//	sluice deliver    canonical events to destinations: signed, rate limited, retried
//	sluice registry   the Confluent-compatible schema registry
//	sluice schema     register, check, list and show Avro contracts
//	sluice send       sign and send a sample event to the ingress
//	sluice sink       receive and verify a destination's webhooks locally
//
// Each role scales on its own: run more instances of it against the same
// Kafka, Redis and schema registry. Infrastructure comes from the
// environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL,
// DATABASE_URL); the integration catalog from sluice.yaml (--config or
// SLUICE_CONFIG).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run runs sluice with args and returns the exit code. Signals end the
// context given to the command, which then shuts down cleanly.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(getenv)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		fmt.Fprintln(stderr, "sluice:", err)
		return 1
	}
	return 0
}

// exitCode is returned by a command that has already said why it failed
// and only needs the process to exit with the code.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }
