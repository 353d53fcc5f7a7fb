// Package confidanttest tests apps built on confidant offline, with
// net/http/httptest: a real OpenID Provider in the process that signs test
// users in through the whole flow, and requests that carry a session
// minted straight into the app's store, for fast tests of one handler.
//
// The app under test is built as in production, with the provider's issuer
// and the registration it hands out:
//
//	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}})
//	id, secret := op.Register(appURL + "/auth/callback")
//	auth, err := middleware.Setup(ctx, middleware.Config{Issuer: op.Issuer, ClientID: id,
//		ClientSecret: secret, AppURL: appURL, Keys: [][]byte{session.NewKey()}})
//	// … the app's routes on an httptest.Server at appURL …
//	browser := confidanttest.Browser()
//	resp, err := op.SignIn(browser, appURL+"/account", ada) // the browser now has a session
//
// or, without a sign-in: req, err := confidanttest.SignedIn(auth, target, user).
//
// The provider is github.com/zitadel/oidc's, in memory: discovery, JWKS,
// the code flow with PKCE, refresh token rotation with reuse detection,
// userinfo, revocation, end_session and back-channel logout. A test makes
// its endpoints fail or slow ([Provider.Fail], [Provider.Slow]), rotates
// its keys ([Provider.RotateKeys]), moves its clock and the app's past a
// token's expiry without waiting ([Clock]), signs a user out from its side
// ([Provider.LogOut]), and counts the requests it received
// ([Provider.Requests]). [Browser] keeps cookies and follows no redirect,
// so a test sees each step.
//
// [NewProvider] ties the provider to a test and stops it when the test
// ends; [Start] and [Provider.Close] are for TestMain and Examples. It is
// for tests only.
package confidanttest
