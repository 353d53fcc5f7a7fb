// Command peerbench measures an app built on confidant against
// oauth2-proxy, the proxy a Go team deploys instead of writing sign-in
// into the app, on one machine, with the same provider and the same
// backend, and an app's BFF proxy against a bare httputil.ReverseProxy:
//
//	bash scripts/peerbench.sh            # from the repository's root
//	cd bench && go run . -rounds 7 -duration 5s
//
// It needs wrk and redis-server (Debian: apt-get install wrk
// redis-server) and the Go module proxy: it builds oauth2-proxy at the
// version pinned below with go install, and cmd/devprovider from this
// repository. Every process is separate: the provider, the backend, Redis,
// oauth2-proxy with cookie and with Redis sessions, the app with cookie
// and with Redis sessions, the bare proxy, and wrk. Rounds are
// interleaved (each round runs every case once, in alternating order,
// each run after a second of warm-up) and each ratio is taken within a
// round; it prints the median and the range
// of each. docs/performance.md has its last results.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// oauth2ProxyVersion is the peer, built from the Go module proxy.
const oauth2ProxyVersion = "v7.15.6"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "backend":
			runBackend(os.Args[2:])
			return
		case "app":
			runApp(os.Args[2:])
			return
		case "bare":
			runBare(os.Args[2:])
			return
		case "load":
			runLoad(os.Args[2:])
			return
		}
	}
	log.SetFlags(0)
	rounds := flag.Int("rounds", 7, "interleaved rounds")
	duration := flag.Duration("duration", 5*time.Second, "each case's run in a round (whole seconds)")
	conns := flag.Int("conns", 32, "wrk's connections (the BFF cases also run at 256)")
	nsess := flag.Int("sessions", 16, "signed-in sessions per app, used in turn by the load")
	rate := flag.Float64("rate", 0, "the open-loop redirect cases' requests a second (default: half of oauth2-proxy's redirects/s in the warm-up)")
	smoke := flag.Bool("smoke", false, "one round of 1 s runs: check that every case works, measure nothing")
	keep := flag.Bool("keep", false, "keep the work directory (logs, binaries)")
	only := flag.String("only", "", "run only the cases whose names match this regular expression")
	flag.Parse()
	if *smoke {
		*rounds, *duration, *nsess = 1, time.Second, 2
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		log.Fatal("peerbench: -only: ", err)
	}
	if err := run(*rounds, *duration, *conns, *nsess, *rate, *smoke, *keep, re); err != nil {
		log.Fatal("peerbench: ", err)
	}
}

type bench struct {
	dir    string
	procs  []*exec.Cmd
	pids   map[string]int
	urls   map[string]string
	stats  string
	issuer string
	self   string  // this program, for the processes it starts
	rate   float64 // the open-loop cases' requests a second
	keep   bool
}

func run(rounds int, d time.Duration, conns, nsess int, rate float64, smoke, keep bool, only *regexp.Regexp) error {
	for _, tool := range []string{"wrk", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (Debian: apt-get install wrk redis-server)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "peerbench")
	if err != nil {
		return err
	}
	if keep {
		log.Printf("work directory: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{dir: dir, pids: map[string]int{}, urls: map[string]string{}, rate: rate, keep: keep}
	if smoke && rate == 0 {
		b.rate = 200
	}
	defer b.stop()
	if err := b.start(); err != nil {
		return err
	}

	// Sessions: each app's users signed in through the provider.
	cookies := map[string][]string{}
	for _, app := range []string{"confidant", "confidant-redis", "confidant-bff", "oauth2-proxy", "oauth2-proxy-redis"} {
		for range nsess {
			c, err := signIn(b.urls[app], "/")
			if err != nil {
				return err
			}
			cookies[app] = append(cookies[app], c)
		}
	}
	var cases []benchCase
	for _, c := range b.cases(cookies, conns) {
		if only.MatchString(c.name) {
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		if err := c.check(b); err != nil {
			return err
		}
	}

	load0 := loadavg()
	log.Printf("peerbench: %d rounds of %d cases, %s each; warming up", rounds, len(cases), d)
	if !smoke {
		for _, c := range cases {
			if c.openLoop {
				continue
			}
			m, err := c.measure(b, time.Second)
			if err != nil {
				return err
			}
			if c.name == "oauth2-proxy, redirect" && b.rate == 0 {
				b.rate = m.rps / 2
			}
		}
		if b.rate == 0 {
			b.rate = 1000
		}
		for _, c := range cases {
			if c.openLoop {
				if _, err := c.measure(b, time.Second); err != nil {
					return err
				}
			}
		}
	}
	results := map[string][]measurement{}
	for round := range rounds {
		order := slices.Clone(cases)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, c := range order {
			if !smoke && !c.signIn {
				// A second first, not counted: connections made and
				// pools filled again (idle ones close after 90 s, about
				// a round), so that the run measures the steady state.
				if _, err := c.measure(b, time.Second); err != nil {
					return fmt.Errorf("round %d, %s: %w", round+1, c.name, err)
				}
			}
			m, err := c.measure(b, d)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round+1, c.name, err)
			}
			results[c.name] = append(results[c.name], m)
		}
		log.Printf("round %d/%d done (load average %s)", round+1, rounds, loadavg())
	}
	if smoke {
		log.Printf("peerbench: smoke: every case ran and checked its answers (nothing measured)")
		return nil
	}
	report(os.Stdout, b, results, rounds, d, conns, nsess, load0)
	return nil
}

// start builds the binaries and starts every process.
func (b *bench) start() error {
	bin := filepath.Join(b.dir, "bin")
	log.Printf("building oauth2-proxy %s and devprovider", oauth2ProxyVersion)
	install := exec.Command("go", "install", "github.com/oauth2-proxy/oauth2-proxy/v7@"+oauth2ProxyVersion)
	install.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("building oauth2-proxy: %v: %s", err, out)
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "devprovider"), "github.com/confidant-go/confidant/cmd/devprovider").CombinedOutput(); err != nil {
		return fmt.Errorf("building devprovider: %v: %s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b.self = self
	port := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		defer ln.Close()
		return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	// The provider on another loopback address than the apps, so that
	// their cookies (which do not tell ports apart) stay apart.
	pp := port()
	b.issuer = "http://127.0.0.2:" + pp
	apps := map[string]string{}
	for _, app := range []string{"confidant", "confidant-redis", "confidant-bff", "oauth2-proxy", "oauth2-proxy-redis", "bare"} {
		apps[app] = "127.0.0.1:" + port()
		b.urls[app] = "http://" + apps[app]
	}
	backend, stats, redisPort := "127.0.0.1:"+port(), "127.0.0.1:"+port(), port()
	b.stats = "http://" + stats
	backendURL := "http://" + backend

	if err := b.spawn("redis", "127.0.0.1:"+redisPort, nil, "redis-server", "--port", redisPort, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no"); err != nil {
		return err
	}
	if err := b.spawn("provider", "127.0.0.2:"+pp, nil, filepath.Join(bin, "devprovider"), "-addr", "127.0.0.2:"+pp,
		"-token-lifetime", "24h",
		"-redirect", b.urls["confidant"]+"/auth/callback", "-redirect", b.urls["confidant-redis"]+"/auth/callback", "-redirect", b.urls["confidant-bff"]+"/auth/callback",
		"-redirect", b.urls["oauth2-proxy"]+"/oauth2/callback", "-redirect", b.urls["oauth2-proxy-redis"]+"/oauth2/callback"); err != nil {
		return err
	}
	if err := b.spawn("backend", backend, nil, self, "backend", "-addr", backend, "-stats", stats); err != nil {
		return err
	}
	keys := make([]byte, 32)
	rand.Read(keys)
	env := append([]string{"SESSION_KEYS=" + base64.StdEncoding.EncodeToString(keys)}, strings.Fields(os.Getenv("PEERBENCH_APP_ENV"))...)
	if err := b.spawn("confidant", apps["confidant"], env, self, "app", "-addr", apps["confidant"], "-issuer", b.issuer, "-backend", backendURL); err != nil {
		return err
	}
	if err := b.spawn("confidant-bff", apps["confidant-bff"], env, self, "app", "-addr", apps["confidant-bff"], "-issuer", b.issuer, "-backend", backendURL); err != nil {
		return err
	}
	if err := b.spawn("confidant-redis", apps["confidant-redis"], env, self, "app", "-addr", apps["confidant-redis"], "-issuer", b.issuer,
		"-backend", backendURL, "-redis", "127.0.0.1:"+redisPort); err != nil {
		return err
	}
	if err := b.spawn("bare", apps["bare"], env[1:], self, "bare", "-addr", apps["bare"], "-backend", backendURL, "-issuer", b.issuer); err != nil {
		return err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	for _, name := range []string{"oauth2-proxy", "oauth2-proxy-redis"} {
		args := []string{
			"--http-address=" + apps[name],
			"--provider=oidc", "--oidc-issuer-url=" + b.issuer,
			"--client-id=dev-app", "--client-secret=dev-secret",
			"--redirect-url=" + b.urls[name] + "/oauth2/callback",
			"--upstream=" + backendURL + "/",
			"--cookie-secret=" + hex.EncodeToString(secret), "--cookie-secure=false",
			"--email-domain=*", "--skip-provider-button=true", "--code-challenge-method=S256",
			// No line per request: the app logs none either.
			"--request-logging=false", "--auth-logging=false",
		}
		if name == "oauth2-proxy-redis" {
			args = append(args, "--session-store-type=redis", "--redis-connection-url=redis://127.0.0.1:"+redisPort)
		}
		if err := b.spawn(name, apps[name], nil, filepath.Join(bin, "oauth2-proxy"), args...); err != nil {
			return err
		}
	}
	return nil
}

// spawn starts a process, its output in the work directory, and waits
// until addr takes connections.
func (b *bench) spawn(name, addr string, env []string, path string, args ...string) error {
	f, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.procs = append(b.procs, cmd)
	b.pids[name] = cmd.Process.Pid
	if b.keep {
		log.Printf("%s: pid %d, http://%s", name, cmd.Process.Pid, addr)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-exited:
			out, _ := os.ReadFile(f.Name())
			return fmt.Errorf("%s exited (%v): %s", name, err, out)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: not listening on %s after a minute", name, addr)
}

func (b *bench) stop() {
	for _, p := range b.procs {
		p.Process.Kill()
	}
}

func loadavg() string {
	out, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
