package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/ops"
	"github.com/sluicehq/sluice/internal/redisconn"
	"github.com/sluicehq/sluice/internal/telemetry"
	"github.com/sluicehq/sluice/internal/worker"
)

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
