// Package devstack starts the embedded stand-ins that let sluice run on a
// machine with nothing installed: an in-process Kafka (kfake) that keeps
// its data on disk, and an in-process Redis (miniredis).
//
// They are for one machine and for tests. Past that, point sluice at a
// real Kafka cluster, Redis and schema registry through KAFKA_BROKERS,
// REDIS_URL and SCHEMA_REGISTRY_URL.
package devstack

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka is an embedded single-broker Kafka.
type Kafka struct {
	// Addr is the broker's host:port.
	Addr string
	// Fallback is true when the wanted port was taken and another was used.
	Fallback bool
	c        *kfake.Cluster
}

// StartKafka starts an embedded broker on 127.0.0.1:port, or on a free
// port when that one is taken (Fallback says so). With dataDir set, topics,
// records and committed offsets persist there across restarts.
func StartKafka(dataDir string, port int) (*Kafka, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID("sluice-dev"),
		kfake.DefaultNumPartitions(6),
		kfake.AllowAutoTopicCreation(),
	}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("devstack: kafka data dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(dataDir))
	}
	k := &Kafka{}
	c, err := kfake.NewCluster(append(opts, kfake.Ports(port))...)
	if err != nil && port != 0 && addrInUse(err) {
		k.Fallback = true
		c, err = kfake.NewCluster(append(opts, kfake.Ports(0))...)
	}
	if err != nil {
		return nil, fmt.Errorf("devstack: kafka: %w", err)
	}
	k.c = c
	k.Addr = c.ListenAddrs()[0]
	return k, nil
}

// Close stops the broker and, when it persists, saves its state.
func (k *Kafka) Close() { k.c.Close() }

// Cluster returns the embedded cluster.
func (k *Kafka) Cluster() *kfake.Cluster { return k.c }

// Redis is an embedded Redis.
type Redis struct {
	// Addr is the server's host:port.
	Addr string
	m    *miniredis.Miniredis
}

// StartRedis starts an embedded Redis on 127.0.0.1 on a free port.
func StartRedis() (*Redis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("devstack: redis: %w", err)
	}
	return &Redis{Addr: m.Addr(), m: m}, nil
}

// URL returns the redis:// URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// Close stops the server.
func (r *Redis) Close() { r.m.Close() }

// Listen listens on addr; when the port is taken and fallback is true it
// listens on a free port of the same host instead, and says so with
// moved.
func Listen(addr string, fallback bool) (ln net.Listener, moved bool, err error) {
	ln, err = net.Listen("tcp", addr)
	if err == nil || !fallback || !addrInUse(err) {
		return ln, false, err
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, false, err
	}
	ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	return ln, err == nil, err
}

func addrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
