package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
)

// FuzzLogoutToken: back-channel logout tokens whose claims the fuzzer
// writes (a JSON object), signed with the provider's real key, so that
// the signature never decides. The property is an oracle written from
// OpenID Connect Back-Channel Logout 1.0 section 2.6 and the SDK's
// choices: a token is accepted exactly when iss is the provider's, aud
// holds the client ID, iat is within the age limit (and not in the
// future), exp (when present) has not passed, jti is a non-empty string,
// sub or sid is present, there is no nonce, and events holds the
// back-channel logout event as an object; and every refusal is
// fail.InvalidLogoutToken.
func FuzzLogoutToken(f *testing.F) {
	op := newFuzzOP(f)
	prov, err := client.Discover(context.Background(), op.srv.URL)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	c, _ := client.New(client.Config{Provider: prov, ClientID: "rp", ClientSecret: "s", RedirectURL: "http://127.0.0.1:1/cb",
		Now: func() time.Time { return now }})
	iss := op.srv.URL
	ev := `{"http://schemas.openid.net/event/backchannel-logout":{}}`
	for _, s := range []string{
		`{"iss":"` + iss + `","aud":"rp","iat":NOW,"jti":"j","sub":"alice","events":` + ev + `}`,
		`{"iss":"` + iss + `","aud":["rp","x"],"iat":NOW,"exp":NOW,"jti":"j","sid":"s","events":` + ev + `}`,
		`{"iss":"` + iss + `","aud":"rp","iat":NOW,"jti":"j","sub":"alice","nonce":"n","events":` + ev + `}`,
		`{"iss":"` + iss + `","aud":"rp","iat":1,"jti":"j","sub":"alice","events":` + ev + `}`,
		`{"iss":"` + iss + `","aud":"rp","iat":NOW,"jti":"","sub":"alice","events":{"http://schemas.openid.net/event/backchannel-logout":true}}`,
		`{"iss":"https://other","aud":"rp","iat":NOW,"jti":"j","sub":"alice","events":` + ev + `}`,
	} {
		f.Add([]byte(s), int64(0))
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: op.key, KeyID: "k"}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	const maxAge = 5 * time.Minute
	f.Fuzz(func(t *testing.T, claims []byte, shift int64) {
		// NOW in the seeds is the test's clock, shifted by the fuzzer.
		claims = []byte(replaceNow(string(claims), now.Unix()+shift%3600))
		var m map[string]any
		if json.Unmarshal(claims, &m) != nil {
			return // not a JSON object: no JWT payload to sign
		}
		obj, err := signer.Sign(claims)
		if err != nil {
			return
		}
		raw, _ := obj.CompactSerialize()
		lt, err := client.VerifyLogoutToken(c, context.Background(), raw, maxAge)
		want := acceptable(m, iss, now, maxAge)
		switch {
		case err == nil && !want:
			t.Fatalf("accepted a logout token the spec refuses: %s", claims)
		case err != nil && want:
			t.Fatalf("refused a valid logout token (%v): %s", err, claims)
		case err != nil && !errors.Is(err, fail.InvalidLogoutToken):
			t.Fatalf("refusal of an undocumented kind: %v", err)
		case err == nil && (lt.ID != m["jti"] || lt.Issuer != iss):
			t.Fatalf("accepted token read wrong: %+v from %s", lt, claims)
		}
	})
}

func replaceNow(s string, now int64) string {
	b, _ := json.Marshal(now)
	out := []byte{}
	for i := 0; i < len(s); i++ {
		if i+3 <= len(s) && s[i:i+3] == "NOW" {
			out = append(out, b...)
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}

// acceptable is the oracle: what a logout token's claims must be.
func acceptable(m map[string]any, iss string, now time.Time, maxAge time.Duration) bool {
	const skew = time.Minute // client.Config.ClockSkew's default
	num := func(k string) (float64, bool) { v, ok := m[k].(float64); return v, ok }
	str := func(k string) string { v, _ := m[k].(string); return v }
	if m["iss"] != iss {
		return false
	}
	var aud []string
	switch a := m["aud"].(type) {
	case string:
		aud = []string{a}
	case []any:
		for _, v := range a {
			s, ok := v.(string)
			if !ok {
				return false // go-oidc refuses an audience that is not strings
			}
			aud = append(aud, s)
		}
	default:
		if _, present := m["aud"]; present {
			return false
		}
	}
	if !slices.Contains(aud, "rp") {
		return false
	}
	iat, ok := num("iat")
	if !ok || iat != float64(int64(iat)) {
		return false
	}
	at := time.Unix(int64(iat), 0)
	if at.After(now.Add(skew)) || now.Sub(at) > maxAge+skew {
		return false
	}
	if v, present := m["exp"]; present {
		exp, ok := v.(float64)
		if !ok || exp != float64(int64(exp)) || now.After(time.Unix(int64(exp), 0).Add(skew)) {
			return false
		}
	}
	if v, present := m["nbf"]; present {
		nbf, ok := v.(float64)
		if !ok || time.Unix(int64(nbf), 0).After(now.Add(skew)) {
			return false
		}
	}
	if _, present := m["nonce"]; present {
		return false
	}
	if s, ok := m["jti"].(string); !ok || s == "" {
		return false
	}
	if str("sub") == "" && str("sid") == "" {
		return false
	}
	for _, k := range []string{"sub", "sid"} {
		if v, present := m[k]; present {
			if _, ok := v.(string); !ok {
				return false
			}
		}
	}
	events, ok := m["events"].(map[string]any)
	if !ok {
		return false
	}
	if _, ok := events["http://schemas.openid.net/event/backchannel-logout"].(map[string]any); !ok {
		return false
	}
	return true
}
