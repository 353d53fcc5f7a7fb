// Package jwtpeek reads a compact JWT's parts without verifying anything:
// to choose the provider that must verify it, and to refuse a malformed
// token before any key is fetched.
package jwtpeek

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Split decodes a compact JWT's header and payload. ok is false for
// anything but three parts whose first two are base64url, or a token
// longer than 16 KiB.
func Split(raw string) (header, payload []byte, ok bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || len(raw) > 16<<10 {
		return nil, nil, false
	}
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	p, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	return h, p, err1 == nil && err2 == nil
}

// Issuer returns the token's iss claim, unverified; "" when there is none.
func Issuer(raw string) string {
	_, payload, ok := Split(raw)
	if !ok {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	json.Unmarshal(payload, &c)
	return c.Iss
}
