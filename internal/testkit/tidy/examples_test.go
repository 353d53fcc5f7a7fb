package tidy

import (
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
		for _, name := range files {
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			parsed = append(parsed, f)
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil && !isTestFunc(d.Name.Name) {
						declared[d.Name.Name] = true
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.ValueSpec:
							for _, n := range s.Names {
								declared[n.Name] = true
							}
						case *ast.TypeSpec:
							declared[s.Name.Name] = true
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
				for _, name := range usedTestNames(fd, declared) {
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
// declare itself. Field names (x.Name, T{Name: …}) are not references.
func usedTestNames(fd *ast.FuncDecl, declared map[string]bool) []string {
	local := map[string]bool{}
	ast.Inspect(fd, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						local[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				local[id.Name] = true
			}
		case *ast.TypeSpec:
			local[n.Name.Name] = true
		case *ast.Field:
			for _, id := range n.Names {
				local[id.Name] = true
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok && n.Tok == token.DEFINE {
					local[id.Name] = true
				}
			}
		}
		return true
	})
	seen := map[string]bool{}
	var used []string
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(n.X, visit)
			return false
		case *ast.KeyValueExpr:
			if _, ok := n.Key.(*ast.Ident); !ok {
				ast.Inspect(n.Key, visit)
			}
			ast.Inspect(n.Value, visit)
			return false
		case *ast.Ident:
			if declared[n.Name] && !local[n.Name] && !seen[n.Name] {
				seen[n.Name] = true
				used = append(used, n.Name)
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
`
	f, err := parser.ParseFile(token.NewFileSet(), "x_test.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{"helper": true, "ada": true}
	got := map[string][]string{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fd.Name.Name, "Example") {
			got[fd.Name.Name] = usedTestNames(fd, declared)
		}
	}
	if u := got["ExampleUses"]; len(u) != 2 {
		t.Errorf("ExampleUses: found %v, want helper and ada", u)
	}
	if s := got["ExampleShadows"]; len(s) != 0 {
		t.Errorf("ExampleShadows: found %v, want nothing", s)
	}
}
