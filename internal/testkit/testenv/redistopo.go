package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// A RedisTopology is one way to run Redis: a single server, a Cluster or a
// Sentinel group. Client gives the app's view of it.
type RedisTopology interface {
	Client() redis.UniversalClient
	String() string
}

// Universal adapts a single server to RedisTopology.
type Universal struct{ *Redis }

// Client returns a client for the server with short timeouts.
func (u Universal) Client() redis.UniversalClient { return u.Redis.Client() }

// node is one redis-server process of a Cluster or Sentinel group.
type node struct {
	addr string
	cmd  *exec.Cmd
}

func (n *node) kill() {
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Kill()
		n.cmd.Wait()
		n.cmd = nil
	}
}

// freePorts returns n loopback ports that are free, each with its Cluster
// bus port (port+10000) free as well.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		p := l.Addr().(*net.TCPAddr).Port
		if p > 55000 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		held = append(held, bus)
		ports = append(ports, p)
	}
	return ports
}

func startNode(t testing.TB, path, dir string, port int, args ...string) *node {
	t.Helper()
	nd := filepath.Join(dir, strconv.Itoa(port))
	if err := os.MkdirAll(nd, 0o700); err != nil {
		t.Fatal(err)
	}
	base := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
		"--save", "", "--appendonly", "no", "--dir", nd}
	cmd := exec.Command(path, append(base, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	n := &node{addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	waitPing(t, n.addr)
	return n
}

func waitPing(t testing.TB, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Cluster is a real Redis Cluster on loopback: three masters and three
// replicas, made by redis-cli --cluster create, stopped at the end of the
// test.
type Cluster struct {
	Addrs []string // every node's address
	// NodeTimeout is cluster-node-timeout: a master is failed over about
	// this long after it stops answering.
	NodeTimeout time.Duration

	t     testing.TB
	mu    sync.Mutex
	nodes map[string]*node
}

// StartCluster starts a Redis Cluster of three masters, each with one
// replica (skips, or fails under CONFIDANT_REQUIRE_ALL=1, without
// redis-server and redis-cli).
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	path := RequireBinary(t, "redis-server")
	cli := RequireBinary(t, "redis-cli")
	logging.Disable()
	dir := t.TempDir()
	c := &Cluster{t: t, nodes: map[string]*node{}, NodeTimeout: time.Second}
	t.Cleanup(c.stop)
	for _, p := range freePorts(t, 6) {
		n := startNode(t, path, dir, p, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(int(c.NodeTimeout.Milliseconds())), "--cluster-replica-validity-factor", "0", "--repl-diskless-sync-delay", "0", "--appendonly", "yes", "--appendfsync", "everysec")
		c.nodes[n.addr] = n
		c.Addrs = append(c.Addrs, n.addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy(30 * time.Second)
	return c
}

func (c *Cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		n.kill()
	}
}

// Client returns a Cluster client with short timeouts.
func (c *Cluster) Client() redis.UniversalClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 1, PoolSize: 64})
}

func (c *Cluster) String() string { return "Redis Cluster " + strings.Join(c.Addrs, ",") }

// info returns CLUSTER INFO's fields as seen by addr.
func clusterInfo(ctx context.Context, addr string) (map[string]string, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 300 * time.Millisecond, MaxRetries: -1})
	defer rc.Close()
	s, err := rc.ClusterInfo(ctx).Result()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// WaitHealthy waits until every live node reports cluster_state ok with all
// 16384 slots served, and three masters each have a replica.
func (c *Cluster) WaitHealthy(within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		ok := true
		c.mu.Lock()
		addrs := make([]string, 0, len(c.nodes))
		for a, n := range c.nodes {
			if n.cmd != nil {
				addrs = append(addrs, a)
			}
		}
		c.mu.Unlock()
		for _, a := range addrs {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			m, err := clusterInfo(ctx, a)
			cancel()
			if err != nil || m["cluster_state"] != "ok" || m["cluster_slots_ok"] != "16384" {
				ok, last = false, fmt.Sprintf("%s: %v %v", a, err, m["cluster_state"])
				break
			}
			// A replica serves a failover only once its first sync is done.
			if linked, err := replicaLinked(a); err != nil || !linked {
				ok, last = false, fmt.Sprintf("%s: replica not in sync (%v)", a, err)
				break
			}
		}
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("%s not healthy within %s: %s", c, within, last)
}

// replicaLinked reports whether the node at addr is a master, or a
// replica whose link to its master is up.
func replicaLinked(addr string) (bool, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 300 * time.Millisecond, MaxRetries: -1})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := rc.Info(ctx, "replication").Result()
	if err != nil {
		return false, err
	}
	return strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up"), nil
}

// MasterFor returns the address of the master that serves key.
func (c *Cluster) MasterFor(key string) string {
	c.t.Helper()
	cc := c.Client().(*redis.ClusterClient)
	defer cc.Close()
	m, err := cc.MasterForKey(context.Background(), key)
	if err != nil {
		c.t.Fatalf("master for %q: %v", key, err)
	}
	return m.Options().Addr
}

// Kill kills the node at addr (SIGKILL), as a crashed host.
func (c *Cluster) Kill(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[addr]; ok {
		n.kill()
	}
}

// Sentinel is a real Sentinel group on loopback: a master, a replica and
// three sentinels watching them as "confidant", stopped at the end of the
// test.
type Sentinel struct {
	MasterName string
	Sentinels  []string // the sentinels' addresses
	Master     string   // the first master's address
	Replica    string   // its replica's address

	t     testing.TB
	mu    sync.Mutex
	nodes map[string]*node
}

// StartSentinel starts a master, a replica and three sentinels (skips, or
// fails under CONFIDANT_REQUIRE_ALL=1, without redis-server).
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	path := RequireBinary(t, "redis-server")
	logging.Disable()
	dir := t.TempDir()
	s := &Sentinel{MasterName: "confidant", t: t, nodes: map[string]*node{}}
	t.Cleanup(s.stop)
	ports := freePorts(t, 5)
	m := startNode(t, path, dir, ports[0], "--appendonly", "yes", "--appendfsync", "everysec", "--repl-diskless-sync-delay", "0")
	r := startNode(t, path, dir, ports[1], "--appendonly", "yes", "--appendfsync", "everysec", "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
	s.Master, s.Replica = m.addr, r.addr
	s.nodes[m.addr], s.nodes[r.addr] = m, r
	for _, p := range ports[2:] {
		conf := filepath.Join(dir, "sentinel-"+strconv.Itoa(p)+".conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %s 1000\n"+
			"sentinel failover-timeout %s 5000\nsentinel parallel-syncs %s 1\n",
			p, dir, s.MasterName, ports[0], s.MasterName, s.MasterName, s.MasterName)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(path, conf, "--sentinel")
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting a sentinel: %v", err)
		}
		n := &node{addr: "127.0.0.1:" + strconv.Itoa(p), cmd: cmd}
		waitPing(t, n.addr)
		s.nodes[n.addr] = n
		s.Sentinels = append(s.Sentinels, n.addr)
	}
	s.waitReplicated(15 * time.Second)
	return s
}

func (s *Sentinel) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.nodes {
		n.kill()
	}
}

// waitReplicated waits until the master reports its replica online and
// every sentinel knows the master and the other sentinels.
func (s *Sentinel) waitReplicated(within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	mc := redis.NewClient(&redis.Options{Addr: s.Master})
	defer mc.Close()
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := mc.Info(ctx, "replication").Result()
		ready := err == nil && strings.Contains(info, "connected_slaves:1") && strings.Contains(info, "state=online")
		for _, a := range s.Sentinels {
			if !ready {
				break
			}
			sc := redis.NewSentinelClient(&redis.Options{Addr: a})
			m, err := sc.Master(ctx, s.MasterName).Result()
			sc.Close()
			ready = err == nil && m["num-other-sentinels"] == "2" && m["num-slaves"] == "1"
		}
		cancel()
		if ready {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("%s not ready within %s", s, within)
}

// Client returns a Sentinel-backed client (go-redis's FailoverClient) with
// short timeouts.
func (s *Sentinel) Client() redis.UniversalClient {
	return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: s.Sentinels,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 1, PoolSize: 64})
}

func (s *Sentinel) String() string { return "Redis Sentinel " + strings.Join(s.Sentinels, ",") }

// CurrentMaster asks a sentinel which address is the master now.
func (s *Sentinel) CurrentMaster() (string, error) {
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(a[0], a[1]), nil
}

// Kill kills the node at addr (SIGKILL).
func (s *Sentinel) Kill(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.nodes[addr]; ok {
		n.kill()
	}
}

// KillMaster kills the master that holds the most keys, as a crashed host,
// and returns its address; its replica takes over after NodeTimeout.
func (c *Cluster) KillMaster() (string, error) {
	cc := c.Client().(*redis.ClusterClient)
	defer cc.Close()
	var mu sync.Mutex
	best, most := "", int64(-1)
	err := cc.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		mu.Lock()
		defer mu.Unlock()
		if err == nil && n > most {
			best, most = m.Options().Addr, n
		}
		return err
	})
	if err != nil {
		return "", err
	}
	c.Kill(best)
	return best, nil
}

// KillMaster kills the current master, as a crashed host, and returns its
// address; the sentinels promote the replica.
func (s *Sentinel) KillMaster() (string, error) {
	m, err := s.CurrentMaster()
	if err != nil {
		return "", err
	}
	s.Kill(m)
	return m, nil
}

// ForEachMaster calls fn with a client for every master of rc: each master
// of a Cluster, the one server otherwise (a single server, or Sentinel's
// current master).
func ForEachMaster(ctx context.Context, rc redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	switch c := rc.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	}
	return fmt.Errorf("testenv: unknown Redis client %T", rc)
}

// AllKeys returns the keys matching pattern on every master (on a Cluster,
// one node has only its slots), sorted. It SCANs, which also has Redis
// delete the expired keys it passes, as its expiry cycle would in time.
func AllKeys(t testing.TB, rc redis.UniversalClient, pattern string) []string {
	t.Helper()
	var mu sync.Mutex
	var keys []string
	err := ForEachMaster(context.Background(), rc, func(ctx context.Context, m *redis.Client) error {
		it := m.Scan(ctx, 0, pattern, 1000).Iterator()
		var ks []string
		for it.Next(ctx) {
			ks = append(ks, it.Val())
		}
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// UsedMemory is the sum of a field of INFO memory over rc's masters
// (replicas not counted): "used_memory" is all the memory a server
// allocated, "used_memory_dataset" that less its overhead (the key
// tables, which grow but do not shrink at once, client buffers, the
// replication backlog).
func UsedMemory(t testing.TB, rc redis.UniversalClient, field string) int64 {
	t.Helper()
	var total atomic.Int64
	err := ForEachMaster(context.Background(), rc, func(ctx context.Context, m *redis.Client) error {
		info, err := m.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				total.Add(n)
				return err
			}
		}
		return fmt.Errorf("no %s in INFO memory of %s", field, m.Options().Addr)
	})
	if err != nil {
		t.Fatal(err)
	}
	return total.Load()
}

// DBSize is the number of keys over rc's masters, expired ones that Redis
// has not reclaimed yet included.
func DBSize(t testing.TB, rc redis.UniversalClient) int64 {
	t.Helper()
	var n atomic.Int64
	err := ForEachMaster(context.Background(), rc, func(ctx context.Context, m *redis.Client) error {
		k, err := m.DBSize(ctx).Result()
		n.Add(k)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n.Load()
}

// Topology is a way to run Redis, by name, for tests that run on several.
type Topology struct {
	Name  string
	Start func(testing.TB) RedisTopology
}

// The topologies the tests run on.
var (
	SingleRedis   = Topology{"single", func(t testing.TB) RedisTopology { return Universal{Redis: StartRedis(t)} }}
	RedisCluster  = Topology{"cluster", func(t testing.TB) RedisTopology { return StartCluster(t) }}
	RedisSentinel = Topology{"sentinel", func(t testing.TB) RedisTopology { return StartSentinel(t) }}
)
