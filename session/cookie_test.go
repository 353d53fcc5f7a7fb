package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/session"
)

func roundTrip(t *testing.T, st *session.CookieStore, host string, s *session.Session) (*session.Session, []*http.Cookie) {
	t.Helper()
	req := httptest.NewRequest("GET", "http://"+host+"/", nil)
	rec := httptest.NewRecorder()
	if err := st.Save(rec, req, s); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	req2 := httptest.NewRequest("GET", "http://"+host+"/", nil)
	testenv.AddCookies(req2, cookies)
	got, err := st.Load(req2)
	if err != nil {
		t.Fatal(err)
	}
	return got, cookies
}

func TestRoundTrip(t *testing.T) {
	st, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*session.Session{
		"realistic": testenv.RealisticSession(),
		"empty":     {},
		"opaque tokens": {AccessToken: "opaque.tok", RefreshToken: "a.b.c.d", IDToken: "x.y.z!",
			CreatedAt: time.Now().Truncate(time.Millisecond)},
	} {
		t.Run(name, func(t *testing.T) {
			want := *s
			got, cookies := roundTrip(t, st, "localhost", s)
			want.CreatedAt, want.LastSeen = got.CreatedAt, got.LastSeen
			if s.CreatedAt.IsZero() != (name == "empty") {
				t.Error("Save modified the caller's session")
			}
			if !equalExported(got, &want) {
				t.Errorf("round trip changed the session:\n got %+v\nwant %+v", got, &want)
			}
			if len(cookies) != 1 {
				t.Errorf("%d cookies, want 1", len(cookies))
			}
		})
	}
}

// TestRealisticSize: a realistic Auth0 session fits one cookie and the
// whole Cookie header stays under 4 KiB.
func TestRealisticSize(t *testing.T) {
	st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	_, cookies := roundTrip(t, st, "app.example.com", testenv.RealisticSession())
	if len(cookies) != 1 {
		t.Fatalf("%d cookies, want 1", len(cookies))
	}
	header := cookies[0].Name + "=" + cookies[0].Value
	if len(header) >= 4096 {
		t.Errorf("Cookie header is %d bytes, want < 4096", len(header))
	}
	t.Logf("realistic session cookie: %d bytes", len(header))
}

func TestChunking(t *testing.T) {
	st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, ChunkSize: 1000, MaxSize: 6000})
	s := testenv.RealisticSession()
	got, cookies := roundTrip(t, st, "localhost", s)
	if len(cookies) < 3 {
		t.Fatalf("%d cookies, want the session split in several", len(cookies))
	}
	for i, c := range cookies {
		want := "__Host-confidant"
		if i > 0 {
			want += "." + string(rune('0'+i))
		}
		if c.Name != want || len(c.Value) > 1000 {
			t.Errorf("chunk %d: %s (%d bytes)", i, c.Name, len(c.Value))
		}
	}
	if got.AccessToken != s.AccessToken || got.IDToken != s.IDToken {
		t.Error("chunked round trip changed the tokens")
	}
	// A missing middle chunk is "no session", not an error page.
	req := httptest.NewRequest("GET", "http://localhost/", nil)
	for i, c := range cookies {
		if i != 1 {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	if _, err := st.Load(req); !errors.Is(err, session.ErrNoSession) || !errors.Is(err, fail.InvalidSession) {
		t.Errorf("missing chunk: %v", err)
	}
	// Saving a smaller session deletes the chunks it no longer needs.
	req = httptest.NewRequest("GET", "http://localhost/", nil)
	testenv.AddCookies(req, cookies)
	rec := httptest.NewRecorder()
	if err := st.Save(rec, req, &session.Session{ID: "small"}); err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			deleted++
		}
	}
	if deleted != len(cookies)-1 {
		t.Errorf("%d stale chunks deleted, want %d", deleted, len(cookies)-1)
	}
}

func TestTooLarge(t *testing.T) {
	st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, MaxSize: 2000})
	rec := httptest.NewRecorder()
	err := st.Save(rec, httptest.NewRequest("GET", "http://localhost/", nil), testenv.RealisticSession())
	if !errors.Is(err, session.ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("a cookie was written for a session over budget")
	}
}

// TestCookieAttributes pins a review finding: Secure and the __Host- prefix
// were decided per request from Host and X-Forwarded-Proto, so behind a
// proxy that sent "Host: localhost:8080" the session cookie lost both. They
// come from the app's origin now.
func TestCookieAttributes(t *testing.T) {
	cases := []struct {
		origin string // "" for a store never bound
		forced bool   // Options.Secure
		url    string
		proto  string
		name   string
		secure bool
	}{
		{"http://localhost:8080", false, "http://localhost:8080/", "", "confidant", false},
		{"http://127.0.0.1:8080", false, "http://127.0.0.1:8080/", "", "confidant", false},
		{"http://[::1]:8080", false, "http://[::1]:8080/", "", "confidant", false},
		{"https://app.example.com", false, "https://app.example.com/", "", "__Host-confidant", true},
		{"https://app.example.com", false, "http://localhost:8080/", "", "__Host-confidant", true},
		{"https://app.example.com", false, "http://127.0.0.1/", "http", "__Host-confidant", true},
		{"http://localhost:8080", false, "http://localhost:8080/", "https", "confidant", false},
		{"http://localhost:8080", true, "http://localhost:8080/", "", "__Host-confidant", true},
		{"", false, "http://localhost:8080/", "", "__Host-confidant", true},
	}
	for _, tc := range cases {
		t.Run(tc.origin+" "+tc.url+" "+tc.proto, func(t *testing.T) {
			st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Options: &sessions.Options{Secure: tc.forced}})
			if tc.origin != "" {
				if _, err := session.BindOrigin(st, mustParse(tc.origin), "app"); err != nil {
					t.Fatal(err)
				}
			}
			req := httptest.NewRequest("GET", tc.url, nil)
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			rec := httptest.NewRecorder()
			st.Save(rec, req, &session.Session{ID: "x"})
			c := rec.Result().Cookies()[0]
			if c.Name != tc.name || c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
				t.Errorf("cookie %s secure=%v httponly=%v samesite=%v path=%q", c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path)
			}
			if h := rec.Header(); h.Get("Cache-Control") != "no-store" || h.Get("Vary") != "Cookie" {
				t.Errorf("Cache-Control %q, Vary %q; want no-store, Cookie", h.Get("Cache-Control"), h.Get("Vary"))
			}
		})
	}
	// One store cannot serve an https and a plain-http origin.
	st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	if _, err := session.BindOrigin(st, mustParse("http://localhost:8080"), "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := session.BindOrigin(st, mustParse("https://app.example.com"), "app"); !errors.Is(err, fail.SessionConfig) {
		t.Errorf("second, conflicting bind: %v", err)
	}
	// Options with a Domain get the __Secure- prefix; HttpOnly cannot be turned off.
	st2, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()},
		Options: &sessions.Options{Domain: "example.com", MaxAge: 3600, HttpOnly: false}})
	rec := httptest.NewRecorder()
	st2.Save(rec, httptest.NewRequest("GET", "https://app.example.com/", nil), &session.Session{ID: "x"})
	c := rec.Result().Cookies()[0]
	if c.Name != "__Secure-confidant" || !c.HttpOnly || c.MaxAge != 3600 {
		t.Errorf("cookie %s httponly=%v maxage=%d", c.Name, c.HttpOnly, c.MaxAge)
	}
}

// TestMaxAgeEnforced: a session older than MaxAge does not load even if
// the browser still sends it.
func TestMaxAgeEnforced(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Now: clock,
		Options: &sessions.Options{MaxAge: 3600}})
	req := httptest.NewRequest("GET", "http://localhost/", nil)
	rec := httptest.NewRecorder()
	st.Save(rec, req, &session.Session{ID: "x"})
	req.AddCookie(rec.Result().Cookies()[0])
	if _, err := st.Load(req); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := st.Load(req); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("err %v, want ErrNoSession", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]session.CookieConfig{
		"no keys":        {},
		"short key":      {Keys: [][]byte{make([]byte, 16)}},
		"prefixed name":  {Keys: [][]byte{testenv.NewKey()}, Name: "__Host-x"},
		"bad name chars": {Keys: [][]byte{testenv.NewKey()}, Name: "a;b"},
	} {
		if _, err := session.NewCookieStore(cfg); !errors.Is(err, fail.SessionConfig) {
			t.Errorf("%s: err %v, want fail.SessionConfig", name, err)
		}
	}
}

// equalExported compares the exported fields of two sessions (the stores
// memoise derived data in unexported ones).
func equalExported(a, b *session.Session) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		if va.Type().Field(i).IsExported() && !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return false
		}
	}
	return true
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestStoreConfigRefused: keys that cannot be random, chunk sizes browsers
// drop, and negative sizes are refused with fail.SessionConfig.
func TestStoreConfigRefused(t *testing.T) {
	cases := map[string]session.CookieConfig{
		"all-zero key":      {Keys: [][]byte{make([]byte, 32)}},
		"printable key":     {Keys: [][]byte{[]byte("correct horse battery staple 123")}},
		"hex text key":      {Keys: [][]byte{testenv.NewKey(), []byte("0123456789abcdef0123456789abcdef")}},
		"ChunkSize 4096":    {Keys: [][]byte{testenv.NewKey()}, ChunkSize: 4096},
		"negative MaxSize":  {Keys: [][]byte{testenv.NewKey()}, MaxSize: -1},
		"negative Timeouts": {Keys: [][]byte{testenv.NewKey()}, Timeouts: session.Timeouts{Idle: -time.Hour}},
	}
	for name, cfg := range cases {
		if _, err := session.NewCookieStore(cfg); !errors.Is(err, fail.SessionConfig) {
			t.Errorf("%s: %v, want fail.SessionConfig", name, err)
		}
	}
	if _, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, ChunkSize: 3900}); err != nil {
		t.Errorf("ChunkSize 3900: %v", err)
	}
}
