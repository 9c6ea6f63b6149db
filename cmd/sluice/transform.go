package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/connectors/commerce"
	"github.com/sluicehq/sluice/connectors/crm"
	"github.com/sluicehq/sluice/connectors/payments"
	"github.com/sluicehq/sluice/connectors/support"
	"github.com/sluicehq/sluice/consumers/dedupe"
	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/consumers/transform"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/worker"
)

// transformFlags configure sluice transform.
type transformFlags struct {
	opsAddr string
	group   string
	prefix  string
	// cache is the identity map's cache size; cacheErr says why
	// SLUICE_IDENTITY_CACHE could not be read.
	cache    int
	cacheErr error
}

func newTransformCmd(g *globals) *cobra.Command {
	f := &transformFlags{}
	cmd := &cobra.Command{
		Use:   "transform",
		Short: "Map source events to the canonical model, stitch identities and drop duplicates, exactly once",
		Long: `transform reads sluice.in.<integration> of every enabled integration of the
catalog in one consumer group, maps each source event to canonical objects
with the integration's mapping (its own file, or its source connector's),
gives every object its canonical id from the identity map, drops copies of
events it has already transformed, and writes the canonical events to
sluice.canonical.<object> (sluice.canonical.<object>.batch for batch
integrations), keyed by tenant, in one Kafka transaction with the input
offsets and the identity bindings they rely on (sluice.identity).

Events that cannot be mapped go to sluice.dlq.transform with the field path
of the problem; events whose schema the registry does not know yet go
through sluice.retry.transform.<n>.

Needs KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL. Ready once Kafka and
Redis answer and the identity map is loaded in Redis (rebuilt from
sluice.identity when Redis has lost it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case cmd.Flags().Changed("identity-cache"):
				// The flag wins over the variable, read or not.
				if f.cache < 0 {
					return fmt.Errorf("--identity-cache %d: the number of bindings must be 0 or more", f.cache)
				}
			case f.cacheErr != nil:
				return f.cacheErr
			}
			catalog, err := g.catalog()
			if err != nil {
				return err
			}
			s, err := newRoleStack(g, f.opsAddr, true)
			if err != nil {
				return err
			}
			defer s.close()
			s.catalog = catalog
			if _, err := addTransform(s, g, f.group, g.redisPrefix(cmd, f.prefix, "sluice:"), f.cache); err != nil {
				return err
			}
			return s.run(cmd.Context(), shutdownGrace)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.opsAddr, "ops-addr", envOr(g.getenv, "SLUICE_OPS_ADDR", ":8082"), "health and metrics listen address (env SLUICE_OPS_ADDR)")
	fl.StringVar(&f.group, "group", envOr(g.getenv, "SLUICE_TRANSFORM_GROUP", "sluice-transform"), "consumer group, in the namespace (env SLUICE_TRANSFORM_GROUP)")
	g.instanceIDFlag(cmd)
	fl.StringVar(&f.prefix, "redis-prefix", envOr(g.getenv, "SLUICE_REDIS_PREFIX", "sluice:"), "start of every Redis key the stage writes (env SLUICE_REDIS_PREFIX)")
	cache := identity.DefaultCacheSize
	if v := g.getenv("SLUICE_IDENTITY_CACHE"); v != "" {
		if cache, f.cacheErr = strconv.Atoi(v); f.cacheErr != nil || cache < 0 {
			f.cacheErr = fmt.Errorf("SLUICE_IDENTITY_CACHE: %q is not a number of bindings (0 or more)", v)
		}
	}
	fl.IntVar(&f.cache, "identity-cache", cache, "identity bindings kept in memory, about 250 bytes each; 0 keeps none (env SLUICE_IDENTITY_CACHE)")
	return cmd
}

// connectorMappings are the default mappings of the source connectors
// sluice ships.
func connectorMappings() []transform.Opt {
	return []transform.Opt{
		transform.Connector(crm.Source, crm.Mapping()),
		transform.Connector(payments.Source, payments.Mapping()),
		transform.Connector(commerce.Source, commerce.Mapping()),
		transform.Connector(support.Source, support.Mapping()),
	}
}

// addTransform adds the transform stage to the stack, consuming in group,
// with Redis keys under prefix and an identity map remembering up to
// cache bindings. It returns nil, and adds nothing, when the catalog has
// no enabled integration.
func addTransform(s *stack, g *globals, group, prefix string, cache int) (*transform.Stage, error) {
	enabled := 0
	for i := range s.catalog.Integrations {
		if s.catalog.Integrations[i].IsEnabled() {
			enabled++
		}
	}
	if enabled == 0 {
		return nil, nil
	}
	schemas, err := avro.LoadSchemas()
	if err != nil {
		return nil, err
	}
	rc, err := registryClient(g.getenv, s.registryURL)
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	log := s.log.Named("transform")
	serde, err := avro.NewSerde(rc, schemas, avro.Logger(s.log.Named("avro")))
	if err != nil {
		return nil, err
	}
	tenants := make([]string, len(s.catalog.Tenants))
	for i, t := range s.catalog.Tenants {
		tenants[i] = t.ID
	}
	ids, err := identity.New(s.redis, s.kafka,
		identity.Prefix(prefix),
		identity.Tenants(tenants...),
		identity.Logger(log.Named("identity")),
		identity.Registerer(s.reg),
		identity.CacheSize(cache),
		identity.Normalize(normalizerOf(s.catalog.Identity)),
	)
	if err != nil {
		return nil, err
	}
	st, err := transform.New(s.catalog, schemas, serde, ids, append(connectorMappings(),
		transform.Logger(log),
		transform.Registerer(s.reg),
		transform.Namespace(s.kafka.Namespace),
	)...)
	if err != nil {
		return nil, err
	}
	dd, err := dedupe.New(s.redis, dedupe.Prefix(prefix), dedupe.Logger(log.Named("dedupe")), dedupe.Registerer(s.reg))
	if err != nil {
		return nil, err
	}
	runner, err := st.Runner(s.kafka, dd,
		stage.Group(group),
		stage.InstanceID(g.instanceID),
		stage.Tracing(s.tracing.Provider, s.tracing.Propagator),
		stage.EnsureTopics(ids.TopicSpec()),
	)
	if err != nil {
		return nil, err
	}
	s.addRegistryCheck(rc)
	s.ops.AddCheck("identity", func(context.Context) error {
		if !ids.Ready() {
			return errors.New("identity: the map is not loaded in Redis yet")
		}
		return nil
	})
	s.addWorker(worker.Func{N: "transform", F: func(ctx context.Context) error {
		if !loadIdentity(ctx, ids, log) {
			return nil
		}
		return runner.Run(ctx)
	}})
	return st, nil
}

// loadIdentity loads the identity map, trying again with a backoff while
// Kafka or Redis cannot be reached, until ctx ends. It reports whether the
// map is loaded.
func loadIdentity(ctx context.Context, ids *identity.Map, log *zap.Logger) bool {
	wait := 500 * time.Millisecond
	for {
		err := ids.Load(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		log.Warn("identity map not loaded; trying again", zap.Duration("backoff", wait), zap.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// addDevTransform adds the transform stage to sluice dev and says so.
func addDevTransform(s *stack, g *globals, lines []started) ([]started, error) {
	st, err := addTransform(s, g, "sluice-transform", g.nsPrefix("sluice:"), identity.DefaultCacheSize)
	if err != nil || st == nil {
		return lines, err
	}
	return append(lines, started{"transform", fmt.Sprintf("%d integration(s) to %s", len(st.Inputs()), g.ns.Name("sluice.canonical.<object>")),
		"identity map in topic " + g.ns.Name(kafka.IdentityTopic)}), nil
}

// normalizerOf returns the match-key rules of the catalog's identity
// section: its lists added to identity's defaults.
func normalizerOf(c config.Identity) *identity.Normalizer {
	return identity.NewNormalizer(c.StripPlusTags,
		append(identity.DefaultFreeMail(), c.FreeMailDomains...),
		append(identity.DefaultSharedHosts(), c.SharedHosts...))
}
