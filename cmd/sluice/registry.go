package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/avro/registry"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/ops"
	"github.com/sluicehq/sluice/internal/worker"
)

func newRegistryCmd(g *globals) *cobra.Command {
	var addr, opsAddr, topic string
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Serve the Confluent-compatible schema registry, stored in a compacted Kafka topic",
		Long: `registry serves Confluent Schema Registry's REST API. Its data lives in a
compacted Kafka topic, so several instances serve the same schemas; writes
go through one of them at a time (a shared transactional id fences the
others). Needs KAFKA_BROKERS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newRoleStack(g, opsAddr, false)
			if err != nil {
				return err
			}
			defer s.close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("registry: %w", err)
			}
			if err := addRegistry(s, ln, topic); err != nil {
				return err
			}
			return s.run(cmd.Context(), shutdownGrace)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", envOr(g.getenv, "SLUICE_REGISTRY_ADDR", ":8081"), "listen address (env SLUICE_REGISTRY_ADDR)")
	cmd.Flags().StringVar(&opsAddr, "ops-addr", envOr(g.getenv, "SLUICE_OPS_ADDR", ":8082"), "health and metrics listen address (env SLUICE_OPS_ADDR)")
	cmd.Flags().StringVar(&topic, "topic", envOr(g.getenv, "SLUICE_REGISTRY_TOPIC", kafka.SchemasTopic), "storage topic, in the namespace (env SLUICE_REGISTRY_TOPIC)")
	return cmd
}

// addRegistry adds the schema registry, served on ln, to the stack,
// stored in topic, which is put in the stack's namespace with the
// registry's transactional id.
func addRegistry(s *stack, ln net.Listener, topic string) error {
	cl, err := s.kafkaClient("registry")
	if err != nil {
		return err
	}
	ns := s.kafka.Namespace
	srv, err := registry.New(cl,
		registry.Topic(ns.Name(topic)),
		registry.TransactionalID(ns.Name("sluice-registry-"+topic)),
		registry.Logger(s.log.Named("registry")),
		registry.Registerer(s.reg),
	)
	if err != nil {
		return err
	}
	s.ops.AddCheck("registry", func(context.Context) error {
		if !srv.Ready() {
			return errors.New("registry: still reading its storage topic")
		}
		return nil
	})
	s.addWorker(worker.Func{N: "registry", F: srv.Run})
	s.addWorker(worker.Func{N: "registry-http", F: func(ctx context.Context) error {
		return ops.Serve(ctx, ln, srv, s.log.Named("registry"))
	}})
	return nil
}
