package session

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/internal/testkit/configdoc"
)

// TestConfigDefaults: the default each field of CookieConfig and Timeouts
// states at the end of its comment (the form of package configdoc, from
// which docs/configuration.md is generated) is the one in effect in a
// CookieStore made from a CookieConfig with only the required fields set;
// and without any one of those, NewCookieStore fails.
func TestConfigDefaults(t *testing.T) {
	structs, err := configdoc.Parse(".", "CookieConfig", "Timeouts")
	if err != nil {
		t.Fatal(err)
	}
	cookie, timeouts := structs[0], structs[1]
	st, errs := configdoc.Minimal(cookie, map[string]func(*CookieConfig){
		"Keys": func(c *CookieConfig) { c.Keys = [][]byte{NewKey()} },
	}, NewCookieStore)
	for _, err := range errs {
		t.Error(err)
	}
	if st == nil {
		t.FailNow()
	}
	idents := map[string]any{"time.Now": time.Now,
		"=Options":  configdoc.CheckedBelow,
		"=Timeouts": Timeouts{Idle: 24 * time.Hour, Absolute: 168 * time.Hour},
	}
	// Options stays nil in the kept copy: the attributes in effect are
	// opts; the cache's size is the cache's.
	over := map[string]any{"Options": st.opts, "CacheSize": st.caches[0].max}
	for _, err := range configdoc.Check(cookie, st.cfg, over, idents) {
		t.Error(err)
	}
	for _, err := range configdoc.Check(timeouts, st.cfg.Timeouts, nil, idents) {
		t.Error(err)
	}
	// Options' default in words, exactly.
	want := sessions.Options{Path: "/", MaxAge: 7 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if st.opts != want {
		t.Errorf("CookieConfig.Options in effect: %+v; its comment says %+v", st.opts, want)
	}
}
