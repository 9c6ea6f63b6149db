package main

import (
	"fmt"
	"net/url"
	"runtime/debug"
	"strconv"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/gctune"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// globals are the flags every subcommand takes, and the collector
// settings the command runs with.
type globals struct {
	getenv    func(string) string
	config    string
	logFormat string
	logLevel  string
	namespace string
	// instanceID is the --instance-id of a stage role (transform,
	// deliver): "" for a random transactional id per start.
	instanceID string
	gc         gctune.Settings
	gcErr      error
	// ns is namespace, checked.
	ns kafka.Namespace
}

// instanceIDFlag adds --instance-id to a stage role's flags.
func (g *globals) instanceIDFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&g.instanceID, "instance-id", g.getenv("SLUICE_INSTANCE_ID"),
		"a stable id of this instance, such as a StatefulSet pod's name: each stage's transactional id becomes <group>-<instance-id>, so that a restart fences the transactions its predecessor left open at once, instead of read_committed consumers waiting for their timeout; two running instances must never share one (env SLUICE_INSTANCE_ID)")
}

func newRootCmd(getenv func(string) string) *cobra.Command {
	g := &globals{getenv: getenv}
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "sluice carries partner and product events through Kafka, per tenant, without losing or doubling them",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
		PersistentPreRunE: func(*cobra.Command, []string) error {
			ns, err := kafka.ParseNamespace(g.namespace)
			if err != nil {
				return fmt.Errorf("--namespace: %w", err)
			}
			g.ns = ns
			g.gc, g.gcErr = gctune.Apply()
			return nil
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.config, "config", envOr(getenv, "SLUICE_CONFIG", "sluice.yaml"), "integration catalog (env SLUICE_CONFIG)")
	f.StringVar(&g.logFormat, "log-format", envOr(getenv, "SLUICE_LOG_FORMAT", "json"), "log format: json or console (env SLUICE_LOG_FORMAT)")
	f.StringVar(&g.logLevel, "log-level", envOr(getenv, "SLUICE_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env SLUICE_LOG_LEVEL)")
	f.StringVar(&g.namespace, "namespace", getenv("SLUICE_NAMESPACE"), "start of every topic, consumer group and transactional id, and of the default Redis prefix, so deployments share a Kafka cluster; every role of one deployment needs the same (env SLUICE_NAMESPACE)")
	root.AddCommand(subcommands(g)...)
	return root
}

// subcommands lists every role and tool; each lives in its own file.
func subcommands(g *globals) []*cobra.Command {
	return []*cobra.Command{
		newDevCmd(g),
		newRegistryCmd(g),
		newIngressCmd(g),
		newTransformCmd(g),
		newDeliverCmd(g),
		newSendCmd(g),
		newSinkCmd(g),
		newSchemaCmd(g),
	}
}

// redisPrefix returns the Redis prefix of a role with a --redis-prefix
// flag: its value when it was given or came from SLUICE_REDIS_PREFIX,
// else nsPrefix(def).
func (g *globals) redisPrefix(cmd *cobra.Command, value, def string) string {
	if cmd.Flags().Changed("redis-prefix") || g.getenv("SLUICE_REDIS_PREFIX") != "" {
		return value
	}
	return g.nsPrefix(def)
}

// nsPrefix returns the Redis prefix def in the namespace: after
// "<namespace>:", so that deployments sharing a Redis keep apart too.
// sluice dev, which has no --redis-prefix flag, uses it as it is.
func (g *globals) nsPrefix(def string) string {
	if g.ns == "" {
		return def
	}
	return string(g.ns) + ":" + def
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// logger returns the command's logger, having logged the collector
// settings with it.
func (g *globals) logger() (*zap.Logger, error) {
	log, err := telemetry.NewLogger(telemetry.LogConfig{Format: g.logFormat, Level: g.logLevel})
	if err != nil {
		return nil, err
	}
	limit := "none"
	if !g.gc.NoLimit() {
		limit = strconv.FormatInt(g.gc.MemoryLimit>>20, 10) + " MiB"
	}
	log.Info("go runtime", zap.Int("gogc", g.gc.GCPercent), zap.Bool("gogc_from_env", g.gc.GCPercentFromEnv), zap.String("memory_limit", limit))
	if g.ns != "" {
		log.Info("every topic, consumer group and transactional id is in the namespace", zap.String("namespace", string(g.ns)))
	}
	if g.gcErr != nil {
		log.Warn("the container's memory limit could not be read; the Go runtime has no soft memory limit (set GOMEMLIMIT)", zap.Error(g.gcErr))
	}
	return log, nil
}

func (g *globals) catalog() (*config.Catalog, error) {
	c, err := config.Load(g.config)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v = fmt.Sprintf("%s (%s)", v, s.Value[:12])
		}
	}
	return v
}

// redactURL returns u without its password, for printing.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
