// Package redisconn opens sluice's Redis connection from a URL, as a
// redis.UniversalClient, so that a single server, a server found through
// Redis Sentinel and a Redis Cluster all work.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Open returns a client for url, in one of go-redis's URL forms:
//
//   - redis://[user:password@]host:port/db (rediss:// for TLS): one server;
//   - host:port,host:port,...: a Redis Cluster, from any of its nodes;
//   - redis://host:port?addr=host:port&addr=...: a Redis Cluster too, with
//     credentials and options in the URL (redis.ParseClusterURL);
//   - redis://host:port/db?master_name=name&addr=host:port&...: the master
//     named name that the Sentinels at these addresses point to, followed
//     through failovers (redis.ParseFailoverURL).
//
// It does not connect: see Ping.
func Open(url string) (redis.UniversalClient, error) {
	if url == "" {
		return nil, fmt.Errorf("redisconn: no Redis URL")
	}
	if !strings.Contains(url, "://") {
		addrs := strings.Split(url, ",")
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs}), nil
	}
	// go-redis's parse errors quote the whole URL, password and all: an
	// unparsable one is refused here without it.
	if _, err := neturl.Parse(url); err != nil {
		return nil, errors.New("redisconn: the Redis URL does not parse (a password's special characters must be percent-encoded)")
	}
	if strings.Contains(url, "master_name=") {
		o, err := redis.ParseFailoverURL(url)
		if err != nil {
			return nil, fmt.Errorf("redisconn: %w", err)
		}
		if o.MasterName == "" {
			return nil, fmt.Errorf("redisconn: a Sentinel URL needs master_name")
		}
		return redis.NewFailoverClient(o), nil
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
