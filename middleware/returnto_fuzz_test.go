package middleware

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSanitizeReturnTo: whatever is accepted stays on the app's origin,
// even as a browser resolves it, and is never a scheme-relative or
// backslash path in any decoding.
func FuzzSanitizeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/profile?a=b", "//evil.example", "/\\evil", "/%2F%2Fevil", "/%5Cevil",
		"/%252F%252Fevil", "/\t/evil", "https://evil", "javascript:alert(1)", "/a/../..//evil", "/%0d%0aSet-Cookie:x",
		"/%", "/ok#frag", "/@evil.example", "/.//evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/some/page")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := sanitizeReturnTo(s)
		if !ok {
			return
		}
		if got != s || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n\t\x00") {
			t.Fatalf("accepted %q", s)
		}
		u, err := base.Parse(s)
		if err != nil || u.Host != "app.example" || u.Scheme != "https" || u.User != nil {
			t.Fatalf("%q resolves to %v (%v)", s, u, err)
		}
		dec := s
		for range 10 {
			if d, err := url.PathUnescape(dec); err == nil {
				dec = d
			}
			if strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") {
				t.Fatalf("accepted %q, which decodes to %q", s, dec)
			}
		}
	})
}
