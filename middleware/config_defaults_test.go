package middleware

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/seal"
	"github.com/confidant-go/confidant/internal/testkit/configdoc"
	"github.com/confidant-go/confidant/session"
)

// TestConfigDefaults: the default each field of Config and API states at
// the end of its comment (the form of package configdoc, from which
// docs/configuration.md is generated) is the one in effect in an Auth made
// by New from a Config with only the required fields set, Clients and
// Store, as the README's complete app makes it; and without any one of
// those, New fails.
func TestConfigDefaults(t *testing.T) {
	structs, err := configdoc.Parse(".", "Config", "API")
	if err != nil {
		t.Fatal(err)
	}
	config, api := structs[0], structs[1]
	c, store := minimalParts(t)
	required := map[string]func(*Config){
		"Clients": func(cfg *Config) { cfg.Clients = []*client.Client{c} },
		"Store":   func(cfg *Config) { cfg.Store = store },
	}
	a, errs := configdoc.Minimal(config, required, New)
	for _, err := range errs {
		t.Error(err)
	}
	if a == nil {
		t.FailNow()
	}
	idents := map[string]any{"time.Now": time.Now, "DefaultRefreshPolicy": DefaultRefreshPolicy, "http.DefaultTransport": http.DefaultTransport,
		// Defaults in words, exactly: the post-logout URL here, the others
		// below.
		"=ErrorHandler":          configdoc.CheckedBelow,
		"=PostLogoutRedirectURL": "http://localhost:8080/",
		"=Keys":                  configdoc.CheckedBelow,
		"=DenyList":              configdoc.CheckedBelow,
		"=Logger":                configdoc.CheckedBelow,
		"=APITransport":          configdoc.CheckedBelow,
	}
	// Where a default takes effect outside the kept Config: the flow
	// cookies' cipher (Keys), the parsed APIs, the transport of API calls.
	over := map[string]any{"Keys": a.flows, "APIs": a.apis, "APITransport": a.transportFor("")}
	for _, err := range configdoc.Check(config, a.cfg, over, idents) {
		t.Error(err)
	}
	// Defaults in words, exactly.
	if a.transportFor("") != netx.DefaultTransport() {
		t.Error("Config.APITransport in effect is not the process's one default transport")
	}
	if tr, ok := netx.Current().(*http.Transport); !ok || tr == http.DefaultTransport || tr.MaxIdleConnsPerHost != 256 || !tr.ForceAttemptHTTP2 || tr.Proxy == nil {
		t.Errorf("Config.APITransport in effect sends through %T %+v; its comment says http.DefaultTransport's settings with 256 idle connections per host", netx.Current(), tr)
	}
	if a.flows != seal.SharedBy(store) {
		t.Error("Config.Keys: the flow cookies are not sealed with the Store's keys")
	}
	if got := a.cfg.PostLogoutRedirectURL; got != "http://localhost:8080/" {
		t.Errorf("Config.PostLogoutRedirectURL in effect: %q; its comment says AfterLogout on the RedirectURL's origin", got)
	}
	if a.cfg.Logger == nil || a.cfg.Logger.Enabled(t.Context(), slog.LevelInfo) || !a.cfg.Logger.Enabled(t.Context(), slog.LevelWarn) {
		t.Error("Config.Logger in effect does not log failures only")
	}
	// The error page: HTML with the status of the reason and a link to
	// sign in again.
	rec := httptest.NewRecorder()
	page := httptest.NewRequest("GET", "/auth/callback", nil)
	page.Header.Set("Accept", "text/html") // a browser's (an API call gets JSON)
	a.cfg.ErrorHandler.ServeHTTP(rec, withFailure(page, ErrBadRequest))
	if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), `href="/auth/login`) {
		t.Errorf("Config.ErrorHandler in effect: %d %q %s; its comment says a small HTML page with the status and a sign-in-again link", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if _, ok := a.cfg.DenyList.(*session.MemoryDenyList); !ok {
		t.Errorf("Config.DenyList in effect is a %T; its comment says a MemoryDenyList", a.cfg.DenyList)
	}

	// API, in an Auth with one API that has only its required fields.
	a, errs = configdoc.Minimal(api, map[string]func(*API){
		"Name":    func(p *API) { p.Name = "api" },
		"BaseURL": func(p *API) { p.BaseURL = "https://api.example.com/" },
	}, func(p API) (*Auth, error) {
		cfg := Config{APIs: []API{p}}
		for _, set := range required {
			set(&cfg)
		}
		return New(cfg)
	})
	for _, err := range errs {
		t.Error(err)
	}
	if a == nil {
		t.FailNow()
	}
	// The API as the Auth keeps it (an apiTarget), in API's fields.
	tg := a.apis[0]
	effective := API{Name: tg.name, BaseURL: tg.base.String(), Provider: tg.provider, Resource: tg.op.resource, Scopes: tg.op.scopes,
		TokenExchange: tg.op.exchange, MaxRequestBody: tg.maxBody}
	for _, h := range tg.forward {
		if !slices.Contains(forwardedHeaders, h) {
			effective.ForwardHeaders = append(effective.ForwardHeaders, h)
		}
	}
	for _, err := range configdoc.Check(api, effective, nil, idents) {
		t.Error(err)
	}
}

// minimalParts are the required fields of a Config: a client of a
// provider given by hand (nothing is fetched) and a cookie store.
func minimalParts(t *testing.T) (*client.Client, session.Store) {
	t.Helper()
	prov, err := client.NewProvider("op", client.Endpoints{Issuer: "https://op.example.com", AuthURL: "https://op.example.com/authorize",
		TokenURL: "https://op.example.com/token", JWKSURL: "https://op.example.com/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "app", ClientSecret: "secret", RedirectURL: "http://localhost:8080/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	if err != nil {
		t.Fatal(err)
	}
	return c, store
}
