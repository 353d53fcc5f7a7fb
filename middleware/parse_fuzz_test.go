package middleware

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// FuzzChallenge: the auth-params of an API's WWW-Authenticate challenge
// (RFC 9110 11.2; RFC 9470 step-up, DPoP nonces) written by the fuzzer.
// Any header parses without panicking; and params written as a server
// writes them (token keys, quoted values with \\ and \" escaped) parse back
// to exactly those params, in any order, whatever else the fuzzer put in
// the values.
func FuzzChallenge(f *testing.F) {
	f.Add(`error="insufficient_user_authentication", acr_values="urn:mfa", max_age=300`, "error", "use_dpop_nonce", "acr_values", `a "quoted" \\ value, with commas`)
	f.Add(`Bearer realm="x"`, "realm", "", "max_age", "0")
	f.Add(`,,=,"`, "k", `\`, "k2", `"`)
	token := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	f.Fuzz(func(t *testing.T, raw, k1, v1, k2, v2 string) {
		authParams(raw) // never panics
		if !token.MatchString(k1) || !token.MatchString(k2) || k1 == k2 {
			return
		}
		q := func(v string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"` }
		for _, header := range []string{k1 + "=" + q(v1) + ", " + k2 + "=" + q(v2), k2 + "=" + q(v2) + " , " + strings.ToUpper(k1) + "=" + q(v1)} {
			got := authParams(header)
			if got[k1] != v1 || got[k2] != v2 || len(got) != 2 {
				t.Fatalf("%s parsed as %q, want %s=%q and %s=%q", header, got, k1, v1, k2, v2)
			}
		}
	})
}

// FuzzProxyPath: the path of a call to the BFF proxy, as the browser sent
// it (escaped). A path the proxy accepts has no dot-segment under any
// reading an API server might make of it: decoded once or twice,
// backslashes as slashes, ";" parameters dropped, trailing dots and spaces
// trimmed (Windows); and it stays under the API's base path.
func FuzzProxyPath(f *testing.F) {
	for _, p := range []string{"orders/42", "..;/admin", "%2e%2e/x", "a%2f..%2fb", `..\x`, "%252e%252e/x", "v1.2/items", "a..b/c", "orders;v=1/x", ".%2e/x", "x/%2E/y"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		if unsafePath(escaped) {
			return
		}
		once, err := url.PathUnescape(escaped)
		if err != nil {
			t.Fatalf("accepted %q, which does not decode", escaped)
		}
		readings := []string{once, strings.ReplaceAll(once, `\`, "/")}
		if twice, err := url.PathUnescape(once); err == nil {
			readings = append(readings, twice, strings.ReplaceAll(twice, `\`, "/"))
		}
		for _, r := range readings {
			for _, seg := range strings.Split(r, "/") {
				seg, _, _ = strings.Cut(seg, ";")
				if trimmed := strings.TrimRight(seg, ". "); seg == "." || seg == ".." || (seg != "" && trimmed == "") {
					t.Fatalf("accepted %q: read as %q, it has the dot-segment %q", escaped, r, seg)
				}
			}
		}
		target, err := url.Parse("https://api.example/v1/" + strings.TrimPrefix(escaped, "/"))
		if err == nil && !strings.HasPrefix(target.Path, "/v1/") {
			t.Fatalf("accepted %q, which leaves the base path: %s", escaped, target.Path)
		}
	})
}
