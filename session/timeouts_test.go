package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/session"
)

func TestCookieTimeouts(t *testing.T) {
	c := testenv.NewClock(time.Now())
	st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Now: c.Now,
		Timeouts: session.Timeouts{Idle: time.Hour, Absolute: 3 * time.Hour}})
	save := func(s *session.Session) []*http.Cookie {
		rec := httptest.NewRecorder()
		st.Save(rec, httptest.NewRequest("GET", "http://localhost/", nil), s)
		return rec.Result().Cookies()
	}
	cookies := save(&session.Session{ID: "x"})
	c.Add(61 * time.Minute)
	if _, err := testenv.LoadCookies(st, cookies); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("idle cookie session: %v", err)
	}
	cookies = save(&session.Session{ID: "y"})
	var created time.Time
	for i := range 4 {
		c.Add(50 * time.Minute)
		cur, err := testenv.LoadCookies(st, cookies)
		if i < 3 && err != nil {
			t.Fatalf("touched session lost at step %d: %v", i, err)
		}
		if i == 3 {
			if err == nil {
				t.Errorf("session %v old loaded past the absolute timeout", c.Now().Sub(created))
			}
			break
		}
		created = cur.CreatedAt
		cookies = save(cur)
	}
}

// TestCookieMaxAgeBoundsAbsolute: a cookie that the browser keeps for an
// hour makes a session that lives at most an hour, and Timeouts says so
// (the middleware keeps deny-list entries that long).
func TestCookieMaxAgeBoundsAbsolute(t *testing.T) {
	c := testenv.NewClock(time.Now())
	st, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Now: c.Now,
		Options: &sessions.Options{MaxAge: 3600}})
	if err != nil {
		t.Fatal(err)
	}
	if got := session.TimeoutsOf(st); got.Absolute != time.Hour || got.Idle != 24*time.Hour {
		t.Errorf("Timeouts() = %+v, want Absolute 1h (MaxAge) and the default Idle", got)
	}
	rec := httptest.NewRecorder()
	st.Save(rec, httptest.NewRequest("GET", "http://localhost/", nil), &session.Session{ID: "x"})
	c.Add(61 * time.Minute)
	if _, err := testenv.LoadCookies(st, rec.Result().Cookies()); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("a session older than MaxAge: %v, want ErrNoSession", err)
	}
}
