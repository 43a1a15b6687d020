// Package redistest gives tests a Redis: the real server named by
// HUB_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) when it answers, and an
// in-memory miniredis otherwise, unless HUB_TEST_REQUIRE_REDIS=1 makes a
// missing server a failure (CI sets it). Tests share the real server, so each
// takes a unique Prefix for its queue names and keys.
package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/7loc/hub/hub"
)

// DefaultURL is the Redis tried when HUB_TEST_REDIS_URL is not set.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Client returns a Redis client for the test, closed at cleanup, and whether
// it talks to a real server.
func Client(t testing.TB) (*redis.Client, bool) {
	t.Helper()
	url := os.Getenv("HUB_TEST_REDIS_URL")
	if url == "" {
		url = DefaultURL
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("HUB_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb, true
	} else if os.Getenv("HUB_TEST_REQUIRE_REDIS") == "1" {
		t.Fatalf("Redis at %s is required (HUB_TEST_REQUIRE_REDIS=1) but does not answer: %v", url, err)
	}
	_ = rdb.Close()
	return Embedded(t), false
}

// Embedded returns a client of a fresh in-memory miniredis.
func Embedded(t testing.TB) *redis.Client {
	t.Helper()
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatalf("miniredis: %v", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close(); mr.Close() })
	return rdb
}

// Prefix returns a prefix no other test uses, for queue names and keys, and
// deletes every key under it (asynq's included) when the test ends.
func Prefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	prefix := "test" + hub.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 10)
	t.Cleanup(func() {
		ctx := context.Background()
		for _, pattern := range []string{prefix + "*", "asynq:{" + prefix + "*"} {
			iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
			var keys []string
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			if len(keys) > 0 {
				_ = rdb.Del(ctx, keys...).Err()
			}
		}
		_ = rdb.SRem(ctx, "asynq:queues", prefix+":events", prefix+":maintenance").Err()
	})
	return prefix
}

// Server is a redis-server of the test's own, which the test may stop and
// start again on the same address (to play an outage).
type Server struct {
	// Addr is host:port.
	Addr string
	cmd  *exec.Cmd
}

// StartServer starts redis-server on addr ("" picks a free loopback port),
// waits until it answers, and stops it when the test ends. It skips without
// the binary, or fails with HUB_TEST_REQUIRE_REDIS=1.
func StartServer(t testing.TB, addr string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("HUB_TEST_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server is not on PATH")
		}
		t.Skip("redis-server is not on PATH")
	}
	if addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: addr, cmd: exec.Command(bin, "--port", port, "--bind", host, "--save", "", "--appendonly", "no")}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for i := 0; c.Ping(context.Background()).Err() != nil; i++ {
		if i > 200 {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// Stop kills the server (again is harmless).
func (s *Server) Stop() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}
