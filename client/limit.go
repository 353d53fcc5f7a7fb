package client

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// bucket is a token bucket: rate tokens a second, up to twice as many
// saved. Safe for concurrent use.
type bucket struct {
	rate int

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newBucket(rate int) *bucket { return &bucket{rate: rate, tokens: float64(2 * rate)} }

// take spends a token, reporting false when there is none.
func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := now.Sub(b.last); !b.last.IsZero() && d > 0 {
		b.tokens = min(float64(2*b.rate), b.tokens+d.Seconds()*float64(b.rate))
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// maxResponseBytes bounds every provider response body the SDK reads
// (discovery, JWKS, token, userinfo, revocation, GitHub's API): 1 MiB,
// far above any real one.
const maxResponseBytes = 1 << 20

// limitClient returns a copy of hc whose response bodies fail with
// ResponseTooLarge (internal/fail) past maxResponseBytes. hc is not modified.
func limitClient(hc *http.Client) *http.Client {
	cp := *hc
	if _, ok := cp.Transport.(limitTransport); !ok {
		cp.Transport = limitTransport{base: cp.Transport}
	}
	return &cp
}

type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := netx.Transport(t.base).RoundTrip(r)
	if err == nil {
		// One byte short of the bound: x/oauth2 reads token responses
		// through a LimitReader of exactly maxResponseBytes, which would
		// stop before this body could say it is larger.
		resp.Body = &limitedBody{rc: resp.Body, left: maxResponseBytes - 1}
	}
	return resp, err
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte means the body is larger than allowed.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, fail.ResponseTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
