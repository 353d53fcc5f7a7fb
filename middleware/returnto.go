package middleware

import (
	"net/url"
	"strings"
)

// returnTo is where a sign-in started with raw as its return-to lands:
// raw when it is a same-origin relative path (sanitizeReturnTo), else
// Config.AfterLogin.
func (a *Auth) returnTo(raw string) string {
	if p, ok := sanitizeReturnTo(raw); ok {
		return p
	}
	return a.cfg.AfterLogin
}

// sanitizeReturnTo accepts only same-origin relative paths: it must start
// with a single "/", contain no backslash or control character (browsers
// drop tabs and newlines, turning "/\t/evil" into "//evil"), and neither it
// nor its percent-decoded form may start with "//" or "/\". Anything else is
// refused, including absolute URLs and scheme-relative ones.
func sanitizeReturnTo(s string) (string, bool) {
	if len(s) == 0 || len(s) > 2048 || s[0] != '/' {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	if strings.HasPrefix(s, "//") {
		return "", false
	}
	// Decode until nothing changes, so no depth of encoding hides "//";
	// a path still changing after 8 rounds is refused outright.
	dec, stable := s, false
	for range 8 {
		d, err := url.PathUnescape(dec)
		if err != nil {
			return "", false
		}
		if d == dec {
			stable = true
			break
		}
		dec = d
	}
	if !stable {
		return "", false
	}
	if strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") || strings.ContainsAny(dec, "\\\x00\t\r\n") {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	return s, true
}
