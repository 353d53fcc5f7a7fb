package devprovider

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// storage implements op.Storage in memory. Every method takes the lock: the
// OP calls them from many goroutines.
type storage struct {
	mu sync.Mutex

	cfg      *Config
	users    map[string]*User // by ID
	clients  map[string]*Client
	opaque   bool                    // opaque access tokens (Config.OpaqueAccessTokens)
	keys     []signingKey            // keys[0] signs; all are published (RotateKeys)
	requests map[string]*authRequest // by ID
	codes    map[string]string       // code -> request ID
	access   map[string]*accessToken // by ID
	refresh  map[string]*refreshToken
	// families maps a refresh-token family to its live token; a refresh token
	// that was already rotated away revokes its whole family (reuse detection).
	families map[string]string
	used     map[string]string // rotated-away refresh token -> family
	sso      map[string]string // OP browser session ID -> user ID

	revoked, reused atomic.Int64
}

type accessToken struct {
	ID, ClientID, Subject, RefreshID string
	Audience, Scopes                 []string
	Expiration                       time.Time
}

type refreshToken struct {
	Token, Family, ClientID, Subject string
	Audience, Scopes, AMR            []string
	AuthTime, Expiration             time.Time
	AccessID                         string
}

func newStorage(cfg *Config) (*storage, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &storage{
		cfg:      cfg,
		users:    map[string]*User{},
		clients:  map[string]*Client{},
		keys:     []signingKey{{randomID(), key}},
		requests: map[string]*authRequest{},
		codes:    map[string]string{},
		access:   map[string]*accessToken{},
		refresh:  map[string]*refreshToken{},
		families: map[string]string{},
		used:     map[string]string{},
		sso:      map[string]string{},
	}
	for i := range cfg.Users {
		u := cfg.Users[i]
		s.users[u.ID] = &u
	}
	for i := range cfg.Clients {
		c := cfg.Clients[i]
		recordIssued(c.Secret)
		c.accessTokenJWT = !cfg.OpaqueAccessTokens
		s.clients[c.ID] = &c
	}
	s.opaque = cfg.OpaqueAccessTokens
	return s, nil
}

func randomID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *storage) now() time.Time { return s.cfg.Now() }

// --- auth requests ---

type authRequest struct {
	oidc.AuthRequest
	id       string
	userID   string
	done     bool
	authTime time.Time
}

func (a *authRequest) GetID() string                      { return a.id }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string              { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.authTime }
func (a *authRequest) GetClientID() string                { return a.ClientID }
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.userID }
func (a *authRequest) Done() bool                         { return a.done }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: a.CodeChallengeMethod}
}

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	sso, _ := ctx.Value(ssoUserKey{}).(string)
	if slices.Contains(req.Prompt, oidc.PromptNone) && sso == "" {
		return nil, oidc.ErrLoginRequired() // no session at the provider
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &authRequest{AuthRequest: *req, id: randomID(), userID: userID}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		// The browser's session at the provider signs it in, silently.
		a.userID, a.done, a.authTime = sso, true, s.now()
	}
	s.requests[a.id] = a
	return a, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return nil, errors.New("auth request not found")
	}
	return a, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("code invalid or expired")
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	recordIssued(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// completeLogin marks an auth request as authenticated by userID.
func (s *storage) completeLogin(id, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return errors.New("auth request not found")
	}
	if _, ok := s.users[userID]; !ok {
		return errors.New("unknown user")
	}
	a.userID, a.done, a.authTime = userID, true, s.now()
	return nil
}

func (s *storage) checkPassword(username, password string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == username && u.Password == password {
			return u.ID, true
		}
	}
	return "", false
}

func (s *storage) request(id string) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return nil, false
	}
	cp := *a
	return &cp, true
}

// --- tokens ---

func (s *storage) newAccess(clientID, subject, refreshID string, aud, scopes []string) *accessToken {
	t := &accessToken{ID: randomID(), ClientID: clientID, Subject: subject, RefreshID: refreshID,
		Audience: aud, Scopes: scopes, Expiration: s.now().Add(s.cfg.AccessTokenLifetime)}
	s.access[t.ID] = t
	return t
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clientID := ""
	switch a := req.(type) {
	case *authRequest:
		clientID = a.ClientID
	case *appRequest:
		clientID = a.clientID
	}
	t := s.newAccess(clientID, req.GetSubject(), "", req.GetAudience(), req.GetScopes())
	return t.ID, t.Expiration, nil
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if current == "" {
		a, ok := req.(*authRequest)
		if !ok {
			return "", "", time.Time{}, errors.New("unsupported token request")
		}
		rt := &refreshToken{Token: randomID(), Family: randomID(), ClientID: a.ClientID, Subject: a.userID,
			Audience: a.GetAudience(), Scopes: a.Scopes, AMR: a.GetAMR(), AuthTime: a.authTime,
			Expiration: s.now().Add(s.cfg.RefreshTokenLifetime)}
		at := s.newAccess(rt.ClientID, rt.Subject, rt.Token, rt.Audience, rt.Scopes)
		rt.AccessID = at.ID
		s.refresh[rt.Token] = rt
		s.families[rt.Family] = rt.Token
		return at.ID, rt.Token, at.Expiration, nil
	}
	old, ok := s.refresh[current]
	if !ok {
		if _, rotated := s.used[current]; rotated {
			// Presented twice at once: the other request rotated it
			// between this one's lookup and now.
			s.reused.Add(1)
		}
		return "", "", time.Time{}, op.ErrInvalidRefreshToken
	}
	if s.cfg.NoRefreshRotation {
		// The refresh token stays; only the access token is new.
		delete(s.access, old.AccessID)
		old.Scopes = req.GetScopes()
		at := s.newAccess(old.ClientID, old.Subject, old.Token, old.Audience, old.Scopes)
		old.AccessID = at.ID
		return at.ID, old.Token, at.Expiration, nil
	}
	delete(s.refresh, current)
	delete(s.access, old.AccessID)
	s.used[current] = old.Family
	rt := *old
	rt.Token = randomID()
	rt.Scopes = req.GetScopes()
	rt.Expiration = s.now().Add(s.cfg.RefreshTokenLifetime)
	at := s.newAccess(rt.ClientID, rt.Subject, rt.Token, rt.Audience, rt.Scopes)
	rt.AccessID = at.ID
	s.refresh[rt.Token] = &rt
	s.families[rt.Family] = rt.Token
	return at.ID, rt.Token, at.Expiration, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fam, reused := s.used[token]; reused {
		// A rotated-away token came back: someone holds a stale copy. Revoke
		// the family, as a provider with reuse detection does.
		if live, ok := s.families[fam]; ok {
			if rt, ok := s.refresh[live]; ok {
				delete(s.access, rt.AccessID)
			}
			delete(s.refresh, live)
			delete(s.families, fam)
		}
		s.reused.Add(1)
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token reused")
	}
	rt, ok := s.refresh[token]
	if !ok || s.now().After(rt.Expiration) {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	cp := *rt
	return &refreshRequest{&cp}, nil
}

type refreshRequest struct{ *refreshToken }

func (r *refreshRequest) GetAMR() []string             { return r.AMR }
func (r *refreshRequest) GetAudience() []string        { return r.Audience }
func (r *refreshRequest) GetAuthTime() time.Time       { return r.AuthTime }
func (r *refreshRequest) GetClientID() string          { return r.ClientID }
func (r *refreshRequest) GetScopes() []string          { return r.Scopes }
func (r *refreshRequest) GetSubject() string           { return r.Subject }
func (r *refreshRequest) SetCurrentScopes(sc []string) { r.Scopes = sc }

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.access {
		if t.ClientID == clientID && t.Subject == userID {
			delete(s.access, id)
		}
	}
	for tok, rt := range s.refresh {
		if rt.ClientID == clientID && rt.Subject == userID {
			delete(s.refresh, tok)
			delete(s.families, rt.Family)
		}
	}
	for sid, uid := range s.sso {
		if uid == userID {
			delete(s.sso, sid)
		}
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.Subject, rt.Token, nil
}

func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.access[tokenOrID]; ok {
		if at.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
		}
		delete(s.access, tokenOrID)
		return nil
	}
	if rt, ok := s.refresh[tokenOrID]; ok {
		if rt.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
		}
		delete(s.refresh, tokenOrID)
		delete(s.access, rt.AccessID)
		delete(s.families, rt.Family)
		s.revoked.Add(1)
	}
	return nil
}

// --- keys ---

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return &k.key.PublicKey }

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k := s.signing()
	return &k, nil
}

// signing is the key that signs now.
func (s *storage) signing() signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0]
}

// publicKeys are the keys the JWKS publishes.
func (s *storage) publicKeys() []*rsa.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*rsa.PublicKey
	for _, k := range s.keys {
		out = append(out, &k.key.PublicKey)
	}
	return out
}

// rotateKeys signs with a new key from now on and keeps the old ones
// published, as a provider's planned rotation does.
func (s *storage) rotateKeys() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append([]signingKey{{randomID(), key}}, s.keys...)
	return nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []op.Key
	for _, k := range s.keys {
		out = append(out, &publicKey{k})
	}
	return out, nil
}

// --- clients and users ---

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return nil, errors.New("client not found")
	}
	cp := *c // the OP reads it without the lock
	cp.Redirects = slices.Clone(c.Redirects)
	cp.PostLogoutRedirects = slices.Clone(c.PostLogoutRedirects)
	return &cp, nil
}

// ClientCredentials implements op.ClientCredentialsStorage: a client's
// own access token (RFC 6749 4.4), which an SSF transmitter's management
// API takes, for instance.
func (s *storage) ClientCredentials(ctx context.Context, clientID, clientSecret string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(clientSecret)) != 1 {
		return nil, errors.New("invalid client")
	}
	return c, nil
}

// ClientCredentialsTokenRequest implements op.ClientCredentialsStorage:
// the token's subject is the client.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	return &appRequest{clientID: clientID, scopes: scopes}, nil
}

// appRequest is a client_credentials token request.
type appRequest struct {
	clientID string
	scopes   []string
}

func (r *appRequest) GetSubject() string    { return r.clientID }
func (r *appRequest) GetAudience() []string { return []string{r.clientID} }
func (r *appRequest) GetScopes() []string   { return r.scopes }

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok || c.Secret != secret {
		return errors.New("invalid client")
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, ui *oidc.UserInfo, userID, clientID string, scopes []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(ui, req.GetSubject(), scopes)
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	s.mu.Lock()
	t, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok || s.now().After(t.Expiration) {
		return errors.New("token is invalid or has expired")
	}
	if err := s.setUserinfo(ui, t.Subject, t.Scopes); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.users[t.Subject].UserinfoOnly {
		ui.AppendClaims(k, v)
	}
	return nil
}

func (s *storage) setUserinfo(ui *oidc.UserInfo, userID string, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return fmt.Errorf("user not found")
	}
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeOpenID:
			ui.Subject = u.ID
		case oidc.ScopeEmail:
			ui.Email = u.Email
			ui.EmailVerified = oidc.Bool(u.Email != "" && !u.EmailUnverified)
		case oidc.ScopeProfile:
			ui.PreferredUsername = u.Username
			ui.Name = u.Name
			ui.Picture = u.Picture
			ui.Locale = oidc.NewLocale(language.English)
			for k, v := range u.Claims {
				ui.AppendClaims(k, v)
			}
		}
	}
	return nil
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, in *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s.mu.Lock()
	t, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok || s.now().After(t.Expiration) {
		return errors.New("token is invalid")
	}
	in.Active = true
	in.Subject = t.Subject
	in.Scope = t.Scopes
	in.ClientID = t.ClientID
	in.Expiration = oidc.FromTime(t.Expiration)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	return nil, errors.New("jwt profile not supported")
}

func (s *storage) ValidateJWTProfileScopes(ctx context.Context, userID string, scopes []string) ([]string, error) {
	return nil, errors.New("jwt profile not supported")
}

func (s *storage) Health(ctx context.Context) error { return nil }

// --- OP browser sessions (SSO) ---

func (s *storage) newSSO(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := randomID()
	s.sso[id] = userID
	return id
}

func (s *storage) ssoUser(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.sso[id]
	return u, ok
}

func (s *storage) endSSO(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sso, id)
}

func (s *storage) refreshTokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.refresh[tok]
	return ok
}
