package session_test

import (
	"crypto/sha256"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/session"
)

// goldenAt is when the golden fixtures were written.
var goldenAt = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// TestGoldenCookiesLoad: session cookies that earlier releases wrote, one
// per encoding format (testdata/golden, written by those releases, never
// by today's encoder), still load with everything they held. A change to
// both the encoder and the decoder that drops an old format fails here,
// where tests that re-encode today's output would not.
func TestGoldenCookiesLoad(t *testing.T) {
	key := sha256.Sum256([]byte("confidant golden fixture key"))
	st, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key[:]}, Now: func() time.Time { return goldenAt.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	for format := 1; format <= 5; format++ {
		name := filepath.Join("testdata", "golden", "v"+string(rune('0'+format))+".cookie")
		t.Run(filepath.Base(name), func(t *testing.T) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "https://app.example/", nil)
			req.Header.Set("Cookie", strings.TrimSpace(string(b)))
			s, err := st.Load(req)
			if err != nil {
				t.Fatalf("format %d: %v", format, err)
			}
			checks := map[string]bool{
				"ID":                        s.ID == "golden-session-id-0123456789",
				"user":                      s.Provider == "golden" && s.Subject == "u-1001" && s.Name == "Dee Mo" && s.Email == "demo@example.com" && s.Picture == "https://example.com/p.png",
				"claims":                    string(s.Claims) == `{"sub":"u-1001","email":"demo@example.com","email_verified":true}`,
				"tokens":                    s.AccessToken == "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1LTEwMDEiLCJzY29wZSI6Im9wZW5pZCJ9.c2lnbmF0dXJl" && s.RefreshToken == "opaque-refresh-token-value" && s.IDToken == "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1LTEwMDEifQ.aWQtc2lnbmF0dXJl",
				"times":                     s.Expiry.Equal(goldenAt.Add(time.Hour)) && s.Issued.Equal(goldenAt) && s.CreatedAt.Equal(goldenAt),
				"session":                   s.Issuer == "https://issuer.example/" && s.SID == "provider-session-1" && s.TokenType == "Bearer" && s.Scope == "openid profile email offline_access",
				"email verified (format 2)": format < 2 || s.EmailVerified,
				"API tokens (format 3)":     format < 3 || s.APITokens["orders"].AccessToken == "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJvcmRlcnMifQ.b3Jkcw" && s.APITokens["orders"].Expiry.Equal(goldenAt.Add(time.Hour)),
				"DPoP key (format 4)":       format < 4 || string(s.DPoPKey) == "golden-dpop-key-bytes",
				"values (format 5)":         format < 5 || s.Values["roles"] == "admin billing",
			}
			for what, ok := range checks {
				if !ok {
					t.Errorf("format %d: %s not as written: %+v", format, what, s)
				}
			}
		})
	}
}
