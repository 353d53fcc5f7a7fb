package configdoc

import (
	"testing"
	"time"
)

func TestParseDefault(t *testing.T) {
	for _, tc := range []struct {
		in                  string
		kind                Kind
		value, note, remark string
	}{
		{"Required.", Required, "", "", ""},
		{"Required; by New, not by Setup.", Required, "", "", "by New, not by Setup"},
		{"Default: none.", None, "none", "", ""},
		{"Default: none (straight to the\nprovider's sign-in).", None, "none", "straight to the provider's sign-in", ""},
		{"Default: off.", Off, "off", "", ""},
		{"Default: on.", On, "on", "", ""},
		{"Default: 10m.", Literal, "10m", "", ""},
		{"Default: 168h (7 days).", Literal, "168h", "7 days", ""},
		{"Default: 8; at most 100.", Literal, "8", "", "at most 100"},
		{"Default: -1.", Literal, "-1", "", ""},
		{`Default: "/auth/".`, Literal, `"/auth/"`, "", ""},
		{`Default: "a b" (spaced).`, Literal, `"a b"`, "spaced", ""},
		{"Default: time.Now.", Ident, "time.Now", "", ""},
		{"Default: AuthStyleAuto.", Ident, "AuthStyleAuto", "", ""},
		{"Default: a small HTML page.", Text, "a small HTML page", "", ""},
		{"Default: the Store's keys (shared); else none.", Text, "the Store's keys (shared)", "", "else none"},
		{"Default: none of them (really).", Text, "none of them (really)", "", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseDefault(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != tc.kind || d.Value != tc.value || d.Note != tc.note || d.Remark != tc.remark {
				t.Errorf("got kind %d value %q note %q remark %q", d.Kind, d.Value, d.Note, d.Remark)
			}
		})
	}
	for _, bad := range []string{"Default: 10m", "Default 10m.", "Required by New.", "Default: .", "Default: x; .", `Default: "open.`,
		"Default: 45 seconds.", `Default: "/auth/" under the prefix.`} {
		if _, err := ParseDefault(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestCheckDefault(t *testing.T) {
	type cfg struct {
		D     time.Duration
		N     int
		S     string
		B     bool
		L     []string
		F     func() time.Time
		Extra int
	}
	s := Struct{Pkg: "p", Name: "cfg", Fields: []Field{
		{Names: []string{"D"}, Default: Default{Kind: Literal, Value: "10m"}},
		{Names: []string{"N"}, Default: Default{Kind: Literal, Value: "8"}},
		{Names: []string{"S"}, Default: Default{Kind: Literal, Value: `"/auth/"`}},
		{Names: []string{"B"}, Default: Default{Kind: Off}},
		{Names: []string{"L"}, Default: Default{Kind: None}},
		{Names: []string{"F"}, Default: Default{Kind: Ident, Value: "time.Now"}},
		{Names: []string{"Extra"}, Default: Default{Kind: Text}},
	}}
	idents := map[string]any{"time.Now": time.Now, "=Extra": 1}
	good := cfg{D: 10 * time.Minute, N: 8, S: "/auth/", L: []string{}, F: time.Now, Extra: 1}
	if errs := Check(s, good, nil, idents); len(errs) > 0 {
		t.Fatal(errs)
	}
	for name, bad := range map[string]func(*cfg){
		"D":     func(c *cfg) { c.D = 9 * time.Minute },
		"N":     func(c *cfg) { c.N = 0 },
		"S":     func(c *cfg) { c.S = "/" },
		"B":     func(c *cfg) { c.B = true },
		"L":     func(c *cfg) { c.L = []string{"x"} },
		"F":     func(c *cfg) { c.F = func() time.Time { return time.Time{} } },
		"Extra": func(c *cfg) { c.Extra = 0 },
		// Not zero, and still not what the words say (the outside review
		// of issue 36: free text was checked only for not being zero).
		"Extra=2": func(c *cfg) { c.Extra = 2 },
	} {
		c := good
		bad(&c)
		if errs := Check(s, c, nil, idents); len(errs) != 1 {
			t.Errorf("%s changed: %v", name, errs)
		}
	}
	if errs := Check(s, good, map[string]any{"Extra": (*int)(nil)}, idents); len(errs) != 1 {
		t.Errorf("a nil effective value for free text: %v", errs)
	}
	if errs := Check(s, good, nil, map[string]any{"time.Now": time.Now}); len(errs) != 1 {
		t.Errorf("free text with no exact value from the test: %v", errs)
	}
	if errs := Check(s, good, nil, map[string]any{"time.Now": time.Now, "=Extra": CheckedBelow}); len(errs) != 0 {
		t.Errorf("free text the test checks itself: %v", errs)
	}
	if errs := Check(s, struct{ cfg }{good}, nil, idents); len(errs) != 1 {
		t.Errorf("another type: %v", errs)
	}
}
