package tidy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// publicPackages are the module's packages on pkg.go.dev, by directory.
var publicPackages = []string{".", "client", "providers", "middleware", "session", "redisstore", "event", "metrics", "confidanttest"}

// TestExamplesStandAlone: a user copies an Example as pkg.go.dev shows it,
// so an Example of a public package is in the external test package and
// uses nothing the package's test files declare (a new user found the
// Examples calling the test files' newAuth, signedIn and startApp, which
// pkg.go.dev does not show); and every public package tells its story
// with exactly one package Example, func Example().
func TestExamplesStandAlone(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range publicPackages {
		files, err := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		var parsed []*ast.File
		declared := map[string]bool{} // the test files' top-level names, but for tests and Examples
		internal := map[string]bool{} // what the package's own test files add to it
		for _, name := range files {
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			parsed = append(parsed, f)
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil && !isTestFunc(d.Name.Name) {
						declared[d.Name.Name] = true
						if !strings.HasSuffix(f.Name.Name, "_test") && d.Name.IsExported() {
							internal[d.Name.Name] = true
						}
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.ValueSpec:
							for _, n := range s.Names {
								declared[n.Name] = true
								if !strings.HasSuffix(f.Name.Name, "_test") && n.IsExported() {
									internal[n.Name] = true
								}
							}
						case *ast.TypeSpec:
							declared[s.Name.Name] = true
							if !strings.HasSuffix(f.Name.Name, "_test") && s.Name.IsExported() {
								internal[s.Name.Name] = true
							}
						}
					}
				}
			}
		}
		pkgExamples := 0
		for _, f := range parsed {
			rel, _ := filepath.Rel(root, fset.Position(f.Package).Filename)
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv != nil || !strings.HasPrefix(fd.Name.Name, "Example") {
					continue
				}
				if fd.Name.Name == "Example" {
					pkgExamples++
				}
				if !strings.HasSuffix(f.Name.Name, "_test") {
					t.Errorf("%s: %s is in package %s, not the external test package: pkg.go.dev shows unexported names a user cannot call", rel, fd.Name.Name, f.Name.Name)
				}
				pkg := filepath.Base(dir)
				if dir == "." {
					pkg = "confidant"
				}
				for _, name := range usedTestNames(fd, declared, pkg, internal) {
					t.Errorf("%s: %s uses %s, which the test files declare: pkg.go.dev does not show it", rel, fd.Name.Name, name)
				}
			}
		}
		if pkgExamples != 1 {
			t.Errorf("package %s has %d package Examples (func Example()), want one that tells its story", dir, pkgExamples)
		}
	}
}

// isTestFunc reports whether name is one the go tool runs.
func isTestFunc(name string) bool {
	for _, p := range []string{"Test", "Benchmark", "Fuzz", "Example"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// usedTestNames are the names of declared that fd refers to and does not
// declare itself, and the names pkg.X where X is one of internal (what
// the package's own test files, export_test.go, add to it). fd's file must
// be parsed with object resolution: a use is fd's own only when it
// resolves to a declaration inside fd, scope by scope (a helper used
// before an inner block declares its name is still the helper). Field
// names (x.Name, T{Name: …}) are not references.
func usedTestNames(fd *ast.FuncDecl, declared map[string]bool, pkg string, internal map[string]bool) []string {
	seen := map[string]bool{}
	var used []string
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			used = append(used, name)
		}
	}
	// The parser's resolution (ast.Object) is what this needs without
	// type-checking the package with its test files: scopes, not types
	// (the field keys it cannot tell apart are skipped below).
	//lint:ignore SA1019 deliberate: scope resolution without type information
	inside := func(o *ast.Object) bool { return o != nil && fd.Pos() <= o.Pos() && o.Pos() < fd.End() }
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Name == pkg && !inside(id.Obj) && internal[n.Sel.Name] {
				add(pkg + "." + n.Sel.Name)
			}
			ast.Inspect(n.X, visit)
			return false
		case *ast.KeyValueExpr:
			if _, ok := n.Key.(*ast.Ident); !ok {
				ast.Inspect(n.Key, visit)
			}
			ast.Inspect(n.Value, visit)
			return false
		case *ast.Ident:
			if declared[n.Name] && !inside(n.Obj) {
				add(n.Name)
			}
		}
		return true
	}
	ast.Inspect(fd.Body, visit)
	return used
}

// The check finds what it is for: an Example calling a helper of its test
// files, and one that shadows a helper's name with its own variable.
func TestExamplesStandAloneFindsHelpers(t *testing.T) {
	src := `package x_test
func helper() int { return 1 }
var ada = 1
func ExampleUses() { _ = helper() + ada }
func ExampleShadows() { ada := 2; _ = ada; _ = struct{ helper int }{helper: 1} }
func ExampleShadowsLater() { _ = helper(); { helper := 0; _ = helper } }
func ExampleInternal() { var _ x.Pinger; _ = x.New() }
`
	f, err := parser.ParseFile(token.NewFileSet(), "x_test.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{"helper": true, "ada": true}
	internal := map[string]bool{"Pinger": true} // as export_test.go adds to package x
	got := map[string][]string{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fd.Name.Name, "Example") {
			got[fd.Name.Name] = usedTestNames(fd, declared, "x", internal)
		}
	}
	for name, want := range map[string]string{
		"ExampleUses": "[helper ada]", "ExampleShadows": "[]",
		// What the outside review of issue 36 got past the first version:
		// a helper whose name an inner block declares later, and a name
		// the package's own test file exports.
		"ExampleShadowsLater": "[helper]", "ExampleInternal": "[x.Pinger]",
	} {
		if g := fmt.Sprint(got[name]); g != want {
			t.Errorf("%s: found %s, want %s", name, g, want)
		}
	}
}
