package session_test

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/session"
)

// fuzzKey is fixed so that the seed corpus holds cookies the store made
// (random-looking bytes: NewCipher refuses printable text as a key).
var fuzzKey = func() []byte { k := sha256.Sum256([]byte("confidant fuzz key")); return k[:] }()

// FuzzCookieLoad feeds arbitrary cookie values, split into numbered chunks
// at '|', to CookieStore.Load: it must never panic, and must accept only
// cookies the store itself sealed.
func FuzzCookieLoad(f *testing.F) {
	st, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{fuzzKey}, ChunkSize: 600, MaxSize: 6000})
	if err != nil {
		f.Fatal(err)
	}
	// Development on loopback: the cookies are named "confidant", ".1", …
	if _, err := session.BindOrigin(st, &url.URL{Scheme: "http", Host: "localhost"}, "app"); err != nil {
		f.Fatal(err)
	}
	// Fixed seed sessions: the fuzzing workers run this function again, and
	// must recognise the sessions the seeds carry.
	big := &session.Session{ID: "seed-big", AccessToken: strings.Repeat("a", 1500) + ".b.c",
		RefreshToken: "v1.seed", IDToken: strings.Repeat("i", 1000),
		User: confidant.User{Subject: "auth0|seed"},
	}
	seeds := map[string]*session.Session{"seed-big": big, "seed-small": {ID: "seed-small", User: confidant.User{Subject: "s"}}}
	for _, s := range seeds {
		rec := httptest.NewRecorder()
		if err := st.Save(rec, httptest.NewRequest("GET", "http://localhost/", nil), s); err != nil {
			f.Fatal(err)
		}
		var parts []string
		for _, c := range rec.Result().Cookies() {
			parts = append(parts, c.Value)
		}
		joined := strings.Join(parts, "|")
		f.Add(joined)
		f.Add(joined[:len(joined)/2])
		f.Add(strings.Join(parts[1:], "|"))
	}
	f.Add("")
	f.Add("AQ")
	f.Add(strings.Repeat("A", 5000))
	f.Fuzz(func(t *testing.T, value string) {
		req := httptest.NewRequest("GET", "http://localhost/", nil)
		for i, part := range strings.Split(value, "|") {
			name := "confidant"
			if i > 0 {
				name += "." + strconv.Itoa(i)
			}
			req.AddCookie(&http.Cookie{Name: name, Value: part})
		}
		s, err := st.Load(req)
		if err != nil {
			return
		}
		want, ok := seeds[s.ID]
		if !ok || s.Subject != want.Subject || s.AccessToken != want.AccessToken || s.RefreshToken != want.RefreshToken || s.IDToken != want.IDToken {
			t.Fatalf("accepted a cookie the store did not make: %q", value)
		}
	})
}
