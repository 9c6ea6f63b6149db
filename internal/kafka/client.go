package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kprom"
	"github.com/twmb/franz-go/plugin/kzap"
	"go.uber.org/zap"
)

// Config says how to reach a Kafka cluster.
type Config struct {
	// Brokers are the seed brokers (KAFKA_BROKERS, comma-separated).
	Brokers []string
	// TLS turns on TLS (KAFKA_TLS=true).
	TLS bool
	// TLSCAFile is a PEM file of CAs to trust instead of the system's
	// (KAFKA_TLS_CA_FILE).
	TLSCAFile string
	// SASLMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	// (KAFKA_SASL_MECHANISM); empty for none.
	SASLMechanism string
	// SASLUsername and SASLPassword authenticate with SASL
	// (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD).
	SASLUsername, SASLPassword string
	// Namespace starts the name of every topic, group and transactional
	// id sluice derives (see Namespace). The sluice command sets it from
	// --namespace (SLUICE_NAMESPACE); ConfigFromEnv leaves it empty.
	Namespace Namespace
}

// ConfigFromEnv reads a Config from the environment through getenv.
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{
		TLS:           getenv("KAFKA_TLS") == "true",
		TLSCAFile:     getenv("KAFKA_TLS_CA_FILE"),
		SASLMechanism: strings.ToUpper(getenv("KAFKA_SASL_MECHANISM")),
		SASLUsername:  getenv("KAFKA_SASL_USERNAME"),
		SASLPassword:  getenv("KAFKA_SASL_PASSWORD"),
	}
	for _, b := range strings.Split(getenv("KAFKA_BROKERS"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.Brokers = append(c.Brokers, b)
		}
	}
	return c
}

// ErrNoBrokers is returned when a Config names no broker.
var ErrNoBrokers = errors.New("kafka: no brokers configured")

// Opts returns the client options that connect to the cluster.
//
// Clients refresh metadata at most every MetadataMinAge, not franz-go's
// default 5 s: a transactional produce that Kafka 4 answers
// CONCURRENT_TRANSACTIONS (the previous transaction's markers are still
// being written, KIP-890) is retried only after a metadata refresh, so
// the default held such a transaction up for 5 s, where the Java producer
// backs off 100 ms.
func (c Config) Opts() ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, ErrNoBrokers
	}
	if _, err := ParseNamespace(string(c.Namespace)); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.MetadataMinAge(MetadataMinAge)}
	if c.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.TLSCAFile != "" {
			pem, err := os.ReadFile(c.TLSCAFile)
			if err != nil {
				return nil, fmt.Errorf("kafka: TLS CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka: TLS CA file %s holds no PEM certificate", c.TLSCAFile)
			}
			tc.RootCAs = pool
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	var mech sasl.Mechanism
	switch c.SASLMechanism {
	case "":
	case "PLAIN":
		mech = plain.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsMechanism()
	case "SCRAM-SHA-256":
		mech = scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		mech = scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha512Mechanism()
	default:
		return nil, fmt.Errorf("kafka: SASL mechanism %q: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASLMechanism)
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

// MetadataMinAge is the shortest interval between two metadata refreshes
// of sluice's Kafka clients.
const MetadataMinAge = 250 * time.Millisecond

// NewClient returns a client of the cluster named name (its client id is
// "sluice-<name>"), logging through log and, when reg is not nil, exporting
// its metrics to reg with the label client=<name>. opts come last and win.
func NewClient(c Config, name string, log *zap.Logger, reg prometheus.Registerer, opts ...kgo.Opt) (*kgo.Client, error) {
	base, err := c.Opts()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	base = append(base,
		kgo.ClientID("sluice-"+name),
		kgo.WithLogger(kzap.New(log.Named("kafka").With(zap.String("client", name)), kzap.Level(kgo.LogLevelWarn))),
	)
	if reg != nil {
		m := kprom.NewMetrics("sluice_kafka", kprom.Registerer(prometheus.WrapRegistererWith(prometheus.Labels{"client": name}, reg)))
		base = append(base, kgo.WithHooks(m))
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %s client: %w", name, err)
	}
	return cl, nil
}

// Ping asks the cluster for its metadata, within timeout: the readiness
// check of every role.
func Ping(ctx context.Context, cl *kgo.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}
