package tidy

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsMinimalExample: the complete app at the top of the README
// is examples/minimal/main.go as it is (which the build compiles), so the
// README cannot drift from code that works.
func TestREADMEShowsMinimalExample(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../../examples/minimal/main.go")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src[strings.Index(string(src), "package main"):])
	if !strings.Contains(string(readme), "```go\n"+code+"```\n") {
		t.Error("README.md does not show examples/minimal/main.go (from package main on) in a go block: copy it again")
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
	j := strings.Index(code[i:], "\n}\n")
	if i < 0 || j < 0 {
		t.Fatal("testdata/routers/routers.go has no Gin adapter")
	}
	if adapter := code[i : i+j+3]; !strings.Contains(string(readme), "```go\n"+adapter+"```\n") {
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
