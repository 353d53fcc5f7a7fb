package confidanttest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// User is an account at the test provider.
type User struct {
	Subject  string // the stable ID ("sub"); required
	Username string // what the login form takes; default Subject
	Password string // default "password"
	Name     string
	Email    string // reported verified
	// Claims are more claims of the ID token and userinfo (groups, roles,
	// a custom claim).
	Claims map[string]any
}

// Options configure a test provider.
type Options struct {
	// Users are its accounts. Default: one user, "test-user".
	Users []User
	// AccessTokenLifetime is how long access tokens live. Default 5
	// minutes. With a Clock, a test moves past it instead of waiting.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token lives from its
	// issue. Default 24 hours.
	RefreshTokenLifetime time.Duration
	// NoRefreshTokenRotation keeps a refresh token across refreshes, as
	// providers without rotation do. By default each refresh returns a
	// new refresh token, and presenting one that was rotated away revokes
	// them all (RefreshTokenReuses counts that).
	NoRefreshTokenRotation bool
	// Clock dates and expires the provider's tokens. Give the app the same
	// clock (Now in middleware.Config, client.Config and the store's
	// config), and a test moves both past a token's expiry with
	// Clock.Add. Default: the wall clock.
	Clock *Clock
	// Addr is the address it listens on, host:port (a program a person's
	// browser signs in to across restarts, such as a demo, keeps its
	// issuer). Default: a free port on the loopback interface.
	Addr string
}

// Clock is a clock a test moves on: the wall clock, ahead by what Add
// added; or, after Set, stopped at the time set and moved on by Add. The
// zero value is the wall clock. It is safe for concurrent use.
type Clock struct {
	mu    sync.Mutex
	ahead time.Duration
	at    time.Time // stopped here when not zero
}

// NewClock returns a clock at the wall clock's time.
func NewClock() *Clock { return &Clock{} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() {
		return c.at
	}
	return time.Now().Add(c.ahead)
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() {
		c.at = c.at.Add(d)
		return
	}
	c.ahead += d
}

// Set stops the clock at t, for a test that needs exact times; the zero
// time starts it again (the wall clock, ahead by what Add added).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = t
}

// Provider is a running test provider.
type Provider struct {
	// Issuer is its issuer URL, for client.Discover.
	Issuer string

	op    *devprovider.Provider
	now   func() time.Time
	mu    sync.Mutex
	users map[string]User
	n     int
}

// Start starts a provider on a loopback port (or Options.Addr); Close
// stops it. Use it where there is no testing.TB: in TestMain, to share
// one provider among a package's tests, in an Example, or in a demo.
func Start(o Options) (*Provider, error) {
	if len(o.Users) == 0 {
		o.Users = []User{{Subject: "test-user", Name: "Test User", Email: "test-user@example.com"}}
	}
	p := &Provider{users: map[string]User{}, now: time.Now}
	if o.Clock != nil {
		p.now = o.Clock.Now
	}
	cfg := devprovider.Config{AccessTokenLifetime: o.AccessTokenLifetime, RefreshTokenLifetime: o.RefreshTokenLifetime,
		NoRefreshRotation: o.NoRefreshTokenRotation, Now: p.now, Addr: o.Addr}
	for _, u := range o.Users {
		if u.Subject == "" {
			return nil, errors.New("confidanttest: a user without a Subject")
		}
		u = u.withDefaults()
		p.users[u.Subject] = u
		cfg.Users = append(cfg.Users, u.op())
	}
	op, err := devprovider.Start(cfg)
	if err != nil {
		return nil, fmt.Errorf("confidanttest: %w", err)
	}
	p.op, p.Issuer = op, op.Issuer
	return p, nil
}

// NewProvider starts a provider on a loopback port for t; it stops when t
// ends.
func NewProvider(t testing.TB, o Options) *Provider {
	t.Helper()
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Close stops the provider.
func (p *Provider) Close() { p.op.Close() }

func (u User) withDefaults() User {
	if u.Username == "" {
		u.Username = u.Subject
	}
	if u.Password == "" {
		u.Password = "password"
	}
	return u
}

func (u User) op() devprovider.User {
	return devprovider.User{ID: u.Subject, Username: u.Username, Password: u.Password, Name: u.Name, Email: u.Email, Claims: u.Claims}
}

// Register registers an app whose callback is redirectURL (and whose
// post-logout page is that URL's origin + "/"), and returns its client ID
// and secret.
func (p *Provider) Register(redirectURL string) (clientID, clientSecret string) {
	p.mu.Lock()
	p.n++
	clientID, clientSecret = fmt.Sprintf("test-app-%d", p.n), fmt.Sprintf("test-secret-%d", p.n)
	p.mu.Unlock()
	p.op.AddClient(devprovider.Client{ID: clientID, Secret: clientSecret, Redirects: []string{redirectURL}})
	return clientID, clientSecret
}

// SignIn signs user in to the app as a browser would: it opens start (a
// page behind Require, or the app's /auth/login), signs in at the provider
// and follows the redirect back to the app's callback, whose response it
// returns (a redirect to the page when the sign-in worked; the app's error
// page when it did not), its body in memory and readable (up to 1 MiB). browser must keep cookies and not follow
// redirects (Browser). The error is for a sign-in that could not reach
// the app's callback.
func (p *Provider) SignIn(browser *http.Client, start string, user User) (*http.Response, error) {
	resp, err := navigate(browser, start)
	if err != nil {
		return nil, fmt.Errorf("confidanttest: %s: %w", start, err)
	}
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("confidanttest: %s answered %d, not a redirect to the provider", start, resp.StatusCode)
	}
	cb, err := p.op.Login(browser, resp.Header.Get("Location"), user.withDefaults().op())
	if err != nil {
		return nil, fmt.Errorf("confidanttest: signing in at the provider: %w", err)
	}
	if resp, err = navigate(browser, cb.String()); err != nil {
		return nil, fmt.Errorf("confidanttest: the app's callback: %w", err)
	}
	return resp, nil
}

// navigate loads url as a page, with its body read into memory: the caller
// may read it (the app's error page) and need not close it.
func navigate(browser *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	resp, err := browser.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// Endpoint names one of the provider's endpoints.
type Endpoint string

// The provider's endpoints.
const (
	Discovery  Endpoint = devprovider.PathDiscovery
	Keys       Endpoint = devprovider.PathKeys // the JWKS
	Authorize  Endpoint = devprovider.PathAuthorize
	Token      Endpoint = devprovider.PathToken
	UserInfo   Endpoint = devprovider.PathUserinfo
	Revoke     Endpoint = devprovider.PathRevoke
	EndSession Endpoint = devprovider.PathEndSession
)

// Requests is how many requests reached e: Requests(Token) counts the
// sign-ins' code exchanges and the refreshes.
func (p *Provider) Requests(e Endpoint) int { return p.op.Count(string(e)) }

// RefreshTokenReuses is how many times a refresh token that had been
// rotated away was presented: an app that refreshes once per session, as it
// should, keeps it at 0 however many requests run at once.
func (p *Provider) RefreshTokenReuses() int { return int(p.op.ReusedRefreshTokens()) }

// RotateKeys makes a new key sign the provider's tokens from now on, as a
// provider's key rotation does: the JWKS publishes it beside the old ones,
// and the app must fetch the JWKS again to check the next ID token.
func (p *Provider) RotateKeys() error { return p.op.RotateKeys() }

// Fail makes e answer status (503: a provider that is down; 500; 400 with
// invalid_grant at the token endpoint: a revoked refresh token) until
// Recover.
func (p *Provider) Fail(e Endpoint, status int) {
	p.op.SetFault(string(e), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		code := "temporarily_unavailable"
		if status == http.StatusBadRequest {
			code = "invalid_grant"
		}
		fmt.Fprintf(w, `{"error":%q}`, code)
	})
}

// Slow makes e answer after d (a slow provider) until Recover.
func (p *Provider) Slow(e Endpoint, d time.Duration) {
	p.op.SetFault(string(e), func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		p.op.Inner().ServeHTTP(w, r)
	})
}

// Recover ends every fault Fail and Slow set.
func (p *Provider) Recover() {
	for _, e := range []Endpoint{Discovery, Keys, Authorize, Token, UserInfo, Revoke, EndSession} {
		p.op.SetFault(string(e), nil)
	}
}

// LogOut ends user's sessions at the app whose back-channel logout endpoint
// is backchannelURL (its /auth/backchannel-logout), as the provider does
// when the user signs out there: a signed logout token naming the user,
// for the app registered as clientID. It returns the app's status (200
// when it took the token).
func (p *Provider) LogOut(backchannelURL, clientID string, user User) (int, error) {
	now := p.now().Unix()
	token := p.op.Sign(map[string]any{"iss": p.Issuer, "aud": []string{clientID}, "iat": now, "exp": now + 120,
		"jti": rand.Text(), "sub": user.Subject, "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}})
	resp, err := http.PostForm(backchannelURL, url.Values{"logout_token": {token}})
	if err != nil {
		return 0, fmt.Errorf("confidanttest: back-channel logout: %w", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Browser returns an HTTP client that behaves as a browser's page loads for
// the middleware: it keeps cookies, sends Accept: text/html (unless a
// request sets its own Accept) and does not follow redirects, so a test
// sees each step of a sign-in.
func Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: navigation{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type navigation struct{}

func (navigation) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Accept") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Accept", "text/html")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// SignedIn returns a request for target that carries a session of user,
// signed in with auth's provider (its first), saved in auth's store
// without any provider: for fast tests of one handler behind Require. The
// session's access token is a placeholder that expires in an hour.
func SignedIn(auth *middleware.Auth, target string, user confidant.User) (*http.Request, error) {
	if user.Subject == "" {
		return nil, errors.New("confidanttest: SignedIn needs the user's Subject")
	}
	p, ok := seam.Of(auth).(interface {
		Store() session.Store
		ProviderName() string
	})
	if !ok || auth == nil {
		return nil, errors.New("confidanttest: SignedIn needs the app's *middleware.Auth")
	}
	user.Provider = p.ProviderName() // a session of another provider is not signed in
	s := &session.Session{ID: rand.Text(), User: user, AccessToken: "confidanttest-access-token",
		TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	rec := httptest.NewRecorder()
	if err := p.Store().Save(rec, httptest.NewRequest("GET", target, nil), s); err != nil {
		return nil, fmt.Errorf("confidanttest: saving the session: %w", err)
	}
	r := httptest.NewRequest("GET", target, nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	return r, nil
}
