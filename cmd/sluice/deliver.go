package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/consumers/deliver"
	"github.com/sluicehq/sluice/consumers/stage"
	"github.com/sluicehq/sluice/internal/config"
)

// deliverFlags configure sluice deliver.
type deliverFlags struct {
	opsAddr      string
	destinations []string
	lane         string
	prefix       string
}

func newDeliverCmd(g *globals) *cobra.Command {
	f := &deliverFlags{}
	cmd := &cobra.Command{
		Use:   "deliver",
		Short: "Deliver canonical events to the catalog's destinations, signed, retried and circuit-broken",
		Long: `deliver reads the canonical topics and delivers each event to the
destinations that subscribe to it: as a Standard Webhooks-signed POST to a
webhook destination, or as a copy on a kafka destination's topic. Each
destination and lane is a consumer group of its own
(sluice-deliver-<destination>[-batch]), so a slow destination or a backfill
holds up nothing else. Failures go through the delayed retry topics
sluice.retry.deliver.<destination>.<n> and end in
sluice.dlq.deliver.<destination>; every attempt is recorded in
sluice.delivery.attempts.

Needs KAFKA_BROKERS and REDIS_URL, and SCHEMA_REGISTRY_URL when a webhook
destination is delivered (its JSON body is decoded from Avro).

Admin API on the ops port:
  GET  /admin/v1/destinations               breaker, disabled flag, in-flight requests
  POST /admin/v1/destinations/{id}/enable   after a 410 Gone disabled one
  POST /admin/v1/destinations/{id}/disable`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lanes, err := deliverLanes(f.lane)
			if err != nil {
				return err
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
			if _, err := addDeliver(s, g, f.destinations, lanes, deliver.Prefix(g.redisPrefix(cmd, f.prefix, "sluice:"))); err != nil {
				return err
			}
			return s.run(cmd.Context(), shutdownGrace)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.opsAddr, "ops-addr", envOr(g.getenv, "SLUICE_OPS_ADDR", ":8082"), "health, metrics and admin API listen address (env SLUICE_OPS_ADDR)")
	var dests []string
	if v := g.getenv("SLUICE_DESTINATIONS"); v != "" {
		dests = strings.Split(v, ",")
	}
	fl.StringSliceVar(&f.destinations, "destination", dests, "destination to deliver, repeatable; default every enabled destination (env SLUICE_DESTINATIONS, comma-separated)")
	fl.StringVar(&f.lane, "lane", envOr(g.getenv, "SLUICE_LANE", "all"), "lane to deliver: interactive, batch or all (env SLUICE_LANE)")
	g.instanceIDFlag(cmd)
	fl.StringVar(&f.prefix, "redis-prefix", envOr(g.getenv, "SLUICE_REDIS_PREFIX", "sluice:"), "start of every Redis key the stage writes (env SLUICE_REDIS_PREFIX)")
	return cmd
}

// deliverLanes reads the --lane flag.
func deliverLanes(lane string) ([]string, error) {
	switch lane {
	case "all", "":
		return []string{config.LaneInteractive, config.LaneBatch}, nil
	case config.LaneInteractive, config.LaneBatch:
		return []string{lane}, nil
	}
	return nil, fmt.Errorf("--lane %q: expected interactive, batch or all", lane)
}

// addDeliver adds the delivery stage to the stack: the destinations named
// by ids (every enabled one of the catalog when ids is empty), on lanes,
// with its admin API on the ops port. It returns nil, and adds nothing,
// when ids is empty and the catalog has no enabled destination.
func addDeliver(s *stack, g *globals, ids, lanes []string, opts ...deliver.Opt) (*deliver.Stage, error) {
	dests, err := deliverDestinations(s.catalog, ids)
	if err != nil || len(dests) == 0 {
		return nil, err
	}
	opts = append([]deliver.Opt{
		deliver.Logger(s.log.Named("deliver")),
		deliver.Registerer(s.reg),
		deliver.Tracing(s.tracing.Provider, s.tracing.Propagator),
		deliver.Lanes(lanes...),
		deliver.StageOpts(stage.InstanceID(g.instanceID)),
	}, opts...)
	for _, d := range dests {
		if d.Config.Kind != config.DestinationWebhook {
			continue
		}
		schemas, err := avro.LoadSchemas()
		if err != nil {
			return nil, err
		}
		rc, err := registryClient(g.getenv, s.registryURL)
		if err != nil {
			return nil, fmt.Errorf("deliver: webhook destinations decode Avro: %w", err)
		}
		serde, err := avro.NewSerde(rc, schemas, avro.Logger(s.log.Named("avro")), avro.AutoRegister(false))
		if err != nil {
			return nil, err
		}
		opts = append(opts, deliver.Body(deliver.NewJSONBody(serde)))
		s.addRegistryCheck(rc)
		break
	}
	st, err := deliver.New(s.kafka, s.redis, dests, opts...)
	if err != nil {
		return nil, err
	}
	st.RegisterAdmin(s.ops)
	s.addWorker(st)
	return st, nil
}

// deliverDestinations returns the destinations named by ids, or every
// enabled one, with their secrets resolved.
func deliverDestinations(c *config.Catalog, ids []string) ([]deliver.Destination, error) {
	var picked []*config.Destination
	if len(ids) == 0 {
		for i := range c.Destinations {
			if c.Destinations[i].IsEnabled() {
				picked = append(picked, &c.Destinations[i])
			}
		}
	}
	for _, id := range ids {
		d, ok := c.Destination(strings.TrimSpace(id))
		if !ok {
			return nil, fmt.Errorf("deliver: --destination %s: no such destination in the catalog", id)
		}
		if !d.IsEnabled() {
			return nil, fmt.Errorf("deliver: --destination %s: the destination is not enabled in the catalog", id)
		}
		picked = append(picked, d)
	}
	out := make([]deliver.Destination, 0, len(picked))
	for _, d := range picked {
		secrets, err := config.ResolveAll(d.Secrets)
		if err != nil {
			return nil, fmt.Errorf("deliver: destination %s: %w", d.ID, err)
		}
		out = append(out, deliver.Destination{Config: *d, Secrets: secrets})
	}
	if len(ids) > 0 && len(out) == 0 {
		return nil, errors.New("deliver: no destination to deliver to")
	}
	return out, nil
}

// addDevDeliver adds to sluice dev the delivery of every enabled
// destination on both lanes, and the sink of the local demo destination,
// and returns lines with what dev prints about them.
func addDevDeliver(s *stack, g *globals, out io.Writer, lines []started) ([]started, error) {
	lines, err := addDevSink(s, out, lines)
	if err != nil {
		return lines, err
	}
	st, err := addDeliver(s, g, nil, []string{config.LaneInteractive, config.LaneBatch}, deliver.Prefix(g.nsPrefix("sluice:")))
	if err != nil || st == nil {
		return lines, err
	}
	return append(lines, started{"delivery", fmt.Sprintf("%d destination(s), interactive and batch lanes", len(st.Runners())/2),
		"state: GET /admin/v1/destinations on the ops port"}), nil
}
