package emulate

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// AppleSecrets checks client secrets as Sign in with Apple does
// ("Creating a client secret", developer.apple.com/documentation/
// accountorganizationaldatasharing/creating-a-client-secret): a JWT signed
// ES256 by the developer's key, with kid the Key ID, iss the Team ID, sub
// the client ID (the Services ID), aud the issuer, iat and exp at most
// 15,777,000 seconds (six months) apart, and not expired. As a front of a
// provider's token and revocation endpoints it swaps a good secret for the
// client's registered one and refuses any other with invalid_client; its
// discovery lists client_secret_post alone, as Apple's does.
type AppleSecrets struct {
	Key           crypto.PublicKey
	KeyID, TeamID string
	ClientID      string
	Audience      string
	Registered    string // the secret the provider behind knows
	Now           func() time.Time
	Next          http.Handler
	Paths         []string // the endpoints that authenticate the client
	mu            sync.Mutex
	seen          map[string]bool
	bad           int
}

// Verify checks secret.
func (a *AppleSecrets) Verify(secret string) error {
	tok, err := jwt.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return fmt.Errorf("not an ES256 JWT: %w", err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID != a.KeyID {
		return errors.New("kid is not the Key ID")
	}
	var c jwt.Claims
	if err := tok.Claims(a.Key, &c); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	if c.Issuer != a.TeamID || c.Subject != a.ClientID || len(c.Audience) != 1 || c.Audience[0] != a.Audience {
		return fmt.Errorf("iss %q, sub %q, aud %q", c.Issuer, c.Subject, c.Audience)
	}
	if c.IssuedAt == nil || c.Expiry == nil {
		return errors.New("no iat or exp")
	}
	iat, exp := c.IssuedAt.Time(), c.Expiry.Time()
	if exp.Sub(iat) > 15777000*time.Second {
		return errors.New("exp more than six months after iat")
	}
	if !a.Now().Before(exp) {
		return errors.New("expired")
	}
	return nil
}

// Secrets reports how many distinct secrets were accepted, and how many
// requests were refused.
func (a *AppleSecrets) Secrets() (accepted, refused int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen), a.bad
}

func (a *AppleSecrets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == devprovider.PathDiscovery {
		rec := httptest.NewRecorder()
		a.Next.ServeHTTP(rec, r)
		var doc map[string]any
		json.Unmarshal(rec.Body.Bytes(), &doc)
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post"}
		writeJSON(w, doc)
		return
	}
	guarded := false
	for _, p := range a.Paths {
		guarded = guarded || r.URL.Path == p
	}
	if !guarded || r.Method != http.MethodPost {
		a.Next.ServeHTTP(w, r)
		return
	}
	r.ParseForm()
	secret := r.PostForm.Get("client_secret")
	if err := a.Verify(secret); err != nil || r.PostForm.Get("client_id") != a.ClientID {
		a.mu.Lock()
		a.bad++
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_client"}`)
		return
	}
	a.mu.Lock()
	if a.seen == nil {
		a.seen = map[string]bool{}
	}
	a.seen[secret] = true
	a.mu.Unlock()
	form := url.Values{}
	for k, v := range r.PostForm {
		form[k] = v
	}
	form.Set("client_secret", a.Registered)
	body := form.Encode()
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(strings.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Form, r2.PostForm = nil, nil
	a.Next.ServeHTTP(w, r2)
}
