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
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../examples/minimal/main.go")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src[strings.Index(string(src), "package main"):])
	if !strings.Contains(string(readme), "```go\n"+code+"```\n") {
		t.Error("README.md does not show examples/minimal/main.go (from package main on) in a go block: copy it again")
	}
}
