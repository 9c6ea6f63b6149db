package transform

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/internal/kafka"
)

// Opt configures a Stage.
type Opt func(*options)

type options struct {
	name       string
	log        *zap.Logger
	reg        prometheus.Registerer
	connectors map[string][]byte
	topic      func(object, lane string) string
	partitions int32
	namespace  kafka.Namespace
}

func defaults() options {
	return options{
		name:       "transform",
		log:        zap.NewNop(),
		connectors: map[string][]byte{},
		partitions: 6,
	}
}

// Name sets the stage's name: it names the retry and dead-letter topics
// (sluice.retry.<name>.<n>, sluice.dlq.<name>), the default consumer group
// ("sluice-<name>"), the dedupe keys and the metrics' stage label. Default
// "transform".
func Name(name string) Opt { return func(c *options) { c.name = name } }

// Logger sets the logger. Default zap.NewNop().
func Logger(l *zap.Logger) Opt { return func(c *options) { c.log = l } }

// Registerer registers the stage's metrics with reg. Default none.
func Registerer(reg prometheus.Registerer) Opt { return func(c *options) { c.reg = reg } }

// Connector gives the default mapping of a source system: the YAML the
// connector ships (connectors/<source>.Mapping). An integration of that
// source without a mapping of its own in the catalog uses it. Default
// none.
func Connector(source string, mappingYAML []byte) Opt {
	return func(c *options) { c.connectors[source] = mappingYAML }
}

// CanonicalTopics sets how the topic of an object's canonical events is
// named from the object type and the integration's lane, taken as it is.
// Default kafka.CanonicalLaneTopic in the namespace (see Namespace):
// sluice.canonical.<object>, and sluice.canonical.<object>.batch for batch
// integrations.
func CanonicalTopics(f func(object, lane string) string) Opt {
	return func(c *options) { c.topic = f }
}

// TopicPartitions sets the partition count of the canonical topics the
// stage's runner creates when they are missing. Default 6.
func TopicPartitions(n int32) Opt { return func(c *options) { c.partitions = n } }

// Namespace puts the stage's topics in ns: its inputs
// (sluice.in.<integration>) and, unless CanonicalTopics names them, its
// canonical topics. It must be the namespace of the cluster config the
// Runner is given, which puts the stage's group, transactional id, retry
// and dead-letter topics in it. Default none.
func Namespace(ns kafka.Namespace) Opt { return func(c *options) { c.namespace = ns } }
