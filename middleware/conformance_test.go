package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/hostile"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

type hostileApp struct {
	op    *hostile.OP
	app   *testenv.App
	rec   *recordingErrors
	clock *testenv.Clock
}

func newHostileApp(t *testing.T, op *hostile.OP, fetchUserInfo bool) (*hostileApp, error) {
	h := &hostileApp{op: op, rec: &recordingErrors{}, clock: &testenv.Clock{}}
	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		return nil, err
	}
	h.app = testenv.NewApp(t, map[string]string{}, func(appURL string) middleware.Config {
		c, err := client.New(client.Config{Provider: prov, ClientID: "rp", ClientSecret: "rp-secret",
			RedirectURL: appURL + "/auth/callback", FetchUserInfo: fetchUserInfo})
		if err != nil {
			t.Fatal(err)
		}
		cfg := middleware.Config{Clients: []*client.Client{c}, Now: h.clock.Now}
		h.rec.install(&cfg)
		return cfg
	})
	return h, nil
}

// signIn runs a whole sign-in and returns the callback's status.
func (h *hostileApp) signIn(t *testing.T, hc *http.Client) int {
	t.Helper()
	resp, _ := get(t, hc, h.app.URL+"/auth/login?return_to=/profile")
	resp, _ = get(t, hc, resp.Header.Get("Location")) // the OP approves at once
	resp, _ = get(t, hc, resp.Header.Get("Location")) // the callback
	return resp.StatusCode
}

// TestRPConformance plays the OpenID Foundation's Basic and Config RP
// certification cases end to end through the middleware. Each case names
// the outcome: accepted (signed in) or refused (with status and reason).
func TestRPConformance(t *testing.T) {
	const (
		accept = iota
		refuse
		refuseDiscovery
		refuseRefresh
	)
	other := hostile.NewKey("k2")
	cases := []struct {
		name     string // OIDF test name
		setup    func(op *hostile.OP)
		userinfo bool
		outcome  int
		status   int
		reason   error
	}{
		{"rp-response_type-code (happy path)", nil, false, accept, 0, nil},
		{"rp-id_token-issuer-mismatch", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.Claims["iss"] = "https://evil.example" })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"rp-id_token-sub (missing sub)", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { delete(tok.Claims, "sub") })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"rp-id_token-aud (wrong aud)", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.Claims["aud"] = "someone-else" })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"rp-id_token-iat (missing iat)", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { delete(tok.Claims, "iat") })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"rp-id_token-bad-sig-rs256", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.Garble = true })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"rp-id_token-sig-none", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.AlgNone = true })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"rp-nonce-invalid", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.Claims["nonce"] = "not-the-one-sent" })
		}, false, refuse, 401, fail.NonceMismatch},
		{"rp-id_token-kid-absent-single-jwks", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.OmitKid = true })
		}, false, accept, 0, nil},
		{"rp-id_token-kid-absent-multiple-jwks", func(op *hostile.OP) {
			first := hostile.NewKey("k1b")
			op.SetKeys(first, other)
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.OmitKid, tok.Sign = true, &other })
		}, false, accept, 0, nil},
		{"rp-id_token-sig-rs256 with an unknown key", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.Sign = &other })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"rp-discovery-issuer-not-matching-config", func(op *hostile.OP) {
			op.SetDiscoveryIssuer("https://evil.example")
		}, false, refuseDiscovery, 0, fail.Discovery},
		{"rp-userinfo-bad-sub-claim", func(op *hostile.OP) { op.SetUserinfoSub("someone-else") }, true, refuse, 401, fail.UserInfo},
		{"rp-userinfo (matching sub)", nil, true, accept, 0, nil},
		{"refreshed ID token with another sub", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, grant string) {
				if grant == "refresh_token" {
					tok.Claims["sub"] = "someone-else"
				}
			})
		}, false, refuseRefresh, 401, nil},
		{"refreshed ID token with another iss", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, grant string) {
				if grant == "refresh_token" {
					tok.Claims["iss"] = "https://evil.example"
				}
			})
		}, false, refuseRefresh, 401, nil},
		{"ID token expired", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) {
				tok.Claims["exp"] = time.Now().Add(-time.Hour).Unix()
				tok.Claims["iat"] = time.Now().Add(-2 * time.Hour).Unix()
			})
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"ID token not valid before tomorrow (nbf)", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.Claims["nbf"] = time.Now().Add(24 * time.Hour).Unix() })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"HS256 with a shared secret, discovery listing HS256", func(op *hostile.OP) {
			op.SetDiscoveryAlgs("HS256", "RS256")
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.HMAC = []byte("rp-secret-rp-secret-rp-secret-32") })
		}, false, refuse, 401, client.ErrInvalidIDToken},
		{"refreshed ID token with another aud", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, grant string) {
				if grant == "refresh_token" {
					tok.Claims["aud"], tok.Claims["azp"] = []string{"rp", "another-api"}, "rp"
				}
			})
		}, false, refuseRefresh, 401, nil},
		{"refreshed ID token with another auth_time", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, grant string) {
				tok.Claims["auth_time"] = time.Now().Add(-time.Minute).Unix()
				if grant == "refresh_token" {
					tok.Claims["auth_time"] = time.Now().Unix() + 5
				}
			})
		}, false, refuseRefresh, 401, nil},
		{"at_hash mismatch", func(op *hostile.OP) {
			op.Mint(func(tok *hostile.IDToken, _ string) { tok.Claims["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" })
		}, false, refuse, 401, fail.AccessTokenHash},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := hostile.New(t)
			if tc.setup != nil {
				tc.setup(op)
			}
			h, err := newHostileApp(t, op, tc.userinfo)
			if tc.outcome == refuseDiscovery {
				if !errors.Is(err, tc.reason) {
					t.Fatalf("discovery: %v, want %v", err, tc.reason)
				}
				t.Logf("outcome: refused at discovery (%v)", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hc := testenv.Browser()
			status := h.signIn(t, hc)
			_, who := get(t, hc, h.app.URL+"/whoami")
			switch tc.outcome {
			case accept, refuseRefresh:
				if status != http.StatusFound || who != "127.0.0.1:"+hostile.Subject {
					t.Fatalf("refused: status %d, reason %v", status, h.rec.last())
				}
				if tc.outcome == accept {
					t.Logf("outcome: accepted")
					return
				}
				// The token is due: the refresh brings the corrupted ID token.
				h.clock.Set(time.Now().Add(59*time.Minute + 30*time.Second))
				status, _ := testenv.APIRequest(t, hc, h.app.URL)
				h.clock.Set(time.Time{})
				_, who = get(t, hc, h.app.URL+"/whoami")
				if status != tc.status || who != "anonymous" {
					t.Errorf("after the refresh: status %d, whoami %q; want %d and signed out", status, who, tc.status)
				}
				t.Logf("outcome: session ended at refresh (%d)", status)
			case refuse:
				if status != tc.status || !errors.Is(h.rec.last(), tc.reason) || who != "anonymous" {
					t.Errorf("status %d, reason %v, whoami %q; want %d, %v, anonymous", status, h.rec.last(), who, tc.status, tc.reason)
				}
				t.Logf("outcome: refused %d (%v)", status, h.rec.last())
			}
		})
	}
}

// TestKeyRotationRefetchesJWKS: the OP rotates its signing key between two
// sign-ins; the new kid makes the SDK fetch the JWKS again, and the second
// sign-in is accepted. A token from a key the OP never published is not.
func TestKeyRotationRefetchesJWKS(t *testing.T) {
	op := hostile.New(t)
	h, err := newHostileApp(t, op, false)
	if err != nil {
		t.Fatal(err)
	}
	if status := h.signIn(t, testenv.Browser()); status != http.StatusFound {
		t.Fatalf("first sign-in: %d", status)
	}
	fetches := op.Count("/jwks")
	rotated := hostile.NewKey("k2")
	op.SetKeys(rotated)
	if status := h.signIn(t, testenv.Browser()); status != http.StatusFound {
		t.Fatalf("sign-in after rotation: %d (%v)", status, h.rec.last())
	}
	if op.Count("/jwks") != fetches+1 {
		t.Errorf("JWKS fetched %d more times, want 1", op.Count("/jwks")-fetches)
	}
	// Many more sign-ins: no more fetches.
	for range 5 {
		h.signIn(t, testenv.Browser())
	}
	if op.Count("/jwks") != fetches+1 {
		t.Errorf("JWKS fetched again without a new kid")
	}
}

// TestOnlyAsymmetricAlgs: algorithms a discovery document lists that are
// not asymmetric (HS*, none) are dropped from the accepted list.
func TestOnlyAsymmetricAlgs(t *testing.T) {
	op := hostile.New(t)
	op.SetDiscoveryAlgs("HS256", "none", "RS256", "ES256", "HS512")
	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := discovered(context.Background(), prov)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ep.SigningAlgs, ","); got != "RS256,ES256" {
		t.Errorf("accepted algorithms %s, want RS256,ES256", got)
	}
}

// TestAuthMethodFromDiscovery: with no AuthStyle set, the token endpoint's
// client authentication comes from discovery, so an app whose provider
// takes only client_secret_post (an Auth0 application's default) signs in
// without configuring it; when both methods are listed and basic is
// refused, post is tried once and kept.
func TestAuthMethodFromDiscovery(t *testing.T) {
	cases := []struct {
		name     string
		listed   []string
		first    int // token requests of the first sign-in
		enforced string
	}{
		{"only client_secret_post listed", []string{"client_secret_post"}, 1, "client_secret_post"},
		{"both listed, basic refused", []string{"client_secret_basic", "client_secret_post"}, 2, "client_secret_post"},
		{"both listed, basic taken", []string{"client_secret_basic", "client_secret_post"}, 1, "client_secret_basic"},
		{"none listed: basic (the default)", nil, 1, "client_secret_basic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := hostile.New(t)
			op.SetAuthMethods(tc.enforced, tc.listed...)
			h, err := newHostileApp(t, op, false)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []int{tc.first, 1} {
				before := op.Count("/token")
				if status := h.signIn(t, testenv.Browser()); status != http.StatusFound {
					t.Fatalf("sign-in %d: %d (%v)", i+1, status, h.rec.last())
				}
				if n := op.Count("/token") - before; n != want {
					t.Errorf("sign-in %d: %d token requests, want %d", i+1, n, want)
				}
			}
		})
	}
}
