package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/devstack"
	"github.com/sluicehq/sluice/internal/ops"
	"github.com/sluicehq/sluice/internal/worker"
	"github.com/sluicehq/sluice/producers/webhook"
)

func newIngressCmd(g *globals) *cobra.Command {
	var addr, opsAddr, prefix string
	var register bool
	cmd := &cobra.Command{
		Use:   "ingress",
		Short: "Take partners' signed webhooks and write them to Kafka",
		Long: `ingress serves the webhook routes of the catalog's integrations:

  POST /v1/webhooks/{tenant}/{integration}         one event
  POST /v1/webhooks/{tenant}/{integration}/batch   a JSON array or NDJSON

Each request is checked (tenant, integration, content type, size,
signature, rate limit, Avro contract) and its events written to
sluice.in.<integration>, or kept raw in sluice.in.<integration>.invalid
when they break their contract. A 2xx answer means Kafka acknowledged the
write; a repeat of an accepted event is answered as a duplicate and not
written again. Needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL.

Readiness (/readyz on the ops port) waits for Kafka, Redis, the schema
registry, the integrations' topics and their schema subjects.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			catalog, err := g.catalog()
			if err != nil {
				return err
			}
			s, err := newRoleStack(g, opsAddr, true)
			if err != nil {
				return err
			}
			defer s.close()
			s.catalog = catalog
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("ingress: %w", err)
			}
			if _, err := addIngress(s, g, ln, register, webhook.Prefix(g.redisPrefix(cmd, prefix, webhook.DefaultPrefix))); err != nil {
				_ = ln.Close()
				return err
			}
			return s.run(cmd.Context(), shutdownGrace)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", envOr(g.getenv, "SLUICE_INGRESS_ADDR", ":8080"), "listen address (env SLUICE_INGRESS_ADDR)")
	fl.StringVar(&opsAddr, "ops-addr", envOr(g.getenv, "SLUICE_OPS_ADDR", ":8082"), "health and metrics listen address (env SLUICE_OPS_ADDR)")
	fl.StringVar(&prefix, "redis-prefix", envOr(g.getenv, "SLUICE_REDIS_PREFIX", webhook.DefaultPrefix), "start of every Redis key the ingress writes (env SLUICE_REDIS_PREFIX)")
	fl.BoolVar(&register, "register-schemas", envOr(g.getenv, "SLUICE_REGISTER_SCHEMAS", "true") == "true",
		"register the integrations' schemas at start; false only looks them up, for registries managed with sluice schema register (env SLUICE_REGISTER_SCHEMAS)")
	return cmd
}

// addIngress adds the webhook ingress, served on ln, to the stack: its
// producer, its serde on the stack's schema registry, its readiness checks
// and a worker that serves it, keeps its leases and, on the way out,
// waits for its outstanding writes.
func addIngress(s *stack, g *globals, ln net.Listener, register bool, opts ...webhook.Opt) (*webhook.Ingress, error) {
	schemas, err := avro.LoadSchemas()
	if err != nil {
		return nil, err
	}
	rc, err := registryClient(g.getenv, s.registryURL)
	if err != nil {
		return nil, err
	}
	serde, err := avro.NewSerde(rc, schemas, avro.Logger(s.log.Named("avro")), avro.AutoRegister(register))
	if err != nil {
		return nil, err
	}
	cl, err := s.kafkaClient("ingress", webhook.ProducerOpts(0, 0)...)
	if err != nil {
		return nil, err
	}
	log := s.log.Named("ingress")
	in, err := webhook.New(s.catalog, cl, s.redis, schemas, serde, append([]webhook.Opt{
		webhook.Logger(log),
		webhook.Registerer(s.reg),
		webhook.Tracing(s.tracing),
		webhook.Namespace(s.kafka.Namespace),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	s.ops.AddCheck("ingress", func(context.Context) error {
		if !in.Ready() {
			return errors.New("ingress: the integrations' topics or schema subjects are not ready")
		}
		return nil
	})
	s.addRegistryCheck(rc)
	s.addWorker(worker.Func{N: "ingress", F: func(ctx context.Context) error {
		// The leases are kept until the outstanding writes settled,
		// after the server stopped.
		keep, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- in.Run(keep) }()
		err := ops.Serve(ctx, ln, in, log)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		serr := in.Shutdown(sctx)
		cancel()
		stop()
		return errors.Join(err, serr, <-done)
	}})
	return in, nil
}

// addDevIngress adds the ingress to sluice dev on addr (another port when
// that one is taken), and returns lines with what dev prints about it:
// its URL, and how to send a signed sample event.
func addDevIngress(s *stack, g *globals, addr string, lines []started) ([]started, error) {
	ln, moved, err := devstack.Listen(addr, true)
	if err != nil {
		return lines, fmt.Errorf("ingress: %w", err)
	}
	if _, err := addIngress(s, g, ln, true, webhook.Prefix(g.nsPrefix(webhook.DefaultPrefix))); err != nil {
		_ = ln.Close()
		return lines, err
	}
	url := "http://" + ln.Addr().String()
	lines = append(lines, started{"webhook ingress", url + "/v1/webhooks/{tenant}/{integration}", movedNote(moved, addr)})
	return append(lines, sampleLines(g.config, s.catalog, url, time.Now())...), nil
}

// sampleLines tell how to send a signed sample event to the first
// enabled webhook integration, for its first tenant, when the catalog's
// folder holds a sample for it (events/<integration>-*.json): with sluice
// send, and with curl, signed now and so valid for the signature's
// tolerance.
func sampleLines(configPath string, c *config.Catalog, url string, now time.Time) []started {
	in, tenant := demoIntegration(c)
	if in == nil {
		return nil
	}
	samples, _ := filepath.Glob(filepath.Join(filepath.Dir(configPath), "events", in.ID+"-*.json"))
	sort.Strings(samples)
	if len(samples) == 0 {
		return nil
	}
	file := samples[0]
	lines := []started{{"send a signed sample event", fmt.Sprintf("%s send --config %s --url %s --tenant %s --integration %s %s",
		selfName(), configPath, url, tenant, in.ID, file), ""}}
	body, err := os.ReadFile(file)
	if err != nil {
		return lines
	}
	id := "msg_sample_" + strconv.FormatInt(now.Unix(), 10)
	h, err := signFor(in, id, now, body, "")
	if err != nil {
		return lines
	}
	var b strings.Builder
	fmt.Fprintf(&b, "curl -sS -X POST %s -H 'Content-Type: application/json'", webhookURL(url, tenant, in.ID, false))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " -H '%s: %s'", k, h.Get(k))
	}
	fmt.Fprintf(&b, " --data-binary @%s", file)
	note := "signed at start-up: sending it twice is answered as a duplicate"
	if in.Signature.Scheme != config.SchemeGitHub && in.Signature.Scheme != config.SchemeShopify {
		note = fmt.Sprintf("signed at start-up, expires after %v; a second send is a duplicate", in.Signature.Tolerance)
	}
	return append(lines, started{"or with curl", b.String(), note})
}

// demoIntegration returns the first enabled integration that takes
// webhooks and the first enabled tenant it is open to.
func demoIntegration(c *config.Catalog) (*config.Integration, string) {
	if c == nil {
		return nil, ""
	}
	for i := range c.Integrations {
		in := &c.Integrations[i]
		if in.Signature == nil || !in.IsEnabled() {
			continue
		}
		for j := range c.Tenants {
			t := &c.Tenants[j]
			if t.IsEnabled() && in.AllowsTenant(t.ID) {
				return in, t.ID
			}
		}
	}
	return nil, ""
}

// selfName is how to run this binary again from the working directory.
func selfName() string {
	name := os.Args[0]
	if strings.Contains(name, "go-build") || filepath.Base(name) != "sluice" {
		return "sluice"
	}
	return name
}
