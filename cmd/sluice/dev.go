package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/devstack"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/ops"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// devFlags configure sluice dev.
type devFlags struct {
	dataDir      string
	kafkaPort    int
	registryAddr string
	ingressAddr  string
	opsAddr      string
}

func newDevCmd(g *globals) *cobra.Command {
	f := &devFlags{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run every role in one process, on embedded Kafka and Redis unless told otherwise",
		Long: `dev runs the whole pipeline in one process for local development.

Kafka:            KAFKA_BROKERS if set, else an embedded broker (kfake) that
                  keeps its data under --data-dir.
Schema registry:  SCHEMA_REGISTRY_URL if set, else the embedded registry.
Redis:            REDIS_URL if set, else an embedded miniredis.

Ctrl-C stops it cleanly: producers flushed, offsets committed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Development reads console logs; an explicit choice wins.
			if !cmd.Flags().Changed("log-format") && g.getenv("SLUICE_LOG_FORMAT") == "" {
				g.logFormat = "console"
			}
			return runDev(cmd.Context(), g, f, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", envOr(g.getenv, "SLUICE_DATA_DIR", ".sluice"), "where the embedded broker keeps its data (env SLUICE_DATA_DIR)")
	port, _ := strconv.Atoi(envOr(g.getenv, "SLUICE_KAFKA_PORT", "9092"))
	fl.IntVar(&f.kafkaPort, "kafka-port", port, "port of the embedded broker (env SLUICE_KAFKA_PORT)")
	fl.StringVar(&f.registryAddr, "registry-addr", envOr(g.getenv, "SLUICE_REGISTRY_ADDR", "127.0.0.1:8081"), "schema registry listen address (env SLUICE_REGISTRY_ADDR)")
	fl.StringVar(&f.ingressAddr, "ingress-addr", envOr(g.getenv, "SLUICE_INGRESS_ADDR", "127.0.0.1:8080"), "webhook ingress listen address (env SLUICE_INGRESS_ADDR)")
	fl.StringVar(&f.opsAddr, "ops-addr", envOr(g.getenv, "SLUICE_OPS_ADDR", "127.0.0.1:8082"), "health, metrics and admin API listen address (env SLUICE_OPS_ADDR)")
	return cmd
}

// started is one line of what dev prints about itself.
type started struct {
	what, where, note string
}

func runDev(ctx context.Context, g *globals, f *devFlags, out io.Writer) error {
	begin := time.Now()
	log, err := g.logger()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	catalog, err := g.catalog()
	if err != nil {
		return err
	}

	s := &stack{
		log:     log,
		reg:     telemetry.NewRegistry(),
		tracing: telemetry.NewTracing(),
		catalog: catalog,
	}
	defer s.close()
	var lines []started

	// Ops first: it is where readiness is reported.
	opsLn, moved, err := devstack.Listen(f.opsAddr, true)
	if err != nil {
		return fmt.Errorf("ops: %w", err)
	}
	s.ops = ops.New(opsLn.Addr().String(), s.reg, log)
	s.ops.SetAdminToken(g.getenv("SLUICE_ADMIN_TOKEN"))
	lines = append(lines, started{"ops (health, metrics, admin)", "http://" + opsLn.Addr().String(), movedNote(moved, f.opsAddr)})

	// Kafka.
	s.kafka = kafka.ConfigFromEnv(g.getenv)
	s.kafka.Namespace = g.ns
	if len(s.kafka.Brokers) == 0 {
		dir := filepath.Join(f.dataDir, "kafka")
		k, err := devstack.StartKafka(dir, f.kafkaPort)
		if err != nil {
			return err
		}
		s.onClose(k.Close)
		s.kafka.Brokers = []string{k.Addr}
		note := "embedded, data in " + dir
		if k.Fallback {
			note = fmt.Sprintf("embedded, PORT %d WAS TAKEN, data in %s", f.kafkaPort, dir)
		}
		lines = append(lines, started{"kafka", k.Addr, note})
	} else {
		lines = append(lines, started{"kafka", fmt.Sprint(s.kafka.Brokers), "from KAFKA_BROKERS"})
	}
	if err := s.watchKafka(); err != nil {
		return err
	}

	// Redis.
	redisURL := g.getenv("REDIS_URL")
	if redisURL == "" {
		r, err := devstack.StartRedis()
		if err != nil {
			return err
		}
		s.onClose(r.Close)
		redisURL = r.URL()
		lines = append(lines, started{"redis", r.Addr, "embedded (miniredis), in memory"})
	} else {
		lines = append(lines, started{"redis", redactURL(redisURL), "from REDIS_URL"})
	}
	if err := s.connectRedis(redisURL); err != nil {
		return err
	}

	// Schema registry.
	s.registryURL = g.getenv("SCHEMA_REGISTRY_URL")
	if s.registryURL == "" {
		ln, moved, err := devstack.Listen(f.registryAddr, true)
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		if err := addRegistry(s, ln, kafka.SchemasTopic); err != nil {
			return err
		}
		s.registryURL = "http://" + ln.Addr().String()
		lines = append(lines, started{"schema registry", s.registryURL, join("embedded, stored in topic "+g.ns.Name(kafka.SchemasTopic), movedNote(moved, f.registryAddr))})
	} else {
		lines = append(lines, started{"schema registry", redactURL(s.registryURL), "from SCHEMA_REGISTRY_URL"})
	}

	if lines, err = addDevIngress(s, g, f.ingressAddr, lines); err != nil {
		return err
	}
	if lines, err = addDevTransform(s, g, lines); err != nil {
		return err
	}
	if lines, err = addDevDeliver(s, g, out, lines); err != nil {
		return err
	}

	s.addWorker(opsWorker{s.ops, opsLn})

	printStarted(out, lines, time.Since(begin))
	log.Info("sluice dev is up", zap.Duration("startup", time.Since(begin)))
	err = s.run(ctx, shutdownGrace)
	log.Info("sluice dev stopped")
	return err
}

// opsWorker serves the ops server on a listener bound before start-up, so
// the address printed is the address served.
type opsWorker struct {
	s  *ops.Server
	ln net.Listener
}

func (w opsWorker) Name() string { return "ops" }

func (w opsWorker) Run(ctx context.Context) error {
	return ops.Serve(ctx, w.ln, w.s.Handler(), zap.NewNop())
}

func movedNote(moved bool, wanted string) string {
	if moved {
		return "WANTED " + wanted + ", WHICH WAS TAKEN"
	}
	return ""
}

func printStarted(out io.Writer, lines []started, took time.Duration) {
	fmt.Fprintf(out, "\nsluice dev is up (%v):\n\n", took.Round(time.Millisecond))
	for _, l := range lines {
		if l.note != "" {
			fmt.Fprintf(out, "  %-30s %-28s %s\n", l.what, l.where, l.note)
		} else {
			fmt.Fprintf(out, "  %-30s %s\n", l.what, l.where)
		}
	}
	fmt.Fprintln(out)
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}
