package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/redisstore"
)

// TestGoldenRedisValuesLoad: sessions as earlier releases wrote them to
// Redis (testdata/golden: the sealed session as base64 text, and as bytes
// in format 5; written by those releases, never by today's code) still
// load through the cookie those releases set.
func TestGoldenRedisValuesLoad(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	key := sha256.Sum256([]byte("confidant golden fixture key"))
	for _, file := range []string{"text-encoding.json", "format5-bytes.json"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "golden", file))
			if err != nil {
				t.Fatal(err)
			}
			var fx struct {
				Cookie string
				Hashes map[string]map[string]string
			}
			if err := json.Unmarshal(b, &fx); err != nil {
				t.Fatal(err)
			}
			rc := testenv.StartRedis(t).Client()
			t.Cleanup(func() { rc.Close() })
			for k, fields := range fx.Hashes {
				for f, v := range fields {
					raw, err := base64.StdEncoding.DecodeString(v)
					if err != nil {
						t.Fatal(err)
					}
					if err := rc.HSet(context.Background(), k, f, raw).Err(); err != nil {
						t.Fatal(err)
					}
				}
			}
			st, err := redisstore.New(redisstore.Config{Client: rc, Keys: [][]byte{key[:]}, Now: func() time.Time { return at.Add(time.Minute) }})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "https://app.example/", nil)
			req.Header.Set("Cookie", fx.Cookie)
			s, err := st.Load(req)
			if err != nil {
				t.Fatal(err)
			}
			if s.ID != "golden-session-id-0123456789" || s.Subject != "u-1001" || !s.EmailVerified || s.RefreshToken != "opaque-refresh-token-value" ||
				s.APITokens["orders"].AccessToken == "" || string(s.DPoPKey) != "golden-dpop-key-bytes" || s.Values["roles"] != "admin billing" ||
				!s.Expiry.Equal(at.Add(time.Hour)) {
				t.Errorf("loaded %+v, not as written", s)
			}
		})
	}
}
