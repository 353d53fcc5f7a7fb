package tidy

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsMinimalExample: the apps at the top of the README are
// examples/quickstart/main.go (on the first screen) and
// examples/minimal/main.go as they are (which the build compiles), so the
// README cannot drift from code that works.
func TestREADMEShowsMinimalExample(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range []string{"quickstart", "minimal"} {
		src, err := os.ReadFile("../../../examples/" + ex + "/main.go")
		if err != nil {
			t.Fatal(err)
		}
		code := string(src[strings.Index(string(src), "package main"):])
		at := strings.Index(string(readme), "```go\n"+code+"```\n")
		if at < 0 {
			t.Errorf("README.md does not show examples/%s/main.go (from package main on) in a go block: copy it again", ex)
		}
		if lines := strings.Count(string(readme[:max(at, 0)]), "\n"); ex == "quickstart" && lines > 25 {
			t.Errorf("the quick start begins on README line %d: keep it on the first screen", lines+1)
		}
	}
}

// TestREADMEShowsRouterCode: the gin adapter and the router lines the
// README shows are the ones testdata/routers runs.
func TestREADMEShowsRouterCode(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../../testdata/routers/routers.go")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	i := strings.Index(code, "// Gin adapts")
	j := strings.Index(code, "\n// orders calls the orders API")
	if i < 0 || j < i {
		t.Fatal("testdata/routers/routers.go has no Gin adapter")
	}
	if adapter := code[i:j]; !strings.Contains(string(readme), "```go\n"+adapter+"```\n") {
		t.Error("README.md does not show testdata/routers' Gin adapter in a go block: copy it again")
	}
	for _, line := range []string{
		`r.Use(auth.Require)`,
		`r.With(auth.RequireWith(middleware.Claim("groups", "admins"))).Get("/admin", `,
		`r.Handle("/auth/*", auth)`,
		`e.Any("/auth/*", echo.WrapHandler(auth))`,
		`echo.WrapMiddleware(auth.Require)`,
		`r.Any("/auth/*path", gin.WrapH(auth))`,
		`r.GET("/account", Gin(auth.Require), `,
	} {
		if !strings.Contains(code, line) || !strings.Contains(string(readme), line) {
			t.Errorf("%q: in testdata/routers %v, in README.md %v", line, strings.Contains(code, line), strings.Contains(string(readme), line))
		}
	}
}

// TestREADMEShowsTheJSHelper: the helper the README's SPA section shows is
// examples/bff/static/confidant.js as the Chromium tests run it.
func TestREADMEShowsTheJSHelper(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile("../../../examples/bff/static/confidant.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```js\n"+string(js)+"```\n") {
		t.Error("README.md does not show examples/bff/static/confidant.js in a js block: copy it again")
	}
}
