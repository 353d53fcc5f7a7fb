// Package secevent verifies Security Event Tokens (RFC 8417) as the
// OpenID Shared Signals Framework 1.0 delivers them: a JWT typed
// secevent+jwt, signed by the transmitter with an asymmetric key, for
// this receiver (aud), from the transmitter (iss), with a jti, an iat,
// and exactly one event, about a subject named by a subject identifier
// (RFC 9493, and SSF's complex subjects). Each refusal carries the error
// code of RFC 8935 2.3 that a push endpoint answers with (Code).
package secevent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/internal/fail"
)

// Refusals, each with its RFC 8935 err code (Code).
var (
	ErrInvalidRequest  = fail.SETInvalidRequest  // invalid_request
	ErrInvalidKey      = fail.SETInvalidKey      // invalid_key
	ErrInvalidIssuer   = fail.SETInvalidIssuer   // invalid_issuer
	ErrInvalidAudience = fail.SETInvalidAudience // invalid_audience
)

// Code is the RFC 8935 err code of a refusal of Verify ("invalid_request"
// for an error that is none of them).
func Code(err error) string {
	switch {
	case errors.Is(err, ErrInvalidKey):
		return "invalid_key"
	case errors.Is(err, ErrInvalidIssuer):
		return "invalid_issuer"
	case errors.Is(err, ErrInvalidAudience):
		return "invalid_audience"
	}
	return "invalid_request"
}

// algs are the signature algorithms a SET is taken with: asymmetric only
// (a transmitter's public keys verify it; none and HMAC never).
var algs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// Keys returns the transmitter's public keys that may have signed a SET
// whose header names kid (all of them for ""); it may fetch them again
// for a kid it does not know.
type Keys func(ctx context.Context, kid string) ([]jose.JSONWebKey, error)

// Want is what a SET must be.
type Want struct {
	Issuer   string   // the transmitter's issuer, exactly
	Audience []string // one of them must be in aud
	// MaxAge bounds how old its iat may be (0: any age): a poll may
	// deliver a SET some time after it was issued.
	MaxAge time.Duration
	// Skew is the clock skew allowed for iat in the future and exp.
	// Default: 1 minute.
	Skew time.Duration
	Now  func() time.Time
}

// Token is a verified SET.
type Token struct {
	Issuer   string
	Audience []string
	ID       string // jti
	IssuedAt time.Time
	TxnID    string // txn, when present
	// Event is its one event's type (a URI) and Payload that event's
	// members.
	Event   string
	Payload json.RawMessage
	// Subject is the SET's sub_id, else its event's subject (the form
	// of CAEP before SSF 1.0); nil when it names none.
	Subject *Subject
}

// Subject is a subject identifier (RFC 9493), or SSF's complex subject,
// whose members are subject identifiers themselves.
type Subject struct {
	Format string `json:"format"`
	// The members of the simple formats: iss_sub (Iss, Sub), email
	// (Email), opaque (ID), phone_number (PhoneNumber), account and uri
	// (URI), did (URL).
	Iss         string `json:"iss,omitempty"`
	Sub         string `json:"sub,omitempty"`
	Email       string `json:"email,omitempty"`
	ID          string `json:"id,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	URI         string `json:"uri,omitempty"`
	URL         string `json:"url,omitempty"`
	// Identifiers are an aliases subject's.
	Identifiers []Subject `json:"identifiers,omitempty"`
	// The members of a complex subject (SSF 1.0 3.2).
	User        *Subject `json:"user,omitempty"`
	Session     *Subject `json:"session,omitempty"`
	Device      *Subject `json:"device,omitempty"`
	Application *Subject `json:"application,omitempty"`
	Tenant      *Subject `json:"tenant,omitempty"`
	OrgUnit     *Subject `json:"org_unit,omitempty"`
	Group       *Subject `json:"group,omitempty"`
}

// maxSize bounds a SET before it is parsed.
const maxSize = 64 << 10

// Verify checks raw as a SET from the transmitter want names, for this
// receiver: typ secevent+jwt, an asymmetric signature by one of keys
// (invalid_key), iss (invalid_issuer), aud (invalid_audience), a jti, an
// iat not in the future (nor older than MaxAge), exp when present, and
// exactly one event whose payload is an object (invalid_request). It
// does not remember the jti: the caller refuses a replay (across
// instances).
func Verify(ctx context.Context, raw string, keys Keys, want Want) (*Token, error) {
	if len(raw) > maxSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrInvalidRequest, maxSize)
	}
	// A SET is a JWT: the compact serialization only, whose header is
	// all signed (the JSON one has an unprotected header that could
	// claim the typ).
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		return nil, fmt.Errorf("%w: not a signed JWT with an asymmetric algorithm: %v", ErrInvalidRequest, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", ErrInvalidRequest, len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), "secevent+jwt") {
		return nil, fmt.Errorf("%w: typ %q, not secevent+jwt", ErrInvalidRequest, typ)
	}
	if h.JSONWebKey != nil || h.ExtraHeaders["jku"] != nil || h.ExtraHeaders["x5u"] != nil {
		// Keys come from the transmitter's jwks_uri only, never from the
		// token itself.
		return nil, fmt.Errorf("%w: the header names its own key", ErrInvalidKey)
	}
	ks, err := keys(ctx, h.KeyID)
	if errors.Is(err, fail.ProviderUnavailable) {
		// Not the SET's fault: delivered again, it is verified then.
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the transmitter's keys: %v", ErrInvalidKey, err)
	}
	var payload []byte
	for _, k := range ks {
		if k.Use != "" && k.Use != "sig" || !k.IsPublic() || (h.KeyID != "" && k.KeyID != "" && k.KeyID != h.KeyID) {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if p, err := jws.Verify(k); err == nil {
			payload = p
			break
		}
	}
	if payload == nil {
		return nil, fmt.Errorf("%w: no key of the transmitter's verifies it (kid %q)", ErrInvalidKey, h.KeyID)
	}
	var c struct {
		Iss    string                     `json:"iss"`
		Aud    audience                   `json:"aud"`
		JTI    string                     `json:"jti"`
		IAT    *json.Number               `json:"iat"`
		Exp    *json.Number               `json:"exp"`
		Txn    string                     `json:"txn"`
		SubID  *Subject                   `json:"sub_id"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: its claims: %v", ErrInvalidRequest, err)
	}
	if c.Iss != want.Issuer {
		return nil, fmt.Errorf("%w: iss %q", ErrInvalidIssuer, c.Iss)
	}
	if !slices.ContainsFunc(c.Aud, func(a string) bool { return slices.Contains(want.Audience, a) }) {
		return nil, fmt.Errorf("%w: aud %q", ErrInvalidAudience, []string(c.Aud))
	}
	now := time.Now()
	if want.Now != nil {
		now = want.Now()
	}
	skew := want.Skew
	if skew == 0 {
		skew = time.Minute
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return nil, fmt.Errorf("%w: no jti", ErrInvalidRequest)
	}
	iat, ok := seconds(c.IAT)
	if !ok {
		return nil, fmt.Errorf("%w: no iat", ErrInvalidRequest)
	}
	if iat.After(now.Add(skew)) || (want.MaxAge > 0 && now.Sub(iat) > want.MaxAge) {
		return nil, fmt.Errorf("%w: iat %s", ErrInvalidRequest, iat.UTC().Format(time.RFC3339))
	}
	if exp, ok := seconds(c.Exp); c.Exp != nil && (!ok || now.After(exp.Add(skew))) {
		return nil, fmt.Errorf("%w: expired", ErrInvalidRequest)
	}
	if len(c.Events) != 1 {
		return nil, fmt.Errorf("%w: %d events, want one", ErrInvalidRequest, len(c.Events))
	}
	t := &Token{Issuer: c.Iss, Audience: c.Aud, ID: c.JTI, IssuedAt: iat, TxnID: c.Txn, Subject: c.SubID}
	for typ, p := range c.Events {
		var members map[string]json.RawMessage
		if json.Unmarshal(p, &members) != nil {
			return nil, fmt.Errorf("%w: the event %q is not an object", ErrInvalidRequest, typ)
		}
		t.Event, t.Payload = typ, p
		if t.Subject == nil && members["subject"] != nil {
			var s Subject
			if json.Unmarshal(members["subject"], &s) == nil {
				t.Subject = &s
			}
		}
	}
	return t, nil
}

// audience is aud: a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// seconds reads a NumericDate.
func seconds(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}
