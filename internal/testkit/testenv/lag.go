package testenv

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// LaggingPair is a master and its replica whose replication link runs
// through a proxy that a test can hold up: Hold makes the replica fall
// behind, as over a slow network. Fail kills the master and cuts the link,
// dropping what was in flight (as when the master's host dies, not only its
// process: a killed process's kernel still delivers what it had written),
// and promotes the replica.
type LaggingPair struct {
	Master, Replica string

	t       testing.TB
	master  *node
	replica *node
	link    *laggingLink
}

// StartLaggingPair starts the pair and waits until the replica is in sync.
func StartLaggingPair(t testing.TB) *LaggingPair {
	t.Helper()
	path := RequireBinary(t, "redis-server")
	dir := t.TempDir()
	ports := freePorts(t, 2)
	p := &LaggingPair{t: t}
	p.master = startNode(t, path, dir, ports[0], "--repl-diskless-sync-delay", "0")
	t.Cleanup(p.master.kill)
	link, err := newLaggingLink(p.master.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.link = link
	t.Cleanup(link.cut)
	host, port, _ := net.SplitHostPort(link.addr())
	p.replica = startNode(t, path, dir, ports[1], "--replicaof", host, port)
	t.Cleanup(p.replica.kill)
	p.Master, p.Replica = p.master.addr, p.replica.addr
	rc := redis.NewClient(&redis.Options{Addr: p.Replica})
	defer rc.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err := rc.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not sync through the lagging link: %v %s", err, info)
		}
	}
}

// Hold delays what the link carries from now on, both ways, until d from
// now.
func (p *LaggingPair) Hold(d time.Duration) { p.link.hold(time.Now().Add(d)) }

// Fail kills the master, cuts the link with what was in flight, and makes
// the replica a master.
func (p *LaggingPair) Fail() {
	p.t.Helper()
	p.link.cut()
	p.master.kill()
	rc := redis.NewClient(&redis.Options{Addr: p.Replica})
	defer rc.Close()
	if err := rc.Do(context.Background(), "replicaof", "no", "one").Err(); err != nil {
		p.t.Fatalf("promoting the replica: %v", err)
	}
}

// laggingLink forwards TCP connections to target; what it reads while held
// is delivered, in order, when the hold ends.
type laggingLink struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
	gone  bool
	until time.Time // held until
}

func newLaggingLink(target string) (*laggingLink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k := &laggingLink{l: l, target: target}
	go k.serve()
	return k, nil
}

func (k *laggingLink) addr() string { return k.l.Addr().String() }

func (k *laggingLink) serve() {
	for {
		c, err := k.l.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", k.target)
		if err != nil {
			c.Close()
			continue
		}
		k.mu.Lock()
		if k.gone {
			k.mu.Unlock()
			c.Close()
			u.Close()
			return
		}
		k.conns = append(k.conns, c, u)
		k.mu.Unlock()
		go k.forward(u, c)
		go k.forward(c, u)
	}
}

func (k *laggingLink) hold(until time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.until = until
}

func (k *laggingLink) heldUntil() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.until
}

func (k *laggingLink) isCut() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gone
}

// forward copies src to dst, in order, each read delivered once the hold
// in force when it was read ends.
func (k *laggingLink) forward(dst, src net.Conn) {
	type chunk struct {
		at time.Time
		b  []byte
	}
	q := make(chan chunk, 4096)
	go func() {
		for c := range q { // drained to the end, so that the reader never blocks
			time.Sleep(time.Until(c.at))
			if !k.isCut() {
				dst.Write(c.b) // a failed write: the connection is gone, so is the rest
			}
		}
	}()
	defer close(q)
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{k.heldUntil(), append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			return
		}
	}
}

// cut closes the link and every connection through it; what was in
// flight is never delivered.
func (k *laggingLink) cut() {
	k.mu.Lock()
	k.gone = true
	conns := k.conns
	k.conns = nil
	k.mu.Unlock()
	k.l.Close()
	for _, c := range conns {
		c.Close()
	}
}
