package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what the Lua script's done() prints.
type wrkResult struct {
	Requests   int64         `json:"requests"`
	DurationUS int64         `json:"duration_us"`
	Connect    int64         `json:"connect"`
	Read       int64         `json:"read"`
	Write      int64         `json:"write"`
	Status     int64         `json:"status"`
	Timeout    int64         `json:"timeout"`
	P50US      int64         `json:"p50_us"`
	P99US      int64         `json:"p99_us"`
	MeanUS     float64       `json:"mean_us"`
	CPU        time.Duration `json:"-"` // wrk's own, user and system
}

// luaScript sends GET path with headers, each request with the next of
// cookies (prebuilt, so the load generator's cost per request is the same
// for every target), and prints the result as JSON.
func luaScript(path string, headers map[string]string, cookies []string) string {
	var b strings.Builder
	lstr := func(s string) string { return "[==[" + s + "]==]" }
	b.WriteString("local reqs = {}\nlocal n = 0\ninit = function(args)\n  local cookies = {")
	for _, c := range cookies {
		b.WriteString(lstr(c) + ",")
	}
	b.WriteString("}\n  if #cookies == 0 then cookies = {\"\"} end\n  for i, c in ipairs(cookies) do\n    local h = {")
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "[ %s ] = %s,", lstr(k), lstr(headers[k]))
	}
	b.WriteString("}\n    if c ~= \"\" then h[\"Cookie\"] = c end\n    reqs[i] = wrk.format(\"GET\", " + lstr(path) + ", h)\n  end\nend\n")
	b.WriteString(`request = function()
  n = n + 1
  return reqs[(n % #reqs) + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
`)
	return b.String()
}

// wrk runs the load generator against base+path for d with conns
// connections (2 threads, one per core of the machine it was made for).
func runWrk(dir, base, path string, headers map[string]string, cookies []string, conns int, d time.Duration) (wrkResult, error) {
	script := filepath.Join(dir, "load.lua")
	if err := os.WriteFile(script, []byte(luaScript(path, headers, cookies)), 0o600); err != nil {
		return wrkResult{}, err
	}
	args := []string{"wrk", "-t2", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s",
		"--timeout", "10s", "-s", script, base + path}
	if cpus := os.Getenv("PEERBENCH_WRK_CPUS"); cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	i := bytes.Index(out, []byte("RESULT "))
	if i < 0 {
		return wrkResult{}, fmt.Errorf("wrk printed no result: %s", out)
	}
	r := wrkResult{CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	line, _, _ := bytes.Cut(out[i+len("RESULT "):], []byte("\n"))
	if err := json.Unmarshal(line, &r); err != nil {
		return wrkResult{}, fmt.Errorf("wrk's result %q: %v", line, err)
	}
	if n := r.Connect + r.Read + r.Write + r.Status + r.Timeout; n > 0 {
		return r, fmt.Errorf("wrk: %d errors (connect %d, read %d, write %d, status %d, timeout %d)",
			n, r.Connect, r.Read, r.Write, r.Status, r.Timeout)
	}
	return r, nil
}

// signIn signs alice in to the app at base, as a browser would: the
// protected page, the redirect to the provider, its login form, the
// callback, the page again. It returns the app's cookies as a Cookie
// header.
func signIn(base, path string) (string, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`name="id"`)) {
		return "", fmt.Errorf("sign-in at %s: the provider's login form, got %d from %s: %.200s", base, resp.StatusCode, resp.Request.URL, body)
	}
	login := resp.Request.URL
	form := url.Values{"id": {login.Query().Get("id")}, "username": {"alice"}, "password": {"alice"}, "action": {"login"}}
	resp, err = hc.PostForm(login.Scheme+"://"+login.Host+"/login", form)
	if err != nil {
		return "", err
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "1" {
		return "", fmt.Errorf("sign-in at %s: the backend's page after the callback, got %d from %s: %.200s", base, resp.StatusCode, resp.Request.URL, body)
	}
	u, _ := url.Parse(base)
	var parts []string
	for _, c := range jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) == 0 {
		return "", errors.New("sign-in at " + base + ": no cookie")
	}
	return strings.Join(parts, "; "), nil
}

// probe checks one request of a run before it: a signed-in one reaches
// the backend, an unauthenticated one is sent to the provider.
func probe(base, path string, headers map[string]string, cookie string, wantRedirectTo string) error {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if wantRedirectTo != "" {
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), wantRedirectTo) {
			return fmt.Errorf("%s%s: want a redirect to %s, got %d to %q", base, path, wantRedirectTo, resp.StatusCode, resp.Header.Get("Location"))
		}
		return nil
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "1" {
		return fmt.Errorf("%s%s: want the backend's 200, got %d: %.200s", base, path, resp.StatusCode, body)
	}
	return nil
}

// cpuTicks is the process's user and system time in clock ticks (1/100 s).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

// memory is the process's resident set now and at its peak, in KiB.
func memory(pid int) (rss, peak int64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		case "VmHWM:":
			peak, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return rss, peak
}

// backendCounts reads the backend's connections and requests so far.
func backendCounts(stats string) (conns, requests int64, err error) {
	resp, err := http.Get(stats)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, err = fmt.Fscan(resp.Body, &conns, &requests)
	return conns, requests, err
}
