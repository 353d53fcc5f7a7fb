package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/session"
)

// environment is where the app reads its configuration: os.Getenv, or a
// map's lookup in tests.
type environment func(string) string

// get returns the variable's value, trimmed.
func (e environment) get(name string) string { return strings.TrimSpace(e(name)) }

// required returns the values of the named variables, or an error naming
// every one that is unset.
func (e environment) required(names ...string) (map[string]string, error) {
	vals := map[string]string{}
	var missing []string
	for _, n := range names {
		if vals[n] = e.get(n); vals[n] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("missing required environment variable(s): %s", strings.Join(missing, ", "))
	}
	return vals, nil
}

// settings are what the app reads besides its provider's variables.
type settings struct {
	url         string   // APP_URL, default http://localhost:8080
	listenAddr  string   // LISTEN_ADDR, default :8080
	sessionKeys [][]byte // SESSION_KEYS: base64 or hex 32-byte keys, comma-separated (new first); default one random key
	apiURL      string   // API_URL: what /api calls, optional
	redisURL    string   // REDIS_URL: sessions in Redis (redis://host:6379/0), optional
}

// settings reads APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL and
// REDIS_URL. Without SESSION_KEYS it draws a random key and warns (when
// logger is not nil): sessions then end when the app restarts.
func (e environment) settings(logger *slog.Logger) (settings, error) {
	s := settings{url: e.get("APP_URL"), listenAddr: e.get("LISTEN_ADDR"), apiURL: e.get("API_URL"), redisURL: e.get("REDIS_URL")}
	if s.url == "" {
		s.url = "http://localhost:8080"
	}
	if u, err := url.Parse(s.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, fmt.Errorf("APP_URL %q is not an absolute http(s) URL", s.url)
	}
	if s.listenAddr == "" {
		s.listenAddr = ":8080"
	}
	if ks := e.get("SESSION_KEYS"); ks != "" {
		keys, err := session.ParseKeys(ks)
		if err != nil {
			return s, fmt.Errorf("SESSION_KEYS: %w", err) // the error says how to make one
		}
		s.sessionKeys = keys
	} else {
		if s.redisURL != "" {
			return s, fmt.Errorf("REDIS_URL needs SESSION_KEYS, the same on every instance")
		}
		if logger != nil {
			logger.Warn("SESSION_KEYS is not set: using a random key; sessions end when the app restarts")
		}
		s.sessionKeys = [][]byte{session.NewKey()}
	}
	return s, nil
}

// scopes splits a space- or comma-separated scope list, or returns def.
func scopes(v string, def ...string) []string {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
	if len(f) == 0 {
		return def
	}
	return f
}

// privateKey reads a PEM, PKCS#8 private key (EC P-256, RSA or Ed25519)
// from file, named by the variable name in errors.
func privateKey(name, file string) (crypto.Signer, error) {
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

// authStyle reads a client authentication method's name; "" is
// client.AuthStyleAuto.
func authStyle(name string) (client.AuthStyle, error) {
	for _, s := range []client.AuthStyle{client.AuthStyleAuto, client.AuthStyleBasic, client.AuthStylePost, client.AuthStylePrivateKeyJWT,
		client.AuthStyleTLSClientAuth, client.AuthStyleSelfSignedTLSClientAuth} {
		if name == s.String() || (name == "" && s == client.AuthStyleAuto) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("OIDC_CLIENT_AUTH %q: want client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth or self_signed_tls_client_auth", name)
}
