package testenv

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// Redis is a real redis-server on a free loopback port, stopped at the end
// of the test.
type Redis struct {
	Addr string
	t    testing.TB
	path string
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts Debian's redis-server (skips, or fails under
// CONFIDANT_REQUIRE_ALL=1, when it is not installed).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	path := RequireBinary(t, "redis-server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// Outage tests would fill the output with go-redis's dial errors.
	logging.Disable()
	r := &Redis{Addr: addr, t: t, path: path, dir: t.TempDir()}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start starts (or restarts) the server on its address.
func (r *Redis) Start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	r.cmd = exec.Command(r.path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--dir", r.dir, "--protected-mode", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	waitPing(r.t, r.Addr)
}

// Stop kills the server (SIGKILL). Its data survives in the append-only
// file, written with fsync on every write, for the next Start.
func (r *Redis) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

// Client returns a client for the server with short timeouts.
func (r *Redis) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: r.Addr, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 1, PoolSize: 256})
}

// String names the server in messages.
func (r *Redis) String() string { return fmt.Sprintf("redis-server %s", strconv.Quote(r.Addr)) }
