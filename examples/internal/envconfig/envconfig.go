// Package envconfig reads the environment variables the examples share and
// runs an example's server. It reads and serves; the wiring of provider,
// client, store, middleware and routes is in each example's main.go.
package envconfig

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/session"
)

// Env is where an example reads its configuration from.
type Env struct {
	// Getenv is os.Getenv, or a map's lookup in tests.
	Getenv func(string) string
	// HTTPClient is for provider calls and API calls; nil in production
	// (the SDK's defaults). Tests route it to emulated providers.
	HTTPClient *http.Client
	// Logger receives the SDK's events.
	Logger *slog.Logger
}

// Get returns the variable's value, trimmed.
func (e Env) Get(name string) string { return strings.TrimSpace(e.Getenv(name)) }

// Required returns the values of the named variables, or an error naming
// every one that is unset.
func (e Env) Required(names ...string) (map[string]string, error) {
	vals := map[string]string{}
	var missing []string
	for _, n := range names {
		if vals[n] = e.Get(n); vals[n] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("missing required environment variable(s): %s", strings.Join(missing, ", "))
	}
	return vals, nil
}

// App is what every example reads besides its provider's variables.
type App struct {
	URL         string   // APP_URL, default http://localhost:8080
	ListenAddr  string   // LISTEN_ADDR, default :8080
	SessionKeys [][]byte // SESSION_KEYS: base64 or hex 32-byte keys, comma-separated (new first); default one random key
	APIURL      string   // API_URL: what /api calls, optional
	RedisURL    string   // REDIS_URL: sessions in Redis (redis://host:6379/0), optional
}

// Callback is APP_URL/auth/callback, or APP_URL/auth/callback/NAME for one
// of several providers.
func (a App) Callback(name string) string {
	u := strings.TrimSuffix(a.URL, "/") + "/auth/callback"
	if name != "" {
		u += "/" + name
	}
	return u
}

// App reads APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL and REDIS_URL.
// Without SESSION_KEYS it draws a random key and warns: sessions then end
// when the app restarts.
func (e Env) App() (App, error) {
	a := App{URL: e.Get("APP_URL"), ListenAddr: e.Get("LISTEN_ADDR"), APIURL: e.Get("API_URL"), RedisURL: e.Get("REDIS_URL")}
	if a.URL == "" {
		a.URL = "http://localhost:8080"
	}
	if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return a, fmt.Errorf("APP_URL %q is not an absolute http(s) URL", a.URL)
	}
	if a.ListenAddr == "" {
		a.ListenAddr = ":8080"
	}
	if ks := e.Get("SESSION_KEYS"); ks != "" {
		keys, err := session.ParseKeys(ks)
		if err != nil {
			return a, fmt.Errorf("SESSION_KEYS: %w (make one with: openssl rand -base64 32)", err)
		}
		a.SessionKeys = keys
	} else {
		if a.RedisURL != "" {
			return a, fmt.Errorf("REDIS_URL needs SESSION_KEYS, the same on every instance")
		}
		if e.Logger != nil {
			e.Logger.Warn("SESSION_KEYS is not set: using a random key; sessions end when the app restarts")
		}
		a.SessionKeys = [][]byte{session.NewKey()}
	}
	return a, nil
}

// ProviderOptions adds the test HTTP client to opts, when there is one.
func (e Env) ProviderOptions(opts ...client.ProviderOption) []client.ProviderOption {
	if e.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(e.HTTPClient))
	}
	return opts
}

// Scopes splits a space- or comma-separated scope list, or returns def.
func Scopes(v string, def ...string) []string {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
	if len(f) == 0 {
		return def
	}
	return f
}

// Run builds the example's handler from the process environment and serves
// it on LISTEN_ADDR. A configuration error is one line on stderr and exit
// status 2.
func Run(name string, newApp func(context.Context, Env) (http.Handler, error)) {
	env := Env{Getenv: os.Getenv, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	app, err := Env{Getenv: os.Getenv}.App()
	var h http.Handler
	if err == nil {
		// Building the app checks that the provider answers (Auth.Ready):
		// bounded, so a provider that hangs fails the start with a reason.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		h, err = newApp(ctx, env)
		cancel()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	env.Logger.Info("listening", "addr", app.ListenAddr, "url", app.URL)
	srv := &http.Server{Addr: app.ListenAddr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// PrivateKey reads a PEM, PKCS#8 private key (EC P-256, RSA or Ed25519) from file,
// named by the variable name in errors.
func PrivateKey(name, file string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: %s holds no PEM block", name, file)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w (want PKCS#8: openssl pkcs8 -topk8 -nocrypt)", name, file, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %T is not a signing key", name, k)
	}
	return s, nil
}

// AuthStyle reads a client authentication method's name; "" is
// client.AuthStyleAuto.
func AuthStyle(name string) (client.AuthStyle, error) {
	for _, s := range []client.AuthStyle{client.AuthStyleAuto, client.AuthStyleBasic, client.AuthStylePost, client.AuthStylePrivateKeyJWT,
		client.AuthStyleTLSClientAuth, client.AuthStyleSelfSignedTLSClientAuth} {
		if name == s.String() || (name == "" && s == client.AuthStyleAuto) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("OIDC_CLIENT_AUTH %q: want client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth or self_signed_tls_client_auth", name)
}
