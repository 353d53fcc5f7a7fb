package tidy

import (
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/confidant-go/confidant/internal/testkit/configdoc"
)

// configStructs are the structs a user fills to configure the SDK, in the
// order docs/configuration.md shows them, each with what takes it.
var configStructs = []struct {
	dir, name, takenBy string
}{
	{"middleware", "Config", "`middleware.New` and `middleware.Setup`"},
	{"middleware", "API", "`middleware.Config.APIs`"},
	{"middleware", "SharedSignals", "`middleware.Config.SharedSignals`"},
	{"client", "Config", "`client.New`"},
	{"client", "PrivateKey", "`client.Config.PrivateKey`"},
	{"client", "SecretJWT", "`client.Config.SecretJWT`"},
	{"session", "CookieConfig", "`session.NewCookieStore`"},
	{"session", "Timeouts", "`session.CookieConfig.Timeouts` and `redisstore.Config.Timeouts`"},
	{"redisstore", "Config", "`redisstore.New`"},
}

const configPath = "../../../docs/configuration.md"

// TestConfigurationReference: docs/configuration.md is generated from the
// doc comments of the configuration structs' exported fields (configStructs),
// each ending with its default in the form package configdoc describes
// (Default: VALUE. or Required.); each package's TestConfigDefaults checks
// that default against its constructor. The test fails when a field has no
// comment or no default, when the file differs from the comments, and when
// a configuration struct of the module is left out of configStructs. After
// a change to a comment: go test ./internal/testkit/tidy -run
// TestConfigurationReference -update, and commit the file with it.
func TestConfigurationReference(t *testing.T) {
	var structs []configdoc.Struct
	for _, c := range configStructs {
		s, err := configdoc.Parse(filepath.Join("../../..", c.dir), c.name)
		if err != nil {
			t.Fatalf("%v\n(every exported field of a configuration struct ends its comment with its default; see package configdoc)", err)
		}
		structs = append(structs, s...)
	}
	checkConfigStructsListed(t, structs)
	want := renderConfiguration(structs)
	if *update {
		if err := os.WriteFile(configPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatalf("%v: write it with go test ./internal/testkit/tidy -run TestConfigurationReference -update", err)
	}
	if string(have) != want {
		old := strings.Split(string(have), "\n")
		for i, l := range strings.Split(want, "\n") {
			if i >= len(old) || old[i] != l {
				t.Errorf("docs/configuration.md:%d differs from the comments; generated: %q", i+1, l)
				break
			}
		}
		t.Errorf("docs/configuration.md differs from the code's comments: go test ./internal/testkit/tidy -run TestConfigurationReference -update")
	}
}

// checkConfigStructsListed fails for a struct of the module that a
// configuration field takes (an API, a Timeouts) or that is named Config,
// and that configStructs leaves out.
func checkConfigStructsListed(t *testing.T, structs []configdoc.Struct) {
	t.Helper()
	listed := map[string]bool{}
	for _, s := range structs {
		listed[s.Pkg+"."+s.Name] = true
	}
	withFields := map[string]bool{} // pkg.Type of every struct with exported fields
	for _, dir := range apiPackages {
		for name := range structsWithFields(t, dir) {
			withFields[name] = true
			if strings.HasSuffix(name, ".Config") && !listed[name] {
				t.Errorf("%s is not in configStructs, so docs/configuration.md leaves it out", name)
			}
		}
	}
	for _, s := range structs {
		for _, f := range s.Fields {
			for i, typ := range f.Types {
				name := strings.TrimLeft(typ, "[]*")
				if !strings.Contains(name, ".") {
					name = s.Pkg + "." + name
				}
				if withFields[name] && !listed[name] {
					t.Errorf("%s.%s.%s is a %s, which is not in configStructs: docs/configuration.md leaves its fields out", s.Pkg, s.Name, f.Names[i], name)
				}
			}
		}
	}
}

// structsWithFields are the exported struct types of the package in dir
// (relative to the module root) with exported fields, as "pkg.Type".
func structsWithFields(t *testing.T, dir string) map[string]bool {
	t.Helper()
	root := filepath.Join("../../..", dir)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			if st, ok := ts.Type.(*ast.StructType); ok && slices.ContainsFunc(st.Fields.List, func(f *ast.Field) bool {
				return slices.ContainsFunc(f.Names, (*ast.Ident).IsExported)
			}) {
				out[f.Name.Name+"."+ts.Name.Name] = true
			}
			return true
		})
	}
	return out
}

// renderConfiguration is docs/configuration.md.
func renderConfiguration(structs []configdoc.Struct) string {
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from the code's doc comments by TestConfigurationReference
(internal/testkit/tidy/config_test.go); do not edit. After changing a
comment: go test ./internal/testkit/tidy -run TestConfigurationReference -update -->

This file is generated from the doc comments of the exported fields of the
structs that configure the SDK; edit those comments, never this file, and
regenerate it with

    go test ./internal/testkit/tidy -run TestConfigurationReference -update

The test fails when the file differs from the comments, or when a field has no
comment. Every field's comment ends with its default, and each package's
` + "`TestConfigDefaults`" + ` builds the object from a configuration with only the
required fields set and checks every stated default against the value in
effect. A default in code font is compared as written; ` + "`none`" + ` and
` + "`off`" + ` mean the zero value (nil, empty, 0, false); a default in words is
one the constructor computes.

`)
	for i, s := range structs {
		fmt.Fprintf(&b, "- [`%s.%s`](#%s), for %s\n", s.Pkg, s.Name, anchor(s.Pkg+"."+s.Name), configStructs[i].takenBy)
	}
	for i, s := range structs {
		fmt.Fprintf(&b, "\n## %s.%s\n\n", s.Pkg, s.Name)
		fmt.Fprintf(&b, "For %s; declared in [%s/%s](../%s/%s).\n\n", configStructs[i].takenBy, configStructs[i].dir, s.File, configStructs[i].dir, s.File)
		b.WriteString(markdown(s.Doc, 3))
		b.WriteString("\n| field | type | default |\n|---|---|---|\n")
		for _, f := range s.Fields {
			for i, n := range f.Names {
				fmt.Fprintf(&b, "| [`%s`](#%s) | `%s` | %s |\n", n, anchor(heading(s, f)), f.Types[i], cell(f.Default))
			}
		}
		for _, f := range s.Fields {
			fmt.Fprintf(&b, "\n### %s\n\n", heading(s, f))
			fmt.Fprintf(&b, "%s %s\n\n", types(f), statement(f.Default))
			b.WriteString(markdown(f.Doc, 4))
		}
	}
	return b.String()
}

// types is "Type `T`." for a field, or for several of one type; else
// "Types: `A T`, `B U`."
func types(f configdoc.Field) string {
	if len(slices.Compact(slices.Clone(f.Types))) == 1 {
		return "Type `" + f.Types[0] + "`."
	}
	var out []string
	for i, n := range f.Names {
		out = append(out, "`"+n+" "+f.Types[i]+"`")
	}
	return "Types: " + strings.Join(out, ", ") + "."
}

// heading names a field (or the fields of one declaration) in full.
func heading(s configdoc.Struct, f configdoc.Field) string {
	return s.Pkg + "." + s.Name + "." + strings.Join(f.Names, ", ")
}

// anchor is GitHub's id of a heading: lower case, punctuation other than
// - and _ dropped, spaces made dashes.
func anchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cell is a default in the table: the value (in code font when it is
// compared as written), its note and its remark.
func cell(d configdoc.Default) string {
	var v string
	switch d.Kind {
	case configdoc.Required:
		v = "**required**"
	case configdoc.Literal, configdoc.Ident:
		v = "`" + d.Value + "`"
	default:
		v = escape(d.Value)
	}
	if d.Note != "" {
		v += " (" + escape(d.Note) + ")"
	}
	if d.Remark != "" {
		v += "; " + escape(d.Remark)
	}
	return strings.ReplaceAll(v, "|", `\|`)
}

// statement is a default as a sentence.
func statement(d configdoc.Default) string {
	if d.Kind == configdoc.Required {
		if d.Remark != "" {
			return "Required; " + escape(d.Remark) + "."
		}
		return "Required."
	}
	return "Default: " + cell(d) + "."
}

// escape keeps markdown from reading free text as markup (a table cell's
// | is cell's to escape).
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", "[", `\[`)
	return r.Replace(s)
}

// markdown renders a doc comment's text, its headings at level.
func markdown(text string, level int) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	var p comment.Parser
	pr := comment.Printer{HeadingLevel: level}
	return string(pr.Markdown(p.Parse(text)))
}
