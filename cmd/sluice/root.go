package main

import (
	"fmt"
	"net/url"
	"runtime/debug"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// globals are the flags every subcommand takes.
type globals struct {
	getenv    func(string) string
	config    string
	logFormat string
	logLevel  string
}

func newRootCmd(getenv func(string) string) *cobra.Command {
	g := &globals{getenv: getenv}
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "sluice carries partner and product events through Kafka, per tenant, without losing or doubling them",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	f := root.PersistentFlags()
	f.StringVar(&g.config, "config", envOr(getenv, "SLUICE_CONFIG", "sluice.yaml"), "integration catalog (env SLUICE_CONFIG)")
	f.StringVar(&g.logFormat, "log-format", envOr(getenv, "SLUICE_LOG_FORMAT", "json"), "log format: json or console (env SLUICE_LOG_FORMAT)")
	f.StringVar(&g.logLevel, "log-level", envOr(getenv, "SLUICE_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env SLUICE_LOG_LEVEL)")
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

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func (g *globals) logger() (*zap.Logger, error) {
	return telemetry.NewLogger(telemetry.LogConfig{Format: g.logFormat, Level: g.logLevel})
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
