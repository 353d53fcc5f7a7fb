package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runLoad is the open-loop load generator (the shape of wrk2): requests
// are scheduled at a fixed rate, whatever the answers' pace, and each one's
// latency counts from when it was scheduled, so a server that falls behind
// is charged for the queue it builds (no coordinated omission). At most
// -conns requests are under way, on as many kept-alive connections. It
// prints one JSON line: the requests, the errors and the percentiles.
func runLoad(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	target := fs.String("url", "", "the URL to GET")
	rate := fs.Float64("rate", 1000, "requests a second")
	d := fs.Duration("d", 5*time.Second, "how long")
	conns := fs.Int("conns", 32, "connections")
	accept := fs.String("accept", "", "the Accept header")
	want := fs.Int("status", http.StatusFound, "the status every answer must have")
	fs.Parse(args)
	tr := &http.Transport{MaxConnsPerHost: *conns, MaxIdleConnsPerHost: *conns, DisableCompression: true}
	due := make(chan time.Time, 1<<16)
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var wg sync.WaitGroup
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range due {
				req, _ := http.NewRequest(http.MethodGet, *target, nil)
				if *accept != "" {
					req.Header.Set("Accept", *accept)
				}
				resp, err := tr.RoundTrip(req)
				ok := err == nil && resp.StatusCode == *want
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				l := time.Since(t)
				mu.Lock()
				if ok {
					lat = append(lat, l)
				} else {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / *rate)
	for i := 0; ; i++ {
		t := start.Add(time.Duration(i) * interval)
		if t.Sub(start) >= *d {
			break
		}
		if w := time.Until(t); w > 0 {
			time.Sleep(w)
		}
		due <- t
	}
	close(due)
	wg.Wait()
	slices.Sort(lat)
	pct := func(p float64) int64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()
	}
	json.NewEncoder(os.Stdout).Encode(wrkResult{Requests: int64(len(lat)), DurationUS: time.Since(start).Microseconds(),
		Status: int64(errs), P50US: pct(0.50), P99US: pct(0.99)})
}

// runOpenLoop runs the open-loop generator as a process of its own.
func runOpenLoop(self, target, accept string, rate float64, conns int, d time.Duration) (wrkResult, error) {
	cmd := exec.Command(self, "load", "-url", target, "-accept", accept, "-rate", strconv.FormatFloat(rate, 'f', 0, 64),
		"-conns", strconv.Itoa(conns), "-d", d.String())
	out, err := cmd.Output()
	if err != nil {
		return wrkResult{}, fmt.Errorf("load: %v: %s", err, out)
	}
	var r wrkResult
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("load's result %q: %v", strings.TrimSpace(string(out)), err)
	}
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if r.Status > 0 {
		return r, fmt.Errorf("load: %d requests failed or got another status", r.Status)
	}
	return r, nil
}
