package middleware

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/seam"
)

// clientPlumbing is what the middleware asks of a *client.Client beyond
// its exported methods (internal/seam): the callback's steps one at a time
// (the flow cookie is found by the state a JARM response carries, and a
// silent sign-in's refusal is not an error), a session's refresh, logout
// tokens, and settings only the middleware reads.
type clientPlumbing interface {
	WithEvents(logger *slog.Logger, hook event.Hook) *client.Client
	ResponseMode() string
	LoginParams() []string
	ClientID() string
	RedirectURL() string
	Scopes() []string
	AuthorizationResponse(ctx context.Context, params url.Values) (url.Values, error)
	CheckResponseIssuer(ctx context.Context, q url.Values) error
	Exchange(ctx context.Context, code string, l *client.Login, formUser string) (*client.Result, error)
	Refresh(ctx context.Context, refreshToken string, prev seam.Previous) (*client.Result, error)
	RefreshFor(ctx context.Context, refreshToken string, key *ecdsa.PrivateKey, resource string, scopes []string) (*oauth2.Token, error)
	VerifyLogoutToken(ctx context.Context, raw string, maxAge time.Duration) (*seam.LogoutToken, error)
	// A connected API's grant (grants.go).
	ForAPI(scopes []string) *client.Client
	ExchangeGrant(ctx context.Context, code string, l *client.Login) (*oauth2.Token, error)
	DPoP() bool
	RequiredACR() []string
	// A client ID metadata document (cimd.go).
	PublicJWK() *jose.JSONWebKey
	SharedSecret() bool
	PrivateKey() *client.PrivateKey
}

// providerPlumbing is what the middleware asks of a *client.Provider.
type providerPlumbing interface {
	Issuer() string
	HTTPClient() *http.Client
	HasIssuer(ctx context.Context, iss string) bool
	IsOIDC() bool
	DiscoveryError() error
	HasScopes() bool
	Discovered(ctx context.Context) (seam.Discovered, error)
}

// grantedScope is the scope a token response granted, when it said.
func grantedScope(tok *oauth2.Token) string {
	s, _ := tok.Extra("scope").(string)
	return s
}

// plumbingOf is c's plumbing.
func plumbingOf(c *client.Client) clientPlumbing { return seam.Of(c).(clientPlumbing) }

// providerOf is p's plumbing.
func providerOf(p *client.Provider) providerPlumbing { return seam.Of(p).(providerPlumbing) }
