// Package client speaks OAuth 2.0 and OpenID Connect to a provider on behalf
// of a confidential web app: one whose backend keeps a client secret. Most
// apps use it through package middleware, which keeps each sign-in attempt
// in a cookie and its result in the session; use it directly to run the
// protocol yourself, or for work outside a request.
//
// A Provider describes where the provider's endpoints are: found by OIDC
// discovery ([Discover]), given by hand ([NewProvider], [OAuth2] for plain
// OAuth 2.0), or a preset of package
// [github.com/confidant-go/confidant/providers] (Auth0, Google, GitHub,
// Entra ID, …), which also knows how its provider departs from plain
// OpenID Connect. A [Client] binds a
// Provider to the app's registration (client ID, secret, redirect URL) and
// runs the protocol:
//
//   - [Client.NewLogin] builds the authorization URL with a fresh state,
//     nonce and PKCE S256 challenge;
//   - [Client.Callback] finishes it with the callback's parameters, in the
//     one safe order: the state compared with the Login's before any token
//     request, then the code redeemed with the PKCE verifier and the ID
//     token verified (signature, iss, aud, exp, nonce, at_hash, …);
//   - [Client.Refresh] redeems a Result's refresh token and checks a new ID
//     token against the old one; [Client.TokenSource] keeps a token fresh
//     outside a request (use oauth2.NewClient for an *http.Client that
//     sends it);
//   - [Client.ClientCredentials] gets the app's own token, and
//     [Client.ExchangeToken] trades a user's for another API's (RFC 8693);
//   - [Client.Revoke] revokes a token (RFC 7009) and [Client.LogoutURL]
//     builds the RP-initiated logout URL.
//
// The package is built on golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3 and hands out their types (*oauth2.Token,
// oauth2.TokenSource) so it composes with code that already uses them.
//
// Errors are wrapped around the exported families (ErrInvalidIDToken,
// ErrInvalidResponse, ErrTokenRequest, ErrProviderUnavailable, …): test
// them with errors.Is; metrics.Reason tells their children apart.
// No error, log line or panic produced by this package contains a token,
// authorization code or secret.
package client
