package middleware_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestContextHoldsNoTokens: a handler behind Require reaches the user, the
// app's values and the session's times through its request, but not the
// refresh token, the ID token or the DPoP key: everything the public API
// gives from the request (UserFrom, SessionFrom, FailureReason, and the
// token AccessToken hands out) is walked, unexported fields included, for
// any of them. The session the store holds, loaded as the store's own user
// would, says what to look for. DPoP-bound tokens from oidc-provider, so
// that the session has a key.
func TestContextHoldsNoTokens(t *testing.T) {
	s := newCertified(t, certifiedOptions{client: func(c *client.Config) { c.DPoP = true },
		mw: func(c *middleware.Config) {
			c.OnSignIn = func(_ context.Context, si *middleware.SignedIn) error {
				si.Values = map[string]string{"account": "acct-1"}
				return nil
			}
		}})
	var problems []string
	var seen *middleware.Session
	s.app.Mux.Handle("/look", s.app.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stored, err := s.app.Store.Load(r)
		if err != nil || stored.RefreshToken == "" || stored.IDToken == "" || len(stored.DPoPKey) == 0 {
			problems = append(problems, fmt.Sprintf("the stored session lacks a secret to look for (%v)", err))
			return
		}
		idSig := stored.IDToken[strings.LastIndex(stored.IDToken, ".")+1:]
		secrets := map[string]string{
			"refresh token":        stored.RefreshToken,
			"ID token":             stored.IDToken,
			"ID token's signature": idSig,
			"DPoP key":             string(stored.DPoPKey),
			"DPoP key, base64":     base64.StdEncoding.EncodeToString(stored.DPoPKey),
			"DPoP key, base64url":  base64.RawURLEncoding.EncodeToString(stored.DPoPKey),
		}
		tok, err := s.app.Auth.AccessToken(r, "")
		if err != nil || tok.AccessToken != stored.AccessToken || tok.RefreshToken != "" || tok.Extra("id_token") != nil {
			problems = append(problems, fmt.Sprintf("AccessToken(r, \"\"): %v, want the stored access token alone", err))
		}
		seen = middleware.SessionFrom(r.Context())
		for what, v := range map[string]any{
			"UserFrom":      middleware.UserFrom(r.Context()),
			"SessionFrom":   seen,
			"FailureReason": middleware.FailureReason(r),
			"AccessToken":   tok,
		} {
			walk(reflect.ValueOf(v), what, func(path, text string) {
				if text == opaque {
					problems = append(problems, path+" is a function, channel or unsafe pointer, which may reach anything")
				}
				for name, secret := range secrets {
					if strings.Contains(text, secret) {
						problems = append(problems, fmt.Sprintf("%s holds the %s", path, name))
					}
				}
			})
		}
	})))
	hc := s.signIn(t, "alice")
	if resp, body := get(t, hc, s.app.URL+"/look"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/look: %d %s", resp.StatusCode, body)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if seen == nil || seen.Subject != "alice" || seen.Values["account"] != "acct-1" || seen.SignedInAt.IsZero() || seen.Expiry.IsZero() || len(seen.Scopes) == 0 {
		t.Errorf("SessionFrom: %+v, want alice, her values, times and scopes", seen)
	}
}

const opaque = "\x00opaque"

// walk calls found with the text of every string and byte slice reachable
// from v, with the path that led there.
func walk(v reflect.Value, path string, found func(path, text string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, found)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walk(v.Field(i), path+"."+v.Type().Field(i).Name, found)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Kind() == reflect.Slice {
			found(path, string(v.Bytes()))
			return
		}
		for i := range v.Len() {
			walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), found)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			walk(it.Key(), path+"{key}", found)
			walk(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()), found)
		}
	case reflect.String:
		found(path, v.String())
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		if !v.IsNil() {
			found(path, opaque) // what it reaches cannot be walked
		}
	}
}

// TestAccessTokenByName: AccessToken hands out the sign-in's token for ""
// and for an API that takes it, refreshed once it expired while the
// handler ran, refuses a name not in Config.APIs, and tells a handler that
// no Require wraps to wrap it.
func TestAccessTokenByName(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	env := testenv.New(t, testenv.Options{OP: shortLived(10 * time.Minute), Clock: clock})
	var got []string
	var errs []error
	env.Mux.Handle("/tokens", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, api := range []string{"", "api", "nope", "later"} {
			if api == "later" {
				clock.Add(11 * time.Minute) // the sign-in's token has expired
				api = ""
			}
			tok, err := env.Auth.AccessToken(r, api)
			errs = append(errs, err)
			if tok != nil {
				got = append(got, tok.AccessToken)
			}
		}
	})))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	stored := env.Session(t, hc)
	if resp, err := hc.Get(env.App.URL + "/tokens"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/tokens: %v %v", resp, err)
	}
	if len(got) != 3 || got[0] != stored.AccessToken || got[1] != stored.AccessToken || errs[0] != nil || errs[1] != nil {
		t.Errorf("tokens %d (%v), want the sign-in's twice", len(got), errs)
	}
	if !errors.Is(errs[2], fail.MiddlewareConfig) {
		t.Errorf("an API not configured: %v, want ErrConfig", errs[2])
	}
	if errs[3] != nil || len(got) < 3 || got[2] == stored.AccessToken {
		t.Errorf("after the token expired: %v, want a refreshed token", errs[3])
	} else if now := env.Session(t, hc); now.AccessToken != got[2] {
		t.Error("the refreshed token handed out is not the one the session kept")
	}
	_, err := env.Auth.AccessToken(httptest.NewRequest("GET", "/bare", nil), "")
	if !errors.Is(err, fail.MiddlewareConfig) {
		t.Errorf("outside Require: %v, want ErrConfig", err)
	}
}
