package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/ops"
	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/telemetry"
	"github.com/sluicehq/sluice/internal/worker"
)

// shutdownGrace bounds a clean shutdown: workers stop, producers flush,
// offsets commit.
const shutdownGrace = 8 * time.Second

// stack is what a role is wired from: the infrastructure it talks to, the
// catalog, telemetry, and the workers it adds. Roles only add to it; the
// command that built it runs the workers and closes it.
type stack struct {
	log         *zap.Logger
	reg         *prometheus.Registry
	tracing     *telemetry.Tracing
	catalog     *config.Catalog
	kafka       kafka.Config
	redis       redis.UniversalClient
	registryURL string
	ops         *ops.Server

	workers []worker.Worker
	closers []func()
}

// addWorker adds a worker the command will run.
func (s *stack) addWorker(w worker.Worker) { s.workers = append(s.workers, w) }

// onClose adds a function run when the stack closes, in reverse order.
func (s *stack) onClose(f func()) { s.closers = append(s.closers, f) }

// close releases what the stack holds, last acquired first.
func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// kafkaClient returns a client named name that is closed with the stack,
// and adds nothing to readiness.
func (s *stack) kafkaClient(name string, opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kafka.NewClient(s.kafka, name, s.log, s.reg, opts...)
	if err != nil {
		return nil, err
	}
	s.onClose(cl.Close)
	return cl, nil
}

// connectRedis opens the Redis at url, closed with the stack, and makes it
// part of readiness.
func (s *stack) connectRedis(url string) error {
	rc, err := redisconn.Open(url)
	if err != nil {
		return err
	}
	s.redis = rc
	s.onClose(func() { _ = rc.Close() })
	s.ops.AddCheck("redis", func(ctx context.Context) error { return redisconn.Ping(ctx, rc, 2*time.Second) })
	return nil
}

// watchKafka makes the cluster part of readiness through a client of its
// own.
func (s *stack) watchKafka() error {
	cl, err := s.kafkaClient("health")
	if err != nil {
		return err
	}
	s.ops.AddCheck("kafka", func(ctx context.Context) error { return kafka.Ping(ctx, cl, 2*time.Second) })
	return nil
}

// run runs the workers until ctx ends, then stops them within grace.
func (s *stack) run(ctx context.Context, grace time.Duration) error {
	if len(s.workers) == 0 {
		return fmt.Errorf("nothing to run")
	}
	return worker.Run(ctx, s.log, grace, s.workers...)
}

// newRoleStack builds the stack of a role run on its own: infrastructure
// from the environment only (no embedded stand-ins), JSON logs unless told
// otherwise, and the ops port on opsAddr. withRedis connects REDIS_URL.
func newRoleStack(g *globals, opsAddr string, withRedis bool) (*stack, error) {
	log, err := g.logger()
	if err != nil {
		return nil, err
	}
	s := &stack{
		log:         log,
		reg:         telemetry.NewRegistry(),
		tracing:     telemetry.NewTracing(),
		kafka:       kafka.ConfigFromEnv(g.getenv),
		registryURL: g.getenv("SCHEMA_REGISTRY_URL"),
	}
	s.kafka.Namespace = g.ns
	s.onClose(func() { _ = log.Sync() })
	if len(s.kafka.Brokers) == 0 {
		return nil, fmt.Errorf("KAFKA_BROKERS is not set: name the Kafka brokers (or use sluice dev for an embedded one)")
	}
	s.ops = ops.New(opsAddr, s.reg, log)
	if token := g.getenv("SLUICE_ADMIN_TOKEN"); token != "" {
		s.ops.SetAdminToken(token)
	} else {
		log.Warn("the admin API needs no token: anyone who reaches the ops port can disable a destination; set SLUICE_ADMIN_TOKEN, or keep the port on a private network",
			zap.String("ops_addr", opsAddr))
	}
	s.addWorker(s.ops)
	if err := s.watchKafka(); err != nil {
		s.close()
		return nil, err
	}
	if withRedis {
		url := g.getenv("REDIS_URL")
		if url == "" {
			s.close()
			return nil, fmt.Errorf("REDIS_URL is not set: name the Redis server")
		}
		if err := s.connectRedis(url); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// addRegistryCheck makes readiness (/readyz) require the schema
// registry rc to answer, for a role that cannot work without it.
func (s *stack) addRegistryCheck(rc *sr.Client) {
	s.ops.AddCheck("schema-registry", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := rc.SupportedTypes(ctx); err != nil {
			return fmt.Errorf("schema registry: %w", err)
		}
		return nil
	})
}

// registryClient returns a client of the schema registry at url, with
// basic auth from SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD
// when they are set (Confluent Cloud's API key and secret), else from the
// URL's user and password. The client is given the URL without them: its
// errors quote the URL of the request that failed, and they reach logs
// and /readyz.
func registryClient(getenv func(string) string, raw string) (*sr.Client, error) {
	if raw == "" {
		return nil, fmt.Errorf("SCHEMA_REGISTRY_URL is not set: name the schema registry")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("SCHEMA_REGISTRY_URL is not a URL such as https://registry.example.com (a password's special characters must be percent-encoded)")
	}
	user, pass := getenv("SCHEMA_REGISTRY_USERNAME"), getenv("SCHEMA_REGISTRY_PASSWORD")
	if user == "" && u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	u.User = nil
	opts := []sr.ClientOpt{sr.URLs(u.String()), sr.UserAgent("sluice")}
	if user != "" {
		opts = append(opts, sr.BasicAuth(user, pass))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	return cl, nil
}
