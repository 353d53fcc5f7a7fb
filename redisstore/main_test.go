package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestMain starts a redis-server for the Examples (the tests start their
// own) and sets REDIS_URL to it, where the Examples read their Redis as an
// app reads its own (this overrides a REDIS_URL of the environment: the
// Examples write sessions there). Without redis-server on PATH the package's tests and Examples
// cannot run: they are skipped with a message, or fail under
// CONFIDANT_REQUIRE_ALL=1 (set by CI).
func TestMain(m *testing.M) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not on PATH: the redisstore tests and Examples need it (apt-get install redis-server)"
		if os.Getenv("CONFIDANT_REQUIRE_ALL") == "1" {
			fmt.Fprintln(os.Stderr, "FAIL: "+msg+" (CONFIDANT_REQUIRE_ALL=1)")
			os.Exit(1)
		}
		fmt.Println("skipped: " + msg + " (CONFIDANT_REQUIRE_ALL=1 makes this a failure)")
		os.Exit(0)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	exampleRedis := l.Addr().String()
	_, port, _ := net.SplitHostPort(exampleRedis)
	l.Close()
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no")
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	rc := redis.NewClient(&redis.Options{Addr: exampleRedis})
	for start := time.Now(); rc.Ping(context.Background()).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			cmd.Process.Kill()
			panic("redis-server for the Examples did not answer within 10 s")
		}
	}
	rc.Close()
	os.Setenv("REDIS_URL", "redis://"+exampleRedis+"/0")
	code := m.Run()
	cmd.Process.Kill()
	cmd.Wait()
	os.Exit(code)
}
