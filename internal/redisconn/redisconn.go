// Package redisconn opens sluice's Redis connection from a URL, as a
// redis.UniversalClient so that a single server, Sentinel or Redis Cluster
// all work.
package redisconn

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Open returns a client for url. A redis:// or rediss:// URL opens one
// server; a comma-separated list of host:port, or a URL with several
// addr= parameters, opens a Redis Cluster client.
func Open(url string) (redis.UniversalClient, error) {
	if url == "" {
		return nil, fmt.Errorf("redisconn: no Redis URL")
	}
	if !strings.Contains(url, "://") {
		addrs := strings.Split(url, ",")
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs}), nil
	}
	if strings.Contains(url, "addr=") {
		o, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, fmt.Errorf("redisconn: %w", err)
		}
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisconn: %w", err)
	}
	return redis.NewClient(o), nil
}

// Ping checks that Redis answers within timeout.
func Ping(ctx context.Context, c redis.UniversalClient, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
