package tidy

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// changelogRepo is where the CHANGELOG's version links point.
const changelogRepo = "https://github.com/confidant-go/confidant"

// changelogSections are the subsections a version may have, in this order
// (Keep a Changelog 1.1.0's six, after the upgrade steps); each at most once.
var changelogSections = []string{"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}

var (
	versionHeading = regexp.MustCompile(`^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2})$`)
	linkReference  = regexp.MustCompile(`^\[([^\]]+)\]: (\S+)$`)
)

// TestChangelogForm (issue 36): CHANGELOG.md is in Keep a Changelog 1.1.0
// form, which tools and readers rely on. It begins with the header (the
// format and Semantic Versioning); then "## [Unreleased]"; then at least one
// "## [X.Y.Z] - YYYY-MM-DD", newest first (versions and dates descending);
// within each, only the six subsections in their order (Added, Changed,
// Deprecated, Removed, Fixed, Security), after an optional "### Upgrading…"
// (or "### Upgrade steps"), the only one that may have "####" headings; a
// breaking change is a bullet that begins "**Breaking**", and every
// bullet under Removed is one; at the end, a link for [Unreleased] and for
// each version, comparing its tag with the one before.
func TestChangelogForm(t *testing.T) {
	b, err := os.ReadFile("../../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range changelogProblems(string(b)) {
		t.Error(p)
	}
}

// TestChangelogFormCatches: each broken form is reported.
func TestChangelogFormCatches(t *testing.T) {
	good := `# Changelog

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

## [0.10.0] - 2027-01-02

### Upgrading from 0.9.0

#### 1. Rename

` + "```diff\n- ## not a heading\n### nor this\n```" + `

### Added

- A thing. (#40)

### Removed

- **Breaking** ` + "`Old`" + ` → removed. (#40)

## [0.9.0] - 2026-12-07

### Fixed

- A fix. (#35)

[Unreleased]: https://github.com/confidant-go/confidant/compare/v0.10.0...HEAD
[0.10.0]: https://github.com/confidant-go/confidant/compare/v0.9.0...v0.10.0
[0.9.0]: https://github.com/confidant-go/confidant/releases/tag/v0.9.0
`
	if p := changelogProblems(good); len(p) > 0 {
		t.Fatalf("the good form is refused: %q", p)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"no header", "# Changelog\n", "# Changes\n", "begin with"},
		{"no Keep a Changelog", "https://keepachangelog.com/en/1.1.0/", "https://example.com/", "Keep a Changelog"},
		{"no Unreleased", "## [Unreleased]\n", "", "[Unreleased]"},
		{"versions ascending", "## [0.10.0] - 2027-01-02", "## [0.8.0] - 2027-01-02", "descend"},
		{"bad date", "2027-01-02\n", "2027-13-02\n", "date"},
		{"version heading without date", "## [0.9.0] - 2026-12-07", "## [0.9.0]", "not a version heading"},
		{"unknown section", "### Added", "### New", "not one of"},
		{"sections out of order", "### Added\n\n- A thing. (#40)\n\n### Removed\n\n- **Breaking** `Old` → removed. (#40)",
			"### Removed\n\n- **Breaking** `Old` → removed. (#40)\n\n### Added\n\n- A thing. (#40)", "order"},
		{"upgrade steps after a section", "### Upgrading from 0.9.0\n\n#### 1. Rename\n\n```diff\n- ## not a heading\n### nor this\n```\n\n### Added\n\n- A thing. (#40)",
			"### Added\n\n- A thing. (#40)\n\n### Upgrading from 0.9.0\n\n#### 1. Rename", "order"},
		{"#### outside the upgrade steps", "- A thing. (#40)", "#### Things\n\n- A thing. (#40)", "####"},
		{"Breaking not at the start", "- A thing. (#40)", "- A thing, **Breaking**. (#40)", "**Breaking**"},
		{"Removed not marked", "- **Breaking** `Old` → removed.", "- `Old` → removed.", "Removed"},
		{"section before any version", "## [Unreleased]\n", "### Added\n\n## [Unreleased]\n", "before"},
		{"no link", "[0.9.0]: https://github.com/confidant-go/confidant/releases/tag/v0.9.0\n", "", "link"},
		// What the outside review of issue 36 got past the first version.
		{"bullet before the first section", "## [0.9.0] - 2026-12-07\n", "## [0.9.0] - 2026-12-07\n\n- Stray. (#35)\n", "before its first ###"},
		{"Removed not marked, with *", "- **Breaking** `Old` → removed.", "* `Old` → removed.", "Removed"},
		{"Removed not marked, a sub-bullet", "- **Breaking** `Old` → removed. (#40)", "- **Breaking** `Old` → removed. (#40)\n  - `Older` too.", "Removed"},
		{"inline code that looks like a fence", "- A fix. (#35)", "- A fix. (#35)\n\n```Foo``` is gone\n\n### Surprises\n\n```Bar```", "not one of"},
		{"wrong link", "compare/v0.9.0...v0.10.0", "compare/v0.8.0...v0.10.0", "link"},
	} {
		broken := strings.Replace(good, c.old, c.new, 1)
		if broken == good {
			t.Fatalf("%s: %q is not in the good form", c.name, c.old)
		}
		p := changelogProblems(broken)
		if !strings.Contains(strings.Join(p, "\n"), c.want) {
			t.Errorf("%s: want a problem saying %q, got %q", c.name, c.want, p)
		}
	}
	// Only [Unreleased], as the CHANGELOG was before issue 36.
	unreleased := good[:strings.Index(good, "## [0.10.0]")]
	if p := changelogProblems(unreleased); !strings.Contains(strings.Join(p, "\n"), "no released version") {
		t.Errorf("no version: want a problem saying %q, got %q", "no released version", p)
	}
}

// bullet is a list item's marker: -, * or +, indented or not.
var bullet = regexp.MustCompile(`^[ \t]*[-*+] `)

// changelogProblems lists what is wrong with the form of text, a CHANGELOG.
func changelogProblems(text string) []string {
	var problems []string
	bad := func(line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("CHANGELOG.md:%d: ", line)+fmt.Sprintf(format, args...))
	}
	lines := strings.Split(text, "\n")
	if !strings.HasPrefix(text, "# Changelog\n") {
		bad(1, `must begin with "# Changelog"`)
	}

	type version struct {
		name       string // "Unreleased" or "X.Y.Z"
		num        [3]int
		date       time.Time
		line       int
		released   bool // a "## [X.Y.Z] - YYYY-MM-DD" heading
		sections   int  // index+1 in changelogSections of the last subsection seen
		upgrade    bool
		inUpgrade  bool
		inRemoved  bool
		hasSection bool
	}
	var versions []*version
	var cur *version
	links := map[string]string{}
	header := ""
	// The lines inside code blocks, found as CommonMark finds them (a line
	// of inline code that begins with backticks is no fence).
	inFence := map[int]bool{}
	for _, f := range fences(text) {
		for j := range strings.Count(f.code, "\n") + 2 {
			inFence[f.line-1+j] = true // the opening fence's line, then the code's and the closing's
		}
	}
	for i, l := range lines {
		n := i + 1
		if inFence[n] {
			continue
		}
		if m := linkReference.FindStringSubmatch(l); m != nil {
			links[m[1]] = m[2]
			continue
		}
		switch {
		case strings.HasPrefix(l, "# "):
			if n != 1 {
				bad(n, "a second title: only the first line is a # heading")
			}
		case strings.HasPrefix(l, "## "):
			v := &version{line: n}
			if l == "## [Unreleased]" {
				v.name = "Unreleased"
				if len(versions) > 0 {
					bad(n, "[Unreleased] must be the first section")
				}
			} else if m := versionHeading.FindStringSubmatch(l); m != nil {
				v.name, v.released = m[1]+"."+m[2]+"."+m[3], true
				for j := range 3 {
					v.num[j], _ = strconv.Atoi(m[j+1])
				}
				d, err := time.Parse(time.DateOnly, m[4])
				if err != nil {
					bad(n, "%s: not a date: %v", m[4], err)
				}
				v.date = d
			} else {
				bad(n, `%q is not a version heading: "## [Unreleased]" or "## [X.Y.Z] - YYYY-MM-DD"`, l)
				v.name = l
			}
			versions = append(versions, v)
			cur = v
		case strings.HasPrefix(l, "### "):
			if cur == nil {
				bad(n, "%q comes before any version", l)
				continue
			}
			name := strings.TrimPrefix(l, "### ")
			cur.inUpgrade, cur.inRemoved = false, false
			if strings.HasPrefix(name, "Upgrading") || strings.HasPrefix(name, "Upgrade steps") {
				if cur.upgrade || cur.sections > 0 {
					bad(n, "the upgrade steps come once, before Added… (Keep a Changelog order)")
				}
				cur.upgrade, cur.inUpgrade = true, true
				continue
			}
			idx := -1
			for j, s := range changelogSections {
				if name == s {
					idx = j + 1
				}
			}
			if idx < 0 {
				bad(n, "%q is not one of %v (or the upgrade steps)", name, changelogSections)
				continue
			}
			if idx <= cur.sections {
				bad(n, "### %s out of order: %v, each once", name, changelogSections)
			}
			cur.sections = max(cur.sections, idx)
			cur.hasSection = true
			cur.inRemoved = name == "Removed"
		case strings.HasPrefix(l, "#"):
			if cur == nil || !cur.inUpgrade {
				bad(n, "%q: #### headings only within the upgrade steps", l)
			}
		case bullet.MatchString(l):
			item := bullet.ReplaceAllString(l, "")
			if strings.Contains(strings.TrimPrefix(item, "**Breaking** "), "**Breaking**") {
				bad(n, "**Breaking** only at the start of a bullet: %q", l)
			}
			if cur != nil && cur.inRemoved && !strings.HasPrefix(item, "**Breaking** ") {
				bad(n, "a bullet under Removed is a breaking change: begin it with **Breaking**")
			}
			if cur != nil && cur.released && !cur.hasSection && !cur.upgrade {
				bad(n, "a bullet under ## [%s] before its first ### section: put it under Added, Changed, …", cur.name)
			}
		default:
			if cur == nil {
				header += l + "\n"
			}
		}
	}

	if !strings.Contains(header, "https://keepachangelog.com/en/1.1.0/") {
		bad(1, "the header must say the format: Keep a Changelog (https://keepachangelog.com/en/1.1.0/)")
	}
	if !strings.Contains(header, "https://semver.org/") {
		bad(1, "the header must say the project follows Semantic Versioning (https://semver.org/)")
	}
	if len(versions) == 0 || versions[0].name != "Unreleased" {
		bad(1, "the first section must be ## [Unreleased]")
	}
	var released []*version
	for _, v := range versions {
		if v.released {
			released = append(released, v)
			if !v.hasSection {
				bad(v.line, "[%s] has none of %v", v.name, changelogSections)
			}
		}
	}
	if len(released) == 0 {
		bad(len(lines), "no released version: ## [X.Y.Z] - YYYY-MM-DD sections must follow [Unreleased], newest first (versions descend)")
	}
	for i := 1; i < len(released); i++ {
		a, b := released[i-1], released[i]
		if !semverLess(b.num, a.num) {
			bad(b.line, "[%s] after [%s]: versions must descend", b.name, a.name)
		}
		if !a.date.IsZero() && b.date.After(a.date) {
			bad(b.line, "[%s] dated after [%s]: dates must descend", b.name, a.name)
		}
	}

	// The links, as Keep a Changelog writes them.
	if len(released) > 0 {
		want := map[string]string{"Unreleased": changelogRepo + "/compare/v" + released[0].name + "...HEAD"}
		for i, v := range released {
			if i+1 < len(released) {
				want[v.name] = changelogRepo + "/compare/v" + released[i+1].name + "...v" + v.name
			} else {
				want[v.name] = changelogRepo + "/releases/tag/v" + v.name
			}
		}
		for name, url := range want {
			if got, ok := links[name]; !ok {
				bad(len(lines), "no link reference [%s]: %s", name, url)
			} else if got != url {
				bad(len(lines), "link [%s] is %s, want %s", name, got, url)
			}
		}
	}
	return problems
}

// semverLess reports whether version a is below b.
func semverLess(a, b [3]int) bool {
	for i := range 3 {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
