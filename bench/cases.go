package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// benchCase is one process under one load.
type benchCase struct {
	name     string
	proc     string // the process measured (its CPU time)
	path     string
	headers  map[string]string
	cookies  []string
	conns    int
	redirect bool // the answer is the redirect to the provider
	signIn   bool // sequential sign-ins, not wrk
	openLoop bool // at bench.rate, by the open-loop generator, not wrk
}

// measurement is one run of a case.
type measurement struct {
	rps      float64 // requests (or sign-ins) a second
	p50, p99 float64 // ms
	cpu      float64 // µs of the process's CPU per request (or sign-in)
	newConns float64 // new connections at the backend per request
	requests int64
	loadCPU  float64 // the load generator's CPU, in cores
}

var (
	apiCall    = map[string]string{"Accept": "application/json"}
	bffCall    = map[string]string{"Accept": "application/json", "X-CSRF": "1"}
	navigation = map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
)

// The bare proxy gets the app's cookies too: the same requests, without
// the SDK.
func (b *bench) cases(cookies map[string][]string, conns int) []benchCase {
	// In an order that puts each case beside the ones it is compared with.
	return []benchCase{
		{name: "oauth2-proxy, cookie", proc: "oauth2-proxy", path: "/", headers: apiCall, cookies: cookies["oauth2-proxy"], conns: conns},
		{name: "confidant, cookie", proc: "confidant", path: "/", headers: apiCall, cookies: cookies["confidant"], conns: conns},
		{name: "bare proxy", proc: "bare", path: "/", headers: apiCall, cookies: cookies["confidant"], conns: conns},
		{name: "bare proxy, the BFF's baseline", proc: "bare", path: "/api/items", headers: bffCall, cookies: cookies["confidant-bff"], conns: conns},
		{name: "confidant, BFF Proxy", proc: "confidant-bff", path: "/api/items", headers: bffCall, cookies: cookies["confidant-bff"], conns: conns},
		{name: "confidant, cookie, http.DefaultTransport", proc: "confidant-bff", path: "/default/", headers: apiCall, cookies: cookies["confidant-bff"], conns: conns},
		{name: "confidant, Redis", proc: "confidant-redis", path: "/", headers: apiCall, cookies: cookies["confidant-redis"], conns: conns},
		{name: "oauth2-proxy, Redis", proc: "oauth2-proxy-redis", path: "/", headers: apiCall, cookies: cookies["oauth2-proxy-redis"], conns: conns},
		{name: "confidant, redirect", proc: "confidant", path: "/", headers: navigation, conns: conns, redirect: true},
		{name: "oauth2-proxy, redirect", proc: "oauth2-proxy", path: "/", headers: navigation, conns: conns, redirect: true},
		{name: "bare redirect", proc: "bare", path: "/redirect", headers: navigation, conns: conns, redirect: true},
		{name: "confidant, redirect, fixed rate", proc: "confidant", path: "/", headers: navigation, conns: conns, redirect: true, openLoop: true},
		{name: "oauth2-proxy, redirect, fixed rate", proc: "oauth2-proxy", path: "/", headers: navigation, conns: conns, redirect: true, openLoop: true},
		{name: "bare proxy, the BFF's baseline, 256", proc: "bare", path: "/api/items", headers: bffCall, cookies: cookies["confidant-bff"], conns: 256},
		{name: "confidant, BFF Proxy, 256", proc: "confidant-bff", path: "/api/items", headers: bffCall, cookies: cookies["confidant-bff"], conns: 256},
		{name: "confidant, sign-in", proc: "confidant", path: "/", signIn: true},
		{name: "oauth2-proxy, sign-in", proc: "oauth2-proxy", path: "/", signIn: true},
	}
}

// check sends one request of the case and checks its answer.
func (c benchCase) check(b *bench) error {
	if c.signIn {
		_, err := signIn(b.urls[c.proc], c.path)
		return err
	}
	cookie := ""
	if len(c.cookies) > 0 {
		cookie = c.cookies[0]
	}
	want := ""
	if c.redirect {
		want = b.issuer + "/"
	}
	if err := probe(b.urls[c.proc], c.path, c.headers, cookie, want); err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// measure runs the case for d and checks that every request got the
// answer it should: the backend's (each one reached it) or the redirect
// (none did).
func (c benchCase) measure(b *bench, d time.Duration) (measurement, error) {
	pid := b.pids[c.proc]
	t0, err := cpuTicks(pid)
	if err != nil {
		return measurement{}, err
	}
	conns0, reqs0, err := b.settled()
	if err != nil {
		return measurement{}, err
	}
	var m measurement
	start := time.Now()
	if c.signIn {
		for time.Since(start) < d {
			if _, err := signIn(b.urls[c.proc], c.path); err != nil {
				return m, err
			}
			m.requests++
		}
		m.rps = float64(m.requests) / time.Since(start).Seconds()
	} else {
		run := func() (wrkResult, error) {
			if c.openLoop {
				return runOpenLoop(b.self, b.urls[c.proc]+c.path, c.headers["Accept"], b.rate, c.conns, d)
			}
			return runWrk(b.dir, b.urls[c.proc], c.path, c.headers, c.cookies, c.conns, d)
		}
		r, err := run()
		if err != nil {
			return m, err
		}
		m.requests = r.Requests
		m.rps = float64(r.Requests) / (float64(r.DurationUS) / 1e6)
		m.p50, m.p99 = float64(r.P50US)/1000, float64(r.P99US)/1000
		m.loadCPU = r.CPU.Seconds() / (float64(r.DurationUS) / 1e6)
	}
	t1, err := cpuTicks(pid)
	if err != nil {
		return m, err
	}
	conns1, reqs1, err := b.settled()
	if err != nil {
		return m, err
	}
	if m.requests == 0 {
		return m, fmt.Errorf("no request completed")
	}
	switch reached := reqs1 - reqs0; {
	case c.redirect && reached != 0:
		return m, fmt.Errorf("%d requests reached the backend; none should have", reached)
	case !c.redirect && (reached < m.requests || reached > m.requests+int64(c.conns)):
		// At most one a connection more: those under way when the load
		// stopped reached the backend but were not counted.
		return m, fmt.Errorf("%d requests completed, %d reached the backend", m.requests, reached)
	}
	if !c.signIn {
		// And one answer after the run, as before it.
		if err := c.check(b); err != nil {
			return m, fmt.Errorf("after the run: %w", err)
		}
	}
	m.cpu = float64(t1-t0) * 10_000 / float64(m.requests) // ticks of 10 ms, in µs
	m.newConns = float64(conns1-conns0) / float64(m.requests)
	return m, nil
}

// settled reads the backend's counters once the requests still under way
// (those of a run that just ended) have reached it.
func (b *bench) settled() (conns, requests int64, err error) {
	conns, requests, err = backendCounts(b.stats)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		c, r, err := backendCounts(b.stats)
		if err != nil || (c == conns && r == requests) {
			return c, r, err
		}
		conns, requests = c, r
	}
	return conns, requests, err
}

// stat is the median and range of one quantity over the rounds.
type stat struct {
	med, lo, hi float64
	n           int
}

func statOf(v []float64) stat {
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med, s[0], s[len(s)-1], len(s)}
}

func (s stat) String() string { return fmt.Sprintf("%.2f× (%.2f–%.2f)", s.med, s.lo, s.hi) }

// ratios is a/b of one quantity, round by round.
func ratios(res map[string][]measurement, a, b string, q func(measurement) float64) stat {
	if len(res[a]) == 0 || len(res[a]) != len(res[b]) {
		return stat{} // a case not run (-only)
	}
	var v []float64
	for i := range res[a] {
		v = append(v, q(res[a][i])/q(res[b][i]))
	}
	return statOf(v)
}

func report(w io.Writer, b *bench, res map[string][]measurement, rounds int, d time.Duration, conns, nsess int, load0 string) {
	rps := func(m measurement) float64 { return m.rps }
	p99 := func(m measurement) float64 { return m.p99 }
	cpu := func(m measurement) float64 { return m.cpu }
	verdict := func(s stat, atLeast bool, target float64) string {
		ok := s.lo >= target
		if !atLeast {
			ok = s.hi <= target
		}
		if ok {
			return "met in every round"
		}
		if (atLeast && s.med >= target) || (!atLeast && s.med <= target) {
			return "met by the median, not in every round"
		}
		return "NOT MET"
	}
	fmt.Fprintf(w, "\n## Ratios, round by round (median, and range over %d rounds)\n\n", rounds)
	fmt.Fprintln(w, "| what | ratio | target | |")
	fmt.Fprintln(w, "|---|---|---|---|")
	row := func(what string, s stat, target string, atLeast bool, t float64) {
		if s.n == 0 {
			return
		}
		v := ""
		if target != "" {
			v = verdict(s, atLeast, t)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", what, s, target, v)
	}
	row("signed-in requests/s, cookie sessions: confidant / oauth2-proxy", ratios(res, "confidant, cookie", "oauth2-proxy, cookie", rps), "≥ 1.5×", true, 1.5)
	row("  CPU per request, cookie sessions: confidant / oauth2-proxy", ratios(res, "confidant, cookie", "oauth2-proxy, cookie", cpu), "", false, 0)
	row("signed-in requests/s, Redis sessions: confidant / oauth2-proxy", ratios(res, "confidant, Redis", "oauth2-proxy, Redis", rps), "≥ 1.5×", true, 1.5)
	row("  CPU per request, Redis sessions: confidant / oauth2-proxy", ratios(res, "confidant, Redis", "oauth2-proxy, Redis", cpu), "", false, 0)
	row("signed-in requests/s, the app's proxy on http.DefaultTransport / oauth2-proxy", ratios(res, "confidant, cookie, http.DefaultTransport", "oauth2-proxy, cookie", rps), "", false, 0)
	row("redirect to the provider, p99: confidant / oauth2-proxy", ratios(res, "confidant, redirect", "oauth2-proxy, redirect", p99), "≤ 1×", false, 1)
	row(fmt.Sprintf("redirect to the provider, p99 at the same rate (%.0f/s, open loop): confidant / oauth2-proxy", b.rate), ratios(res, "confidant, redirect, fixed rate", "oauth2-proxy, redirect, fixed rate", p99), "≤ 1×", false, 1)
	row("  redirects/s: confidant / oauth2-proxy", ratios(res, "confidant, redirect", "oauth2-proxy, redirect", rps), "", false, 0)
	row("full sign-ins/s (sequential): confidant / oauth2-proxy", ratios(res, "confidant, sign-in", "oauth2-proxy, sign-in", rps), "", false, 0)
	row("  CPU per sign-in: confidant / oauth2-proxy", ratios(res, "confidant, sign-in", "oauth2-proxy, sign-in", cpu), "", false, 0)
	row(fmt.Sprintf("signed-in p99 (cookie): confidant / bare proxy, %d connections", conns), ratios(res, "confidant, cookie", "bare proxy", p99), "≤ 1.2×", false, 1.2)
	row(fmt.Sprintf("BFF Proxy requests/s / bare proxy, %d connections", conns), ratios(res, "confidant, BFF Proxy", "bare proxy, the BFF's baseline", rps), "≥ 0.9×", true, 0.9)
	row("BFF Proxy requests/s / bare proxy, 256 connections", ratios(res, "confidant, BFF Proxy, 256", "bare proxy, the BFF's baseline, 256", rps), "≥ 0.9×", true, 0.9)

	fmt.Fprintf(w, "\n## Each case (median over the rounds)\n\n")
	fmt.Fprintln(w, "| case | conns | requests/s | p50 ms | p99 ms | CPU µs/request | new backend connections/request (max) | wrk's CPU (cores) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, c := range b.cases(nil, conns) {
		ms := res[c.name]
		if len(ms) == 0 {
			continue
		}
		q := func(f func(measurement) float64) stat {
			var v []float64
			for _, m := range ms {
				v = append(v, f(m))
			}
			return statOf(v)
		}
		n := fmt.Sprint(c.conns)
		if c.signIn {
			n = "1"
		}
		nc := q(func(m measurement) float64 { return m.newConns })
		fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %.2f | %.0f | %.4f (%.4f) | %.2f |\n", c.name, n,
			q(rps).med, q(func(m measurement) float64 { return m.p50 }).med, q(p99).med, q(cpu).med, nc.med, nc.hi,
			q(func(m measurement) float64 { return m.loadCPU }).med)
	}
	fmt.Fprintf(w, "\n## Memory after the load (resident, and peak), KiB\n\n| process | resident | peak |\n|---|---|---|\n")
	for _, p := range []string{"confidant", "oauth2-proxy", "confidant-redis", "oauth2-proxy-redis", "confidant-bff", "bare"} {
		rss, peak := memory(b.pids[p])
		fmt.Fprintf(w, "| %s | %d | %d |\n", p, rss, peak)
	}
	r1, _ := memory(b.pids["confidant"])
	r2, _ := memory(b.pids["oauth2-proxy"])
	fmt.Fprintf(w, "\nResident memory, cookie sessions: confidant / oauth2-proxy %.2f×\n", float64(r1)/float64(r2))
	fmt.Fprintf(w, "\n## Machine\n\n%d cores (%s), %s, %s; %d rounds of %s per case, %d sessions per app in turn; load average %s before, %s after\n",
		runtime.NumCPU(), cpuModel(), kernel(), runtime.Version(), rounds, d, nsess, load0, loadavg())
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func kernel() string {
	out, _ := exec.Command("uname", "-sr").Output()
	return strings.TrimSpace(string(out))
}
