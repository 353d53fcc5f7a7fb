package tidy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/confidant-go/confidant"

// group is where goimports -local puts an import: the standard library,
// then other modules, then this module.
func group(path string) int {
	switch {
	case strings.HasPrefix(path, module):
		return 2
	case strings.Contains(strings.Split(path, "/")[0], "."):
		return 1
	}
	return 0
}

// TestImportsGrouped: every file's imports are in the groups goimports
// -local github.com/confidant-go/confidant makes, in that order, one group
// each, sorted.
func TestImportsGrouped(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		rel, _ := filepath.Rel(root, path)
		// Split into blocks at blank lines.
		var blocks [][]string
		lastLine := -2
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			line := fset.Position(imp.Pos()).Line
			if imp.Doc != nil {
				line = fset.Position(imp.Doc.Pos()).Line
			}
			if line > lastLine+1 || len(blocks) == 0 {
				blocks = append(blocks, nil)
			}
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], p)
			lastLine = fset.Position(imp.End()).Line
		}
		prev := -1
		for _, b := range blocks {
			g := group(b[0])
			for _, p := range b {
				if group(p) != g {
					t.Errorf("%s: %q is grouped with %q", rel, p, b[0])
				}
			}
			if g <= prev {
				t.Errorf("%s: import groups out of order or split (standard library, other modules, then %s)", rel, module)
			}
			if !slices.IsSorted(b) {
				t.Errorf("%s: imports not sorted: %v", rel, b)
			}
			prev = g
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked %d files; the walk missed the module", checked)
	}
}

// TestExamplesImportNoInternal: the runnable Examples and the test kit's
// own tests show code a user can copy, so they import only exported
// packages (pkg.go.dev shows them as they are); and a user copies an
// example program's directory into a module of their own and builds it,
// so the programs' files (not their tests) import no internal package,
// of this module or of examples/: the provider or API a program talks to
// is one a user has too (confidanttest, cmd/devprovider).
func TestExamplesImportNoInternal(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	var files []string
	programs := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		inside := func(dir string) bool {
			return strings.HasPrefix(p, filepath.Join(root, dir)+string(filepath.Separator))
		}
		switch {
		case strings.HasSuffix(p, "example_test.go"), inside("confidanttest") && strings.HasSuffix(p, "_test.go"):
			files = append(files, p)
		case inside("examples") && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go"):
			files = append(files, p)
			programs++
		}
		return nil
	})
	if len(files)-programs < 5 || programs < 4 {
		t.Fatalf("found %d Example files and %d example program files, want the packages' Examples and the programs", len(files)-programs, programs)
	}
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.Contains(p+"/", "/internal/") {
				t.Errorf("%s imports %s: a user cannot copy that", strings.TrimPrefix(f, root+"/"), p)
			}
		}
	}
}

// TestSkipsGoThroughTheHelper: every skip in the module goes through
// testenv.Skip, which fails under CONFIDANT_REQUIRE_ALL=1, so that CI never
// counts a skipped test as passing (a test skipped on its own once hid a
// storm that outlasted its token).
func TestSkipsGoThroughTheHelper(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	helper := filepath.Join(root, "internal", "testkit", "testenv", "binaries.go")
	self := filepath.Join(root, "internal", "testkit", "tidy", "imports_test.go") // names the calls it looks for
	checked := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || p == helper || p == self {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			for _, call := range []string{".Skip(", ".Skipf(", ".SkipNow("} {
				if strings.Contains(line, call) && !strings.Contains(line, "testenv.Skip(") {
					t.Errorf("%s:%d: %s outside testenv.Skip", strings.TrimPrefix(p, root+"/"), i+1, strings.TrimSuffix(call, "("))
				}
			}
		}
		return nil
	})
	if checked < 50 {
		t.Fatalf("checked %d files; the walk missed the module", checked)
	}
}

// TestEveryFuzzTargetInCI: each fuzz target of the module is in the list
// scripts/test.sh fuzzes (with its package): a new one cannot be left out.
func TestEveryFuzzTargetInCI(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	script, err := os.ReadFile(filepath.Join(root, "scripts", "test.sh"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		pkg := "./" + filepath.ToSlash(strings.TrimPrefix(filepath.Dir(p), root+string(filepath.Separator)))
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Fuzz") {
				found++
				if !strings.Contains(string(script), `"`+fn.Name.Name+" "+pkg+" ") {
					t.Errorf("%s (%s) is not in scripts/test.sh's fuzz targets", fn.Name.Name, pkg)
				}
			}
		}
		return nil
	})
	if found < 6 {
		t.Fatalf("found %d fuzz targets; the walk missed them", found)
	}
}

// TestShippedCodeImportsNoTestKit: internal/testkit holds what only tests
// use; no file that is built into a program (no _test.go, outside the
// test kit) imports it, so internal/ tells what ships from what does not.
func TestShippedCodeImportsNoTestKit(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	kit := filepath.Join(root, "internal", "testkit") + string(filepath.Separator)
	checked := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.HasPrefix(p, kit) {
			return nil
		}
		af, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range af.Imports {
			if ip, _ := strconv.Unquote(imp.Path.Value); strings.Contains(ip, "/internal/testkit/") {
				t.Errorf("%s imports %s, which only tests may", strings.TrimPrefix(p, root+"/"), ip)
			}
		}
		return nil
	})
	if checked < 50 {
		t.Fatalf("checked %d files; the walk missed the module", checked)
	}
}

// TestOnlyMetricsLinksOpenTelemetry: an app built on the SDK's packages
// links no OpenTelemetry unless it imports package metrics, and that one
// links the OpenTelemetry API only, never its SDK (the app chooses it).
func TestOnlyMetricsLinksOpenTelemetry(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", "github.com/confidant-go/confidant/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, pkg := range []string{"middleware", "client", "session", "redisstore", "event"} {
		for _, d := range deps(pkg) {
			if strings.HasPrefix(d, "go.opentelemetry.io/") {
				t.Errorf("%s links %s", pkg, d)
			}
		}
	}
	api := false
	for _, d := range deps("metrics") {
		if strings.HasPrefix(d, "go.opentelemetry.io/otel/sdk") || strings.HasPrefix(d, "go.opentelemetry.io/otel/exporters") {
			t.Errorf("metrics links %s", d)
		}
		api = api || d == "go.opentelemetry.io/otel/metric"
	}
	if !api {
		t.Error("metrics does not link the OpenTelemetry metric API: the check looks at the wrong packages")
	}
}

// TestModulesTidy: the module and the modules of its own under testdata
// (which require it through a replace) are tidy, so that a dependency the
// main module gains does not first fail in CI's separate module runs.
func TestModulesTidy(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	for _, dir := range []string{".", "testdata/yourapp", "testdata/routers"} {
		cmd := exec.Command("go", "mod", "tidy", "-diff")
		cmd.Dir = filepath.Join(root, dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s is not tidy (run go mod tidy there): %v\n%s", dir, err, out)
		}
	}
}
