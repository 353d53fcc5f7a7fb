// Package routers is confidant's middleware on the Go routers people use,
// each wired as the README shows: gin (through the adapter Gin), echo
// (echo.WrapMiddleware) and chi (Use and With, no adapter). Each app has
// the same pages: /account for everyone signed in, /admin for the "admins"
// group, /orders calling an API with the user's token, /home for everyone
// (marked cacheable by a CDN, as a home page is; with ?orders it calls the
// API too), /proxied relaying the API's /public through
// httputil.ReverseProxy for those signed in, and sign-out. The Auth they
// share comes from middleware.Setup, as the README's quick start makes it
// (the tests call it), and each mounts it on its own router.
package routers

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"

	"github.com/confidant-go/confidant/middleware"
)

// Gin adapts one of confidant's middleware (auth.Require, auth.Optional,
// auth.RequireWith(…)) to gin: the rest of gin's chain runs inside it, with
// the request that carries the user, and writes through the middleware's
// writer, so that a session the SDK saved goes out with the response
// (marked Cache-Control: no-store); when it answered by itself (a redirect
// to sign in, 401, 403), the chain stops there.
func Gin(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		next, gw := false, c.Writer
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next = true
			c.Request, c.Writer = r, ginWriter{gw, w}
			c.Next()
			c.Writer = gw
		})).ServeHTTP(gw, c.Request)
		if !next {
			c.Abort()
		}
	}
}

// ginWriter is gin's writer with the response written through w, the
// middleware's (which writes to gin's). The status stays with gin's, which
// sends it with the first byte: headers set after c.Status still count.
type ginWriter struct {
	gin.ResponseWriter
	w http.ResponseWriter
}

func (g ginWriter) Write(b []byte) (int, error)       { return g.w.Write(b) }
func (g ginWriter) WriteString(s string) (int, error) { return io.WriteString(g.w, s) }
func (g ginWriter) Flush()                            { http.NewResponseController(g.w).Flush() }
func (g ginWriter) WriteHeaderNow() {
	g.w.WriteHeader(g.Status())
	g.ResponseWriter.WriteHeaderNow()
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

// home is a page for everyone that a CDN may cache, as far as the app is
// concerned: the SDK overrides that on a response that carries a cookie.
func home(auth *middleware.Auth, apiURL string, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=600")
	u := middleware.UserFrom(r.Context())
	if u == nil {
		io.WriteString(w, "home")
		return
	}
	if r.URL.Query().Has("orders") {
		code, body := orders(auth, apiURL, r)
		fmt.Fprintf(w, "home of %s, orders %d %s", u.Name, code, body)
		return
	}
	io.WriteString(w, "home of "+u.Name)
}

// proxy relays the API's /public, with its query (?hints: the API sends
// 103 Early Hints first).
func proxy(apiURL string) *httputil.ReverseProxy {
	target, _ := url.Parse(apiURL)
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.URL.Path = "/public"
	}}
}

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
	r.GET("/home", Gin(auth.Optional), func(c *gin.Context) { home(auth, apiURL, c.Writer, c.Request) })
	r.GET("/proxied", Gin(auth.Require), gin.WrapH(proxy(apiURL)))
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
	e.GET("/home", func(c echo.Context) error {
		home(auth, apiURL, c.Response(), c.Request())
		return nil
	}, echo.WrapMiddleware(auth.Optional))
	e.GET("/proxied", echo.WrapHandler(proxy(apiURL)), echo.WrapMiddleware(auth.Require))
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
		r.Handle("/proxied", proxy(apiURL))
	})
	r.With(auth.Optional).Get("/home", func(w http.ResponseWriter, r *http.Request) { home(auth, apiURL, w, r) })
	r.With(auth.RequireWith(middleware.Claim("groups", "admins"))).Get("/admin", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "admin: %s", name(r))
	})
	return r
}
