package tidy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestREADMEShowsMinimalExample: the app at the top of the README is
// examples/quickstart/main.go as it is (which the build compiles), on the
// first screen, and docs/complete-app.md shows examples/minimal/main.go
// whole, so neither can drift from code that works.
func TestREADMEShowsMinimalExample(t *testing.T) {
	for _, c := range []struct{ page, ex string }{{"README.md", "quickstart"}, {"docs/complete-app.md", "minimal"}} {
		page, err := os.ReadFile("../../../" + c.page)
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile("../../../examples/" + c.ex + "/main.go")
		if err != nil {
			t.Fatal(err)
		}
		code := string(src[strings.Index(string(src), "package main"):])
		at := strings.Index(string(page), "```go\n"+code+"```\n")
		if at < 0 {
			t.Errorf("%s does not show examples/%s/main.go (from package main on) in a go block: copy it again", c.page, c.ex)
		}
		if lines := strings.Count(string(page[:max(at, 0)]), "\n"); c.ex == "quickstart" && lines > 40 {
			t.Errorf("the quick start begins on README line %d: keep it on the first screen", lines+1)
		}
	}
}

// TestREADMEIsShort: the README is what a newcomer reads whole; the manual
// is docs/. It keeps to 300 lines, says how to get the module, and links
// every guide in docs/.
func TestREADMEIsShort(t *testing.T) {
	raw, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// What a reader sees: no HTML comment hides a link or the go get line
	// from them, and a long line counts as the lines it wraps into (120
	// columns each).
	readme := regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(string(raw), "")
	n := 0
	for _, l := range strings.Split(readme, "\n") {
		n += max(1, (utf8.RuneCountInString(l)+119)/120)
	}
	if n > 300 {
		t.Errorf("README.md reads as %d lines of 120 columns; at most 300: move the detail to docs/", n)
	}
	if !strings.Contains(readme, "go get github.com/confidant-go/confidant") {
		t.Error("README.md has no go get line")
	}
	guides, err := filepath.Glob("../../../docs/*.md")
	if err != nil || len(guides) == 0 {
		t.Fatal("no docs/*.md", err)
	}
	for _, g := range append(guides, "../../../docs/providers/README.md") {
		link := "(docs/" + strings.TrimPrefix(filepath.ToSlash(g), "../../../docs/") + ")"
		if !strings.Contains(readme, link) && !strings.HasSuffix(g, "/tests.md") {
			t.Errorf("README.md does not link %s", link)
		}
	}
}

// TestREADMEShowsRouterCode: the gin adapter and the router lines
// docs/routers.md shows are the ones testdata/routers runs.
func TestREADMEShowsRouterCode(t *testing.T) {
	readme, err := os.ReadFile("../../../docs/routers.md")
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
		t.Error("docs/routers.md does not show testdata/routers' Gin adapter in a go block: copy it again")
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
			t.Errorf("%q: in testdata/routers %v, in docs/routers.md %v", line, strings.Contains(code, line), strings.Contains(string(readme), line))
		}
	}
}

// TestREADMEShowsTheJSHelper: the helper docs/spa.md shows is
// examples/bff/static/confidant.js as the Chromium tests run it.
func TestREADMEShowsTheJSHelper(t *testing.T) {
	readme, err := os.ReadFile("../../../docs/spa.md")
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile("../../../examples/bff/static/confidant.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```js\n"+string(js)+"```\n") {
		t.Error("docs/spa.md does not show examples/bff/static/confidant.js in a js block: copy it again")
	}
}
