// Package routers is confidant's middleware on the Go routers people use,
// each wired as the README shows: gin (through the adapter Gin), echo
// (echo.WrapMiddleware) and chi (Use and With, no adapter). Each app has
// the same pages: /account for everyone signed in, /admin for the "admins"
// group, /orders calling an API with the user's token, and sign-out.
package routers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Gin adapts one of confidant's middleware (auth.Require, auth.Optional,
// auth.RequireWith(…)) to gin: the rest of gin's chain runs inside it, with
// the request that carries the user; when it answered by itself (a
// redirect to sign in, 401, 403), the chain stops there.
func Gin(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		next := false
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !next {
			c.Abort()
		}
	}
}

// Config is what the apps need.
type Config struct {
	Issuer, ClientID, ClientSecret, BaseURL string
	APIURL                                  string // the orders API
	SessionKeys                             [][]byte
	Now                                     func() time.Time // default time.Now
}

// NewAuth builds the middleware the apps share.
func NewAuth(ctx context.Context, cfg Config) (*middleware.Auth, error) {
	prov, err := client.Discover(ctx, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: cfg.BaseURL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: cfg.SessionKeys})
	if err != nil {
		return nil, err
	}
	return middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, Now: cfg.Now,
		APIs: []middleware.API{{Name: "orders", BaseURL: cfg.APIURL}}})
}

// orders calls the orders API as the user and relays its answer.
func orders(auth *middleware.Auth, apiURL string, r *http.Request) (int, string) {
	resp, err := auth.HTTPClient(r).Get(apiURL + "/orders")
	if err != nil {
		return middleware.StatusCode(err), err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func name(r *http.Request) string { return middleware.UserFrom(r.Context()).Name }

// GinApp is the app on gin.
func GinApp(auth *middleware.Auth, apiURL string) http.Handler {
	r := gin.New()
	r.Any("/auth/*path", gin.WrapH(auth))
	r.GET("/account", Gin(auth.Require), func(c *gin.Context) {
		c.String(http.StatusOK, "account of %s", name(c.Request))
	})
	r.GET("/admin", Gin(auth.RequireWith(middleware.Claim("groups", "admins"))), func(c *gin.Context) {
		c.String(http.StatusOK, "admin: %s", name(c.Request))
	})
	r.GET("/orders", Gin(auth.Require), func(c *gin.Context) {
		code, body := orders(auth, apiURL, c.Request)
		c.String(code, body)
	})
	return r
}

// EchoApp is the app on echo.
func EchoApp(auth *middleware.Auth, apiURL string) http.Handler {
	e := echo.New()
	e.Any("/auth/*", echo.WrapHandler(auth))
	e.GET("/account", func(c echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprintf("account of %s", name(c.Request())))
	}, echo.WrapMiddleware(auth.Require))
	e.GET("/admin", func(c echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprintf("admin: %s", name(c.Request())))
	}, echo.WrapMiddleware(auth.RequireWith(middleware.Claim("groups", "admins"))))
	e.GET("/orders", func(c echo.Context) error {
		code, body := orders(auth, apiURL, c.Request())
		return c.String(code, body)
	}, echo.WrapMiddleware(auth.Require))
	return e
}

// ChiApp is the app on chi.
func ChiApp(auth *middleware.Auth, apiURL string) http.Handler {
	r := chi.NewRouter()
	r.Handle("/auth/*", auth)
	r.Group(func(r chi.Router) {
		r.Use(auth.Require)
		r.Get("/account", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "account of %s", name(r)) })
		r.Get("/orders", func(w http.ResponseWriter, r *http.Request) {
			code, body := orders(auth, apiURL, r)
			w.WriteHeader(code)
			io.WriteString(w, body)
		})
	})
	r.With(auth.RequireWith(middleware.Claim("groups", "admins"))).Get("/admin", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "admin: %s", name(r))
	})
	return r
}
