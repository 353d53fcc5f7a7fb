package tidy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sentinelExempt are package-level errors made outside internal/fail that
// the test allows, each with why.
var sentinelExempt = map[string]string{}

// TestEverySentinelHasARow (issue 35): three tables classified the SDK's
// errors and disagreed. Every package-level error of the shipped packages
// (the public ones and internal/, not the test kit) is made in
// internal/fail, and every error internal/fail makes has a row in its
// Table: a sentinel made with errors.New or fmt.Errorf anywhere else, or
// made there without a row, fails.
func TestEverySentinelHasARow(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	fset := token.NewFileSet()
	checked := 0
	var made, rows []string // internal/fail's
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case "examples", "testdata", "cmd", "docs", "api", "scripts", filepath.Join("internal", "testkit"):
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		inFail := filepath.Dir(rel) == filepath.Join("internal", "fail")
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					v := vs.Values[i]
					if inFail {
						if call, ok := v.(*ast.CallExpr); ok {
							if fn, ok := call.Fun.(*ast.Ident); ok && (fn.Name == "family" || fn.Name == "child" || fn.Name == "sub") {
								made = append(made, id.Name)
							}
						}
						if id.Name == "Table" {
							rows = append(rows, tableRows(v)...)
						}
					}
					if call := errorCall(v); call != "" {
						where := filepath.ToSlash(rel) + ": " + id.Name
						if _, ok := sentinelExempt[where]; !ok {
							t.Errorf("%s is made with %s: make it in internal/fail with a row in its Table (reason code, status), and refer to it", where, call)
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 || len(made) < 50 {
		t.Fatalf("checked %d files, %d errors of internal/fail: the walk is broken", checked, len(made))
	}
	for _, name := range made {
		switch n := countOf(rows, name); {
		case n == 0:
			t.Errorf("fail.%s has no row in fail.Table", name)
		case n > 1:
			t.Errorf("fail.%s has %d rows in fail.Table", name, n)
		}
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// errorCall names the call to errors.New, errors.Join or fmt.Errorf in e,
// or returns "".
func errorCall(e ast.Expr) string {
	var found string
	ast.Inspect(e, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false // a function's body runs later, not at package level
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok {
				switch fn := pkg.Name + "." + sel.Sel.Name; fn {
				case "errors.New", "errors.Join", "fmt.Errorf":
					found = fn
				}
			}
		}
		return found == ""
	})
	return found
}

// tableRows are the first fields (the errors) of Table's rows.
func tableRows(e ast.Expr) []string {
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	var names []string
	for _, elt := range lit.Elts {
		row, ok := elt.(*ast.CompositeLit)
		if !ok || len(row.Elts) == 0 {
			continue
		}
		if id, ok := row.Elts[0].(*ast.Ident); ok {
			names = append(names, id.Name)
		}
	}
	return names
}
