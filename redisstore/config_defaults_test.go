package redisstore

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/internal/testkit/configdoc"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/session"
)

// TestConfigDefaults: the default each field of Config states at the end
// of its comment (the form of package configdoc, from which
// docs/configuration.md is generated) is the one in effect in a Store made
// by New from a Config with only the required fields set, on a real
// redis-server; and without any one of those, New fails. The Timeouts in
// effect are checked against session.Timeouts' comments too.
func TestConfigDefaults(t *testing.T) {
	structs, err := configdoc.Parse(".", "Config")
	if err != nil {
		t.Fatal(err)
	}
	timeouts, err := configdoc.Parse("../session", "Timeouts")
	if err != nil {
		t.Fatal(err)
	}
	rc := testenv.StartRedis(t).Client()
	t.Cleanup(func() { rc.Close() })
	st, errs := configdoc.Minimal(structs[0], map[string]func(*Config){
		"Client": func(cfg *Config) { cfg.Client = redis.UniversalClient(rc) },
		"Keys":   func(cfg *Config) { cfg.Keys = [][]byte{session.NewKey()} },
	}, New)
	for _, err := range errs {
		t.Error(err)
	}
	if st == nil {
		t.FailNow()
	}
	idents := map[string]any{"time.Now": time.Now,
		"=Options":  configdoc.CheckedBelow,
		"=Timeouts": session.Timeouts{Idle: 24 * time.Hour, Absolute: 168 * time.Hour},
	}
	// Options stays nil in the kept Config: the attributes in effect are opts.
	for _, err := range configdoc.Check(structs[0], st.cfg, map[string]any{"Options": st.opts}, idents) {
		t.Error(err)
	}
	for _, err := range configdoc.Check(timeouts[0], st.cfg.Timeouts, nil, idents) {
		t.Error(err)
	}
	// Options' default in words, exactly.
	want := sessions.Options{Path: "/", MaxAge: int(st.cfg.Timeouts.Absolute / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if st.opts != want {
		t.Errorf("Config.Options in effect: %+v; its comment says %+v", st.opts, want)
	}
	if err := st.ping(t.Context()); err != nil {
		t.Errorf("the Store made with the defaults does not reach Redis: %v", err)
	}
}
