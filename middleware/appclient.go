package middleware

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/lifetime"
	"github.com/confidant-go/confidant/internal/netx"
)

// appToken is the app's own token for one API.
type appToken struct {
	mu     sync.Mutex // one token request at a time
	tok    *oauth2.Token
	issued time.Time
}

// AppClient returns an *http.Client that calls the named API (Config.APIs)
// with the app's own access token, for work done on no user's behalf (a
// job, a webhook): the client_credentials grant of the API's provider (or
// of the first client), for the API's Resource and Scopes. The token goes
// to that API only, under the same rules as HTTPClient (ErrForbidden,
// ErrForbidden); it is obtained on first use, kept in memory and
// renewed before it expires (after 5 minutes when the provider did not say
// when) or when the API answers 401 (the call is then sent once more when
// its body can be), one token request at a time. The registration
// must allow the client_credentials grant. AppClient panics when api is not
// one of Config.APIs (a programming error, found at start). Safe for
// concurrent use.
func (a *Auth) AppClient(api string) *http.Client {
	t := a.apiNamed("AppClient", api)
	c := a.clients[0]
	if t.provider != "" {
		c = a.byName[t.provider]
	}
	a.appMu.Lock()
	at := a.appTokens[api]
	if at == nil {
		at = &appToken{}
		a.appTokens[api] = at
	}
	a.appMu.Unlock()
	return &http.Client{Transport: &appTransport{a: a, api: t, c: c, at: at}, CheckRedirect: sameOriginRedirects, Timeout: a.cfg.APITimeout}
}

type appTransport struct {
	a   *Auth
	api *apiTarget
	c   *client.Client
	at  *appToken
}

func (t *appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.a.apiFor(req.URL, t.api.provider) != t.api {
		closeBody(req)
		return nil, fmt.Errorf("%w: %s", fail.APINotAllowed, hostPath(req.URL.String()))
	}
	tok, err := t.token(req.Context(), nil)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, tok, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	// The API refused the token (revoked, or it expired without saying
	// when): a new one, and the call once more when its body can be sent
	// again.
	body, ok := replayBody(req)
	if !ok {
		return resp, nil
	}
	fresh, err := t.token(req.Context(), tok)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return resp, nil // the API's 401 stands
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
	resp.Body.Close()
	return t.send(req, fresh, body)
}

func (t *appTransport) send(req *http.Request, tok *oauth2.Token, body io.ReadCloser) (*http.Response, error) {
	r2 := req.Clone(req.Context())
	r2.Body = body
	tok.SetAuthHeader(r2)
	return t.a.transportFor(t.c.Provider().Name()).RoundTrip(r2)
}

// appTokenTTL is how long a token without expires_in is used before it is
// renewed: the provider did not say, and the API's 401 renews it sooner.
const appTokenTTL = 5 * time.Minute

// token returns the app's token for the API, renewed when it is due or
// when it is refused (the token the API refused; nil otherwise).
func (t *appTransport) token(ctx context.Context, refused *oauth2.Token) (*oauth2.Token, error) {
	t.at.mu.Lock()
	defer t.at.mu.Unlock()
	now := t.a.cfg.Now()
	if cur := t.at.tok; cur != nil {
		expiry := cur.Expiry
		if expiry.IsZero() {
			expiry = t.at.issued.Add(appTokenTTL)
		}
		switch {
		case refused != nil && cur.AccessToken != refused.AccessToken:
			return cur, nil // renewed by another call meanwhile
		case refused == nil && !lifetime.Due(now, t.at.issued, expiry, expiryDelta):
			return cur, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.a.cfg.RefreshTimeout)
	defer cancel()
	tok, err := t.c.ClientCredentials(ctx, t.api.op.resource, t.api.op.scopes)
	if err != nil {
		return nil, err
	}
	t.at.tok, t.at.issued = tok, now
	return tok, nil
}
