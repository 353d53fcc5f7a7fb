// Package configdoc reads what the configuration structs' doc comments say
// of each field: docs/configuration.md is generated from it (tidy's
// TestConfigurationReference), and each package's TestConfigDefaults checks
// the default every field states against the one its constructor fills in.
//
// Every exported field's comment ends with its statement, which starts a
// line and runs to the comment's end:
//
//	Required.
//	Required; REMARK.
//	Default: VALUE.
//	Default: VALUE; REMARK.
//
// VALUE is one of
//
//	none          the zero value: nil, "", 0, false, or an empty slice or map
//	off           the same, said of a feature (false for a bool)
//	on            true
//	10m, 2s       a Go duration literal (time.ParseDuration)
//	8, -1         an integer
//	"/auth/"      a Go quoted string
//	time.Now      a Go identifier, qualified or not, whose value the test names
//	FREE TEXT     anything else: what the constructor computes; not zero
//
// and each of the first seven may be followed by a note in parentheses:
// Default: 168h (7 days). The test compares a literal, a keyword or an
// identifier with the effective value; of free text it checks only that
// the effective value is not zero.
package configdoc

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	gotypes "go/types"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Struct is a configuration struct as its source describes it.
type Struct struct {
	Pkg    string // package name: "middleware"
	Name   string // type name: "Config"
	File   string // the file that declares it, relative to the package directory
	Doc    string // the type's doc comment
	Fields []Field
}

// Field is one field, or several under one comment: declared together
// (A, B string) or on the lines right below the commented one, with no
// blank line or comment between them.
type Field struct {
	Names   []string
	Types   []string // each name's, as written in the source
	Doc     string   // the comment, without its statement
	Default Default
}

// Kind is what a statement says of the default.
type Kind int

const (
	Required Kind = iota + 1
	None
	Off
	On
	Literal // a duration, an integer or a quoted string
	Ident
	Text
)

// Default is a field's parsed statement.
type Default struct {
	Kind      Kind
	Value     string // the literal or identifier as written, or the free text
	Note      string // in parentheses after the value
	Remark    string // after "; "
	Statement string // the whole statement, as written on one line
}

// statement is where a comment's statement starts: at the start of a line.
var statement = regexp.MustCompile(`(?m)^(Default: |Required[.;])`)

var ident = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// ParseDefault parses the statement that ends a field's comment (see the
// package doc).
func ParseDefault(s string) (Default, error) {
	s = strings.Join(strings.Fields(s), " ")
	d := Default{Statement: s}
	body, ok := strings.CutSuffix(s, ".")
	if !ok {
		return d, fmt.Errorf("statement %q does not end with a period", s)
	}
	if r, ok := strings.CutPrefix(body, "Required"); ok {
		d.Kind = Required
		if r == "" {
			return d, nil
		}
		if d.Remark, ok = strings.CutPrefix(r, "; "); !ok || d.Remark == "" {
			return d, fmt.Errorf("statement %q: want \"Required.\" or \"Required; REMARK.\"", s)
		}
		return d, nil
	}
	body, ok = strings.CutPrefix(body, "Default: ")
	if !ok {
		return d, fmt.Errorf("statement %q: want \"Default: VALUE.\" or \"Required.\"", s)
	}
	value, remark, cut := strings.Cut(body, "; ")
	if cut && remark == "" {
		return d, fmt.Errorf("statement %q: empty remark after ;", s)
	}
	d.Remark = remark
	if value == "" {
		return d, fmt.Errorf("statement %q: no value", s)
	}
	// A literal, keyword or identifier, alone or with a note.
	tok, rest := value, ""
	if strings.HasPrefix(value, `"`) {
		q, err := strconv.QuotedPrefix(value)
		if err != nil {
			return d, fmt.Errorf("statement %q: %v", s, err)
		}
		tok, rest = q, value[len(q):]
	} else if i := strings.IndexByte(value, ' '); i >= 0 {
		tok, rest = value[:i], value[i:]
	}
	note, isNote := "", rest == ""
	if n, ok := strings.CutPrefix(rest, " ("); ok && strings.HasSuffix(n, ")") && !strings.Contains(n[:len(n)-1], ")") {
		note, isNote = n[:len(n)-1], true
	}
	d.Value, d.Kind = value, Text
	if !isNote {
		// Words after a number ("45 seconds") would be checked only for
		// not being zero: a value is written as the literal it is.
		if isInt(tok) || isDuration(tok) || strings.HasPrefix(tok, `"`) {
			return d, fmt.Errorf("statement %q: write the value as a Go literal, words in parentheses or after ; (Default: 45s (the API's timeout).)", s)
		}
		return d, nil
	}
	switch {
	case tok == "none":
		d.Kind = None
	case tok == "off":
		d.Kind = Off
	case tok == "on":
		d.Kind = On
	case strings.HasPrefix(tok, `"`):
		d.Kind = Literal
	case isInt(tok) || isDuration(tok):
		d.Kind = Literal
	case ident.MatchString(tok):
		d.Kind = Ident
	default:
		return d, nil // free text
	}
	d.Value, d.Note = tok, note
	return d, nil
}

func isInt(s string) bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }

func isDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil && strings.ContainsAny(s, "hmsuµn")
}

// Parse reads the named struct types of the package in dir (its non-test
// files) and their exported fields' comments. A field without a comment,
// or whose comment does not end with a statement, is an error.
func Parse(dir string, types ...string) ([]Struct, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", dir)
	}
	pkg, err := doc.NewFromFiles(fset, files, "configdoc/"+files[0].Name.Name)
	if err != nil {
		return nil, err
	}
	var out []Struct
	var errs []error
	for _, name := range types {
		i := slices.IndexFunc(pkg.Types, func(t *doc.Type) bool { return t.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%s: no type %s", dir, name)
		}
		t := pkg.Types[i]
		var spec *ast.TypeSpec
		for _, s := range t.Decl.Specs {
			if ts := s.(*ast.TypeSpec); ts.Name.Name == name {
				spec = ts
			}
		}
		st, ok := spec.Type.(*ast.StructType)
		if !ok {
			return nil, fmt.Errorf("%s.%s is not a struct", pkg.Name, name)
		}
		s := Struct{Pkg: pkg.Name, Name: name, File: filepath.Base(fset.Position(spec.Pos()).Filename), Doc: t.Doc}
		prevLine := -1 // the line of the previous field, when it was exported
		for _, f := range st.Fields.List {
			var names []string
			for _, n := range f.Names {
				if n.IsExported() {
					names = append(names, n.Name)
				}
			}
			line := fset.Position(f.Pos()).Line
			if len(names) == 0 {
				prevLine = -1
				continue
			}
			// types.ExprString, not go/printer: the rewritten nodes have
			// no positions, from which the printer guesses line breaks
			// (and wrote "s *middleware.SignedIn,) error").
			types := slices.Repeat([]string{gotypes.ExprString(qualified(f.Type, pkg.Name))}, len(names))
			if f.Doc == nil && f.Comment == nil && line == prevLine+1 && len(s.Fields) > 0 {
				// Right below the previous field: under its comment.
				last := &s.Fields[len(s.Fields)-1]
				last.Names, last.Types = append(last.Names, names...), append(last.Types, types...)
				prevLine = fset.Position(f.End()).Line
				continue
			}
			prevLine = fset.Position(f.End()).Line
			field := Field{Names: names, Types: types}
			text := f.Doc.Text()
			if text == "" {
				text = f.Comment.Text()
			}
			where := fmt.Sprintf("%s.%s.%s", pkg.Name, name, strings.Join(names, ", "))
			s.Fields = append(s.Fields, field)
			locs := statement.FindAllStringIndex(text, -1)
			if len(locs) == 0 {
				errs = append(errs, fmt.Errorf("%s: the comment does not end with its default (a line that starts Default: VALUE. or Required.)", where))
				continue
			}
			at := locs[len(locs)-1][0]
			last := &s.Fields[len(s.Fields)-1]
			last.Doc = strings.TrimSpace(text[:at])
			if last.Doc == "" {
				errs = append(errs, fmt.Errorf("%s: the comment says nothing but its default", where))
			}
			if last.Default, err = ParseDefault(text[at:]); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", where, err))
			}
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

// qualified is the type expression t with the package's own exported
// types named with the package (*Provider → *client.Provider), so that it
// reads the same out of the package's docs. It rewrites t.
func qualified(t ast.Expr, pkg string) ast.Expr {
	fix := func(e ast.Expr) ast.Expr {
		if id, ok := e.(*ast.Ident); ok && id.IsExported() {
			return &ast.SelectorExpr{X: ast.NewIdent(pkg), Sel: ast.NewIdent(id.Name)}
		}
		return e
	}
	ast.Inspect(t, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.StarExpr:
			n.X = fix(n.X)
		case *ast.ArrayType:
			n.Elt = fix(n.Elt)
		case *ast.MapType:
			n.Key, n.Value = fix(n.Key), fix(n.Value)
		case *ast.Field:
			n.Type = fix(n.Type)
		case *ast.ChanType:
			n.Value = fix(n.Value)
		}
		return true
	})
	return fix(t)
}

func joinErrors(errs []error) error {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return fmt.Errorf("%s", b.String())
}

// RequiredNames are the fields of s whose statement is Required.
func (s Struct) RequiredNames() []string {
	var out []string
	for _, f := range s.Fields {
		if f.Default.Kind == Required {
			out = append(out, f.Names...)
		}
	}
	return out
}

// CheckRequired reports whether set, the fields a test fills to build
// the object, are the fields whose statement is Required.
func (s Struct) CheckRequired(set []string) error {
	want, got := s.RequiredNames(), slices.Clone(set)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return fmt.Errorf("%s.%s: the comments make %v required; the test sets %v", s.Pkg, s.Name, want, got)
	}
	return nil
}

// Minimal builds the object from a configuration with only the required
// fields set, as the docs tell a user to: set fills each, and must name
// exactly the fields whose statement is Required. Leaving any one of them
// out must make build fail. It returns the object built with all of them.
func Minimal[C, T any](s Struct, set map[string]func(*C), build func(C) (T, error)) (T, []error) {
	var errs []error
	if err := s.CheckRequired(slices.Collect(maps.Keys(set))); err != nil {
		errs = append(errs, err)
	}
	with := func(skip string) C {
		var cfg C
		for name, f := range set {
			if name != skip {
				f(&cfg)
			}
		}
		return cfg
	}
	for name := range set {
		if _, err := build(with(name)); err == nil {
			errs = append(errs, fmt.Errorf("%s.%s: built without %s, which its comment says is required", s.Pkg, s.Name, name))
		}
	}
	obj, err := build(with(""))
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.%s with only its required fields: %v", s.Pkg, s.Name, err))
	}
	return obj, errs
}

// Check compares each field's stated default with its effective value:
// the field of effective (a value of the struct's type, as the package
// keeps it after its constructor filled the defaults), or over[name] for a
// default that takes effect elsewhere than in the kept struct. idents are
// the values of the identifiers that statements name. Required fields are
// not compared: the test sets them. A default in words needs its exact
// value in idents under "="+name (or CheckedBelow). It reports every
// disagreement.
func Check(s Struct, effective any, over, idents map[string]any) []error {
	ev := reflect.ValueOf(effective)
	where := s.Pkg + "." + s.Name
	if ev.Kind() != reflect.Struct || ev.Type().Name() != s.Name {
		return []error{fmt.Errorf("%s: effective value is a %T", where, effective)}
	}
	var errs []error
	seen := map[string]bool{}
	for _, f := range s.Fields {
		for _, name := range f.Names {
			seen[name] = true
			v := ev.FieldByName(name)
			if o, ok := over[name]; ok {
				v = reflect.ValueOf(o)
			}
			if err := agrees(name, f.Default, v, idents); err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: the comment says %q, but %v", where, name, f.Default.Statement, err))
			}
		}
	}
	for i := range ev.NumField() {
		if sf := ev.Type().Field(i); sf.IsExported() && !seen[sf.Name] {
			errs = append(errs, fmt.Errorf("%s.%s: not in the parsed source", where, sf.Name))
		}
	}
	for name := range over {
		if !seen[name] {
			errs = append(errs, fmt.Errorf("%s: the test gives an effective value for %s, which is not a field", where, name))
		}
	}
	return errs
}

// CheckedBelow, as the value a test gives for a default in words, says
// that the test compares that default itself, after Check.
const CheckedBelow = "checked below"

// same reports how v differs from want (functions by identity), or nil.
func same(v reflect.Value, want any, what string) error {
	if v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	w := reflect.ValueOf(want)
	if v.Kind() == reflect.Func && w.Kind() == reflect.Func {
		if v.IsNil() || v.Pointer() != w.Pointer() {
			return fmt.Errorf("it is another function than %s", what)
		}
		return nil
	}
	if !reflect.DeepEqual(v.Interface(), want) {
		return fmt.Errorf("it is %s, not %s", show(v), what)
	}
	return nil
}

// agrees reports how v, the field name's effective value, disagrees with d,
// or nil.
func agrees(name string, d Default, v reflect.Value, idents map[string]any) error {
	switch d.Kind {
	case Required:
		return nil
	case None, Off:
		if !isZero(v) {
			return fmt.Errorf("it is %s", show(v))
		}
	case On:
		if !v.IsValid() || v.Kind() != reflect.Bool || !v.Bool() {
			return fmt.Errorf("it is %s", show(v))
		}
	case Text:
		if isZero(v) {
			return fmt.Errorf("it is zero (%s): free text says the constructor sets it; for a default that leaves it zero write none or off, with the text as a note", show(v))
		}
		want, ok := idents["="+name]
		if !ok {
			return fmt.Errorf("the default is in words, and the test gives no exact value to compare it with (idents[%q], or CheckedBelow when the test checks it itself)", "="+name)
		}
		if want == CheckedBelow {
			return nil
		}
		return same(v, want, "the value the test expects")
	case Ident:
		want, ok := idents[d.Value]
		if !ok {
			return fmt.Errorf("the test names no value for %s", d.Value)
		}
		if !v.IsValid() {
			return fmt.Errorf("it is nil, not %s", d.Value)
		}
		return same(v, want, d.Value)
	case Literal:
		return literalAgrees(d.Value, v)
	default:
		return fmt.Errorf("unparsed statement")
	}
	return nil
}

func literalAgrees(lit string, v reflect.Value) error {
	if !v.IsValid() {
		return fmt.Errorf("it is nil")
	}
	if strings.HasPrefix(lit, `"`) {
		want, _ := strconv.Unquote(lit)
		if v.Kind() != reflect.String {
			return fmt.Errorf("it is a %s, not a string", v.Type())
		}
		if v.String() != want {
			return fmt.Errorf("it is %q", v.String())
		}
		return nil
	}
	var want int64
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		want = n
	} else {
		dur, _ := time.ParseDuration(lit)
		if v.Type() != reflect.TypeFor[time.Duration]() {
			return fmt.Errorf("it is a %s, not a time.Duration", v.Type())
		}
		want = int64(dur)
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() != want {
			return fmt.Errorf("it is %s", show(v))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if want < 0 || v.Uint() != uint64(want) {
			return fmt.Errorf("it is %s", show(v))
		}
	default:
		return fmt.Errorf("it is a %s, not a number", v.Type())
	}
	return nil
}

// isZero: nil, the zero value, or an empty slice or map.
func isZero(v reflect.Value) bool {
	if !v.IsValid() {
		return true
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

func show(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	if v.Kind() == reflect.Func {
		if v.IsNil() {
			return "nil"
		}
		return "a function"
	}
	if d, ok := v.Interface().(time.Duration); ok {
		return d.String()
	}
	return fmt.Sprintf("%#v", v.Interface())
}
