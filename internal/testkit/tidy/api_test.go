package tidy

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// apiBudget is how many exported names the public packages may have, one
// line of api/confidant.txt each: 400 since issue 35 (521 before it), 410
// since issue 37 (connected APIs and background access, 5 names), 430
// since issue 39 (Shared Signals, 14 names, and the sessions a user can
// see). Raising it is a deliberate edit with a CHANGELOG line saying why.
const apiBudget = 430

// apiPackages are the packages a user imports (the module root first).
var apiPackages = []string{"", "client", "providers", "middleware", "session", "redisstore", "event", "metrics", "confidanttest"}

var update = flag.Bool("update", false, "rewrite the generated files (api/confidant.txt, docs/configuration.md) from the code")

// TestAPIFile: api/confidant.txt is the exported API, one line per name
// (type, function, constant, variable, method, field) with its signature,
// as Go keeps api/go1.*.txt. A change to the API shows in a commit's diff
// of that file; the test fails when the code and the file differ, and when
// the file has more lines than apiBudget. After a deliberate change:
// go test ./internal/testkit/tidy -run TestAPIFile -update.
func TestAPIFile(t *testing.T) {
	var lines []string
	count := map[string]int{}
	for _, p := range apiPackages {
		got := apiOf(t, p)
		count[p] = len(got)
		lines = append(lines, got...)
	}
	want := strings.Join(lines, "\n") + "\n"
	path := "../../../api/confidant.txt"
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: write it with go test ./internal/testkit/tidy -run TestAPIFile -update", err)
	}
	if string(have) != want {
		old := strings.Split(strings.TrimSuffix(string(have), "\n"), "\n")
		for _, l := range lines {
			if !slices.Contains(old, l) {
				t.Errorf("in the code, not in api/confidant.txt: %s", l)
			}
		}
		for _, l := range old {
			if !slices.Contains(lines, l) {
				t.Errorf("in api/confidant.txt, not in the code: %s", l)
			}
		}
		t.Errorf("api/confidant.txt differs from the code: after a deliberate change, go test ./internal/testkit/tidy -run TestAPIFile -update")
	}
	t.Logf("exported names: %d (%v)", len(lines), count)
	if len(lines) > apiBudget {
		t.Errorf("%d exported names, over the budget of %d: remove names, or raise apiBudget with a CHANGELOG line saying why", len(lines), apiBudget)
	}
}

// apiOf lists the exported names of the package in dir (relative to the
// module root), one line each: "pkg PATH, KIND NAME SIGNATURE".
func apiOf(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	root := filepath.Join("../../..", dir)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if n := e.Name(); e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(root, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	path := "github.com/confidant-go/confidant"
	if dir != "" {
		path += "/" + dir
	}
	src := func(n ast.Node) string {
		var b bytes.Buffer
		printer.Fprint(&b, fset, n)
		return strings.Join(strings.Fields(b.String()), " ")
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, "pkg "+path+", "+fmt.Sprintf(format, args...)) }
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				sig := strings.TrimPrefix(src(d.Type), "func")
				if d.Recv == nil {
					add("func %s%s", d.Name.Name, sig)
					continue
				}
				recv := src(d.Recv.List[0].Type)
				if !ast.IsExported(strings.TrimLeft(strings.SplitN(recv, "[", 2)[0], "*")) {
					continue
				}
				add("method (%s) %s%s", recv, d.Name.Name, sig)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						switch ty := s.Type.(type) {
						case *ast.StructType:
							add("type %s struct", s.Name.Name)
							for _, fl := range ty.Fields.List {
								if len(fl.Names) == 0 { // embedded
									name := strings.TrimLeft(src(fl.Type), "*")
									if i := strings.LastIndex(name, "."); i >= 0 {
										name = name[i+1:]
									}
									if ast.IsExported(name) {
										add("type %s struct, embedded %s", s.Name.Name, src(fl.Type))
									}
									continue
								}
								for _, n := range fl.Names {
									if n.IsExported() {
										add("type %s struct, %s %s", s.Name.Name, n.Name, src(fl.Type))
									}
								}
							}
						case *ast.InterfaceType:
							add("type %s interface", s.Name.Name)
							for _, m := range ty.Methods.List {
								if len(m.Names) == 0 {
									// An embedded interface (or type set): its
									// methods are this one's, exported or not.
									add("type %s interface, embedded %s", s.Name.Name, src(m.Type))
									continue
								}
								for _, n := range m.Names {
									if n.IsExported() {
										add("type %s interface, %s%s", s.Name.Name, n.Name, strings.TrimPrefix(src(m.Type), "func"))
									}
								}
							}
						default:
							eq := " "
							if s.Assign.IsValid() {
								eq = " = "
							}
							add("type %s%s%s", s.Name.Name, eq, src(s.Type))
						}
					case *ast.ValueSpec:
						kind := "var"
						if d.Tok == token.CONST {
							kind = "const"
						}
						for _, n := range s.Names {
							if n.IsExported() {
								add("%s %s", kind, n.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
