// Package providers holds the presets of well-known providers, as
// golang.org/x/oauth2 keeps its endpoints apart: each returns a
// *client.Provider that knows where the provider is, what it is called,
// and how it departs from plain OpenID Connect (its quirks, each emulated
// from the provider's documentation and tested). Give it to
// middleware.Config.Provider for Setup, in place of an issuer URL, or to
// client.Config.Provider; package client runs the protocol.
//
// The presets:
//
//   - [Auth0] (domain): organizations and invitations passed on from the
//     login route, [WithAudience] for JWT access tokens, sign-out through
//     /oidc/logout or /v2/logout;
//   - [Google]: offline_access as access_type=offline, [WithHostedDomain]
//     sent and enforced on the ID token's hd, sign-out by revocation;
//   - [GitHub]: plain OAuth 2.0, the user from its API, errors sent with
//     HTTP 200, revocation through its token API; GitHub Enterprise Server
//     with [WithBaseURL];
//   - [Entra] (tenant): Microsoft Entra ID, one tenant or several
//     ([WithTenants], [WithAnyTenant]), each token's tid and iss checked;
//     [EntraIDOf] is a user's stable key;
//   - [Okta] (domain, authorization server);
//   - [Keycloak] (base URL, realm);
//   - [Cognito] (region, user pool): sign-out on the pool's domain;
//   - [Apple]: a client secret the app signs (client.Config.SecretJWT),
//     form_post, the name of the first sign-in;
//   - [GitLab]: gitlab.com or a self-managed instance ([WithBaseURL]),
//     groups from userinfo.
//
// A preset's name ("auth0", "google", "github", "entra", "okta",
// "keycloak", "cognito", "apple", "gitlab") is stable: sessions keep it and
// apps key their records on it with the user's subject. client.WithName
// sets another one (for two realms of one Keycloak, say), and
// client.WithHTTPClient the HTTP client, as for client.Discover. Every
// preset but GitHub is discovered on first use: making one sends no
// request.
//
// Any other provider is client.Discover (OpenID Connect), client.NewProvider
// (endpoints by hand) or client.OAuth2 (plain OAuth 2.0 with a function that
// loads the user).
//
// How to register the app at each provider, and the program to write, are
// in the repository's docs/providers; e2e_test.go runs each of those
// programs' configurations against the provider's emulator.
package providers
