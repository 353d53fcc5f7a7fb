// Package envconfig reads the environment variables shared by the examples.
package envconfig

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// App is the part of the configuration every example shares.
type App struct {
	AppURL      string   // APP_URL, default http://localhost:8080
	ListenAddr  string   // LISTEN_ADDR, default :8080
	SessionKeys [][]byte // SESSION_KEYS, comma-separated base64 32-byte keys
	RandomKey   bool     // SESSION_KEYS was unset: a random key was drawn
	APIURL      string   // API_URL, optional
	RedisURL    string   // REDIS_URL, optional: sessions in Redis (redis://host:6379/0)
}

// RedirectURL is APP_URL + "/auth/callback".
func (a App) RedirectURL() string { return strings.TrimSuffix(a.AppURL, "/") + "/auth/callback" }

// Getenv is os.Getenv's shape, so tests can pass a map.
type Getenv func(string) string

// Required returns the values of the named variables, or an error naming
// every one that is unset.
func Required(getenv Getenv, names ...string) (map[string]string, error) {
	vals := map[string]string{}
	var missing []string
	for _, n := range names {
		v := strings.TrimSpace(getenv(n))
		if v == "" {
			missing = append(missing, n)
		}
		vals[n] = v
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("missing required environment variable(s): %s", strings.Join(missing, ", "))
	}
	return vals, nil
}

// LoadApp reads APP_URL, LISTEN_ADDR, SESSION_KEYS and API_URL.
func LoadApp(getenv Getenv) (App, error) {
	a := App{AppURL: getenv("APP_URL"), ListenAddr: getenv("LISTEN_ADDR"), APIURL: getenv("API_URL"), RedisURL: getenv("REDIS_URL")}
	if a.AppURL == "" {
		a.AppURL = "http://localhost:8080"
	}
	if u, err := url.Parse(a.AppURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return a, fmt.Errorf("APP_URL %q is not an absolute http(s) URL", a.AppURL)
	}
	if a.ListenAddr == "" {
		a.ListenAddr = ":8080"
	}
	if ks := getenv("SESSION_KEYS"); ks != "" {
		for i, k := range strings.Split(ks, ",") {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
			if err != nil {
				b, err = base64.RawURLEncoding.DecodeString(strings.TrimSpace(k))
			}
			if err != nil || len(b) != 32 {
				return a, fmt.Errorf("SESSION_KEYS: key %d is not base64 of 32 bytes (make one with: openssl rand -base64 32)", i+1)
			}
			a.SessionKeys = append(a.SessionKeys, b)
		}
	} else {
		k := make([]byte, 32)
		rand.Read(k)
		a.SessionKeys, a.RandomKey = [][]byte{k}, true
	}
	return a, nil
}

// Scopes splits a space- or comma-separated scope list, or returns def.
func Scopes(v string, def ...string) []string {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
	if len(f) == 0 {
		return def
	}
	return f
}
