package testkit

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisSlot is the Redis Cluster hash slot of key: CRC16/XMODEM of the
// key, or of its hash tag (the text between the first '{' and the next
// '}', when not empty), mod 16384.
func RedisSlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for _, b := range []byte(key) {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}

// RedisKeys returns the keys cmd names, for the commands sluice sends
// with keys; other commands (CLUSTER, COMMAND, SCRIPT, ...) name none.
// A command it does not know fails the test.
func RedisKeys(t testing.TB, cmd redis.Cmder) []string {
	t.Helper()
	args := cmd.Args()
	switch name := strings.ToLower(fmt.Sprint(args[0])); name {
	case "evalsha", "eval":
		n, err := strconv.Atoi(fmt.Sprint(args[2]))
		if err != nil || 3+n > len(args) {
			t.Fatalf("%v: bad number of keys", args)
		}
		keys := make([]string, n)
		for i := range n {
			keys[i] = fmt.Sprint(args[3+i])
		}
		return keys
	case "mget", "exists", "del":
		keys := make([]string, len(args)-1)
		for i, a := range args[1:] {
			keys[i] = fmt.Sprint(a)
		}
		return keys
	case "set", "get", "setnx", "smembers", "sadd", "append":
		return []string{fmt.Sprint(args[1])}
	case "cluster", "command", "script", "hello", "ping", "info", "client":
		return nil
	default:
		t.Fatalf("RedisKeys: unknown command %v", args)
		return nil
	}
}
