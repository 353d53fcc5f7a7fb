package tidy

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSnippetsCompile: every ```go block of README.md and docs/ compiles
// against the code of this commit, and passes go vet. A block is one of
//
//   - a whole file (it starts with a package clause): built as it is;
//   - declarations (funcs, types, vars): put in a file of their own;
//   - statements: put in a function's body.
//
// The last two get the imports of the packages they name (the module's,
// the standard library's, go-redis, x/oauth2; chi, gin and echo, whose
// blocks build in testdata/routers, the module that requires them), and
// these variables, which a page may use without declaring them, as a
// handler or main would have them: ctx, mux, auth, w, r, c (a
// *client.Client), store, keys, rdb, u (the signed-in user), t, app
// (an *httptest.Server), rec, and handlers of the app (account, admin,
// ops, orders, transfer: http.HandlerFuncs). A variable a block declares may go
// unused. So a renamed function, a removed field or a wrong argument in
// the docs fails here, with the page and line of the block.
func TestSnippetsCompile(t *testing.T) {
	root := "../../.."
	pages := []string{filepath.Join(root, "README.md")}
	filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return err
	})
	var blocks []snippet
	for _, p := range pages {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		bs, errs := goBlocks(rel, string(src))
		for _, err := range errs {
			t.Error(err)
		}
		blocks = append(blocks, bs...)
	}
	if len(blocks) < 10 {
		t.Fatalf("found %d go blocks in README.md and docs/: the search is broken", len(blocks))
	}
	// One directory per block, under the module that can build it.
	mods := map[string]string{"": root, "routers": filepath.Join(root, "testdata/routers")}
	dirs := map[string]string{}
	for m, modRoot := range mods {
		d, err := os.MkdirTemp(filepath.Join(modRoot), ".snippets-")
		if err != nil {
			t.Fatal(err)
		}
		// A dot-directory: no ./... pattern of another test run sees it.
		t.Cleanup(func() { os.RemoveAll(d) })
		dirs[m] = d
	}
	// A whole file gets a directory (a package) of its own; the other
	// blocks of a page share one, a file each, so that a block may use
	// what an earlier one on the page declared (the gin adapter).
	origin := map[string]snippet{} // directory/file → its block
	pkgs := map[string][]string{}  // module → its packages' directories
	pageDir := map[[2]string]string{}
	for i, b := range blocks {
		file, mod, whole, err := b.file()
		if err != nil {
			t.Errorf("%s:%d: %v", b.page, b.line, err)
			continue
		}
		dir := filepath.Join(dirs[mod], fmt.Sprintf("w%03d", i))
		if !whole {
			dir = pageDir[[2]string{b.page, mod}]
		}
		if dir == "" {
			dir = filepath.Join(dirs[mod], fmt.Sprintf("p%03d", i))
			pageDir[[2]string{b.page, mod}] = dir
		}
		if _, err := os.Stat(dir); err != nil {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if !whole {
				if err := os.WriteFile(filepath.Join(dir, "givens.go"), givensFile(mod), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			pkgs[mod] = append(pkgs[mod], "./"+filepath.Join(filepath.Base(dirs[mod]), filepath.Base(dir)))
		}
		name := fmt.Sprintf("s%03d.go", i)
		if err := os.WriteFile(filepath.Join(dir, name), file, 0o644); err != nil {
			t.Fatal(err)
		}
		origin[filepath.Base(dir)+"/"+name] = b
	}
	for m, d := range dirs {
		if len(pkgs[m]) == 0 {
			continue
		}
		// go vet type-checks every block and runs the analyzers a build
		// would not (printf verbs, copied locks). A dot-directory is
		// named one by one: no pattern matches it.
		cmd := exec.Command("go", append([]string{"vet"}, pkgs[m]...)...)
		cmd.Dir = filepath.Dir(d)
		out, err := cmd.CombinedOutput()
		if err == nil {
			continue
		}
		reported := false
		var unmapped []string
		for _, line := range strings.Split(string(out), "\n") {
			m := regexp.MustCompile(`([pw]\d{3})[/\\](s\d{3}\.go):(\d+)(:\d+)?: (.*)`).FindStringSubmatch(line)
			if m == nil {
				if line != "" && !strings.HasPrefix(line, "#") {
					unmapped = append(unmapped, line)
				}
				continue
			}
			b := origin[m[1]+"/"+m[2]]
			var n int
			fmt.Sscan(m[3], &n)
			t.Errorf("%s:%d (a go block; line %d of the file it builds as): %s\n%s", b.page, b.line, n, m[5], b.numbered())
			reported = true
		}
		if !reported || len(unmapped) > 0 {
			// Said whole, whatever else was mapped to a block: a build
			// constraint, a package that would not load.
			t.Errorf("go vet in %s: %v\n%s", d, err, out)
		}
	}
}

// A snippet is one ```go block of a page.
type snippet struct {
	page string
	line int // of its first line of code
	code string
}

// A fenced is a fenced code block of a Markdown page, found as CommonMark
// finds one: a line of three or more backticks or tildes, indented or not
// (in a list), with an info string whose first word is the language (a
// backtick fence's info string has no backtick: "```Foo``` is gone" is
// inline code); it ends at a line of the same character, at least as
// long, or at the end of the page.
type fenced struct {
	lang string // the info string's first word, lower-cased
	line int    // of the first line of code
	code string
}

var fenceOpen = regexp.MustCompile("^([ \t]*)(`{3,}|~{3,})(.*)$")

func fences(src string) []fenced {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var out []fenced
	for i := 0; i < len(lines); i++ {
		m := fenceOpen.FindStringSubmatch(lines[i])
		if m == nil || (m[2][0] == '`' && strings.Contains(m[3], "`")) {
			continue
		}
		indent, marker := len(m[1]), m[2]
		f := fenced{line: i + 2}
		if info := strings.Fields(m[3]); len(info) > 0 {
			f.lang = strings.ToLower(info[0])
		}
		var code strings.Builder
		for i++; i < len(lines); i++ {
			l := lines[i]
			t := strings.TrimLeft(l, " \t")
			if strings.HasPrefix(t, marker) && strings.Trim(t, marker[:1]+" \t") == "" {
				break
			}
			// The fence's indentation is not the code's.
			for n := 0; n < indent && len(l) > 0 && (l[0] == ' ' || l[0] == '\t'); n++ {
				l = l[1:]
			}
			code.WriteString(l + "\n")
		}
		f.code = code.String()
		out = append(out, f)
	}
	return out
}

// goBlocks returns the Go blocks of a page (go or golang, in any case),
// and an error for a block that names no language: a reader cannot tell
// what it is, nor can this test.
func goBlocks(page, src string) ([]snippet, []error) {
	var out []snippet
	var errs []error
	for _, f := range fences(src) {
		switch f.lang {
		case "go", "golang":
			out = append(out, snippet{page: page, line: f.line, code: f.code})
		case "":
			errs = append(errs, fmt.Errorf("%s:%d: a code block names no language (```go, ```sh, ```text …)", page, f.line-1))
		}
	}
	return out, errs
}

func (b snippet) numbered() string {
	var s strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(b.code, "\n"), "\n") {
		fmt.Fprintf(&s, "\t%4d  %s\n", b.line+i, l)
	}
	return s.String()
}

// importPaths are the packages a block may name without importing them.
var importPaths = map[string]string{
	"confidant":     "github.com/confidant-go/confidant",
	"client":        "github.com/confidant-go/confidant/client",
	"providers":     "github.com/confidant-go/confidant/providers",
	"middleware":    "github.com/confidant-go/confidant/middleware",
	"session":       "github.com/confidant-go/confidant/session",
	"redisstore":    "github.com/confidant-go/confidant/redisstore",
	"event":         "github.com/confidant-go/confidant/event",
	"metrics":       "github.com/confidant-go/confidant/metrics",
	"confidanttest": "github.com/confidant-go/confidant/confidanttest",
	"redis":         "github.com/redis/go-redis/v9",
	"oauth2":        "golang.org/x/oauth2",
	"chi":           "github.com/go-chi/chi/v5",
	"gin":           "github.com/gin-gonic/gin",
	"echo":          "github.com/labstack/echo/v4",
	"context":       "context",
	"crypto":        "crypto",
	"ecdsa":         "crypto/ecdsa",
	"elliptic":      "crypto/elliptic",
	"rand":          "crypto/rand",
	"tls":           "crypto/tls",
	"x509":          "crypto/x509",
	"json":          "encoding/json",
	"pem":           "encoding/pem",
	"errors":        "errors",
	"fmt":           "fmt",
	"html":          "html",
	"io":            "io",
	"log":           "log",
	"slog":          "log/slog",
	"http":          "net/http",
	"httptest":      "net/http/httptest",
	"httputil":      "net/http/httputil",
	"url":           "net/url",
	"os":            "os",
	"signal":        "os/signal",
	"strings":       "strings",
	"testing":       "testing",
	"time":          "time",
}

// routerPackages build only in testdata/routers.
var routerPackages = []string{"chi", "gin", "echo"}

// givens are what a block may use without declaring it: name, type, and
// the package the type needs.
var givens = [][3]string{
	{"ctx", "context.Context", "context"},
	{"mux", "*http.ServeMux", "http"},
	{"auth", "*middleware.Auth", "middleware"},
	{"w", "http.ResponseWriter", "http"},
	{"r", "*http.Request", "http"},
	{"c", "*client.Client", "client"},
	{"store", "session.Store", "session"},
	{"keys", "[][]byte", ""},
	{"rdb", "redis.UniversalClient", "redis"},
	{"u", "*confidant.User", "confidant"},
	{"t", "*testing.T", "testing"},
	{"app", "*httptest.Server", "httptest"},
	{"rec", "*httptest.ResponseRecorder", "httptest"},
	// Handlers of the app.
	{"account", "http.HandlerFunc", "http"},
	{"admin", "http.HandlerFunc", "http"},
	{"ops", "http.HandlerFunc", "http"},
	{"orders", "http.HandlerFunc", "http"},
	{"transfer", "http.HandlerFunc", "http"},
}

// buildable refuses what go vet type-checks without complaint but go build
// refuses: a function without a body, a package main without main.
func buildable(fset *token.FileSet, src string) error {
	f, err := parser.ParseFile(fset, "", src, 0)
	if err != nil {
		return err
	}
	hasMain := false
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok {
			if fn.Body == nil {
				return fmt.Errorf("func %s has no body: go build refuses it", fn.Name.Name)
			}
			hasMain = hasMain || (fn.Recv == nil && fn.Name.Name == "main")
		}
	}
	if f.Name.Name == "main" && !hasMain {
		return fmt.Errorf("package main without func main: go build refuses it")
	}
	return nil
}

// givensFile declares the givens for the blocks of a page.
func givensFile(mod string) []byte {
	var vars strings.Builder
	imports := map[string]bool{}
	for _, g := range givens {
		if mod == "routers" && g[2] == "redis" {
			continue // testdata/routers does not require go-redis
		}
		fmt.Fprintf(&vars, "\t%s %s\n", g[0], g[1])
		if g[2] != "" {
			imports[g[2]] = true
		}
	}
	var src strings.Builder
	src.WriteString("package snippet\n\nimport (\n")
	for _, n := range slices.Sorted(maps.Keys(imports)) {
		fmt.Fprintf(&src, "\t%s %q\n", n, importPaths[n])
	}
	src.WriteString(")\n\nvar (\n" + vars.String() + ")\n")
	out, err := format.Source([]byte(src.String()))
	if err != nil {
		panic(err)
	}
	return out
}

// file returns the Go file a block builds as, and the module it builds in
// ("" for this one, "routers" for testdata/routers).
func (b snippet) file() (src []byte, mod string, whole bool, err error) {
	fset := token.NewFileSet()
	if f, err := parser.ParseFile(fset, "", b.code, parser.ImportsOnly); err == nil {
		// A whole file.
		for _, im := range f.Imports {
			for _, p := range routerPackages {
				if strings.Trim(im.Path.Value, `"`) == importPaths[p] {
					mod = "routers"
				}
			}
		}
		if err := buildable(fset, b.code); err != nil {
			return nil, "", false, err
		}
		return []byte(b.code), mod, true, nil
	}
	var body string
	if f, err := parser.ParseFile(fset, "", "package snippet\n"+b.code, 0); err == nil && len(f.Decls) > 0 {
		body = b.code // declarations
		if err := buildable(fset, "package snippet\n"+b.code); err != nil {
			return nil, "", false, err
		}
	} else {
		stmts := "package snippet\nfunc _() {\n" + b.code + "\n}\n"
		f, err := parser.ParseFile(fset, "", stmts, 0)
		if err != nil {
			return nil, "", false, fmt.Errorf("neither a file, declarations nor statements: %v\n%s", err, b.numbered())
		}
		// A block may declare what it does not use: its reader goes on
		// with it. Declared in the block's outermost scope, the uses see
		// them; one declared inside an if or a closure is the block's own
		// to use.
		var blank []string
		for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
			switch st := st.(type) {
			case *ast.AssignStmt:
				if st.Tok == token.DEFINE {
					for _, l := range st.Lhs {
						if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
							blank = append(blank, id.Name)
						}
					}
				}
			case *ast.DeclStmt:
				for _, spec := range st.Decl.(*ast.GenDecl).Specs {
					if vs, ok := spec.(*ast.ValueSpec); ok {
						for _, id := range vs.Names {
							if id.Name != "_" {
								blank = append(blank, id.Name)
							}
						}
					}
				}
			}
		}
		slices.Sort(blank)
		var uses strings.Builder
		for _, name := range slices.Compact(blank) {
			fmt.Fprintf(&uses, "_ = %s\n", name)
		}
		body = "func _() {\n" + b.code + "\n" + uses.String() + "}\n"
	}
	// The packages it names: the identifiers before a dot that it does not
	// declare itself.
	f, err := parser.ParseFile(fset, "", "package snippet\n"+body, 0)
	if err != nil {
		return nil, "", false, err
	}
	declared := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						declared[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				declared[id.Name] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				declared[id.Name] = true
			}
		case *ast.FuncDecl:
			declared[n.Name.Name] = true
		case *ast.TypeSpec:
			declared[n.Name.Name] = true
		}
		return true
	})
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && importPaths[id.Name] != "" && !declared[id.Name] {
				names[id.Name] = true
				if slices.Contains(routerPackages, id.Name) {
					mod = "routers"
				}
			}
		}
		return true
	})
	var out bytes.Buffer
	out.WriteString("package snippet\n\nimport (\n")
	for _, n := range slices.Sorted(maps.Keys(names)) {
		fmt.Fprintf(&out, "\t%s %q\n", n, importPaths[n])
	}
	out.WriteString(")\n\n" + body)
	src, err = format.Source(out.Bytes())
	if err != nil {
		return nil, "", false, fmt.Errorf("%v\n%s", err, out.Bytes())
	}
	return src, mod, false, nil
}
