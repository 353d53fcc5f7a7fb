package middleware_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// uaTransport sends every request with a User-Agent.
type uaTransport struct {
	ua   string
	base http.RoundTripper
}

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.base.RoundTrip(r)
}

// signInAs signs user in through instance 0 from a browser that says it
// is ua.
func (c *cluster) signInAs(t *testing.T, user devprovider.User, ua string) *http.Client {
	t.Helper()
	hc := testenv.Browser()
	hc.Transport = uaTransport{ua: ua, base: hc.Transport}
	resp, _ := get(t, hc, c.apps[0].URL+"/profile")
	cb, err := c.op.Login(hc, resp.Header.Get("Location"), user)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ = get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	return hc
}

type listedSession struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	Device   string    `json:"device"`
	Current  bool      `json:"current"`
}

// sessionRoutes adds /sessions (the caller's sessions, JSON), POST
// /sessions/end?id= (EndSession) and POST /sessions/end-all
// (EndUserSessions) to every instance.
func sessionRoutes(t *testing.T, c *cluster) {
	for _, app := range c.apps {
		auth := app.Auth
		app.Mux.Handle("/sessions", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			list, err := auth.Sessions(r)
			if err != nil {
				http.Error(w, err.Error(), middleware.StatusCode(err))
				return
			}
			out := []listedSession{}
			for _, s := range list {
				out = append(out, listedSession{s.ID, s.Created, s.LastSeen, s.Device, s.Current})
			}
			json.NewEncoder(w).Encode(map[string]any{"sessions": out})
		})))
		app.Mux.Handle("POST /sessions/end", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := auth.EndSession(r, r.URL.Query().Get("id")); err != nil {
				if !errors.Is(err, middleware.ErrBadRequest) {
					t.Errorf("EndSession: %v", err)
				}
				http.Error(w, err.Error(), middleware.StatusCode(err))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})))
		app.Mux.Handle("POST /sessions/end-all", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := middleware.UserFrom(r.Context())
			if err := auth.EndUserSessions(r.Context(), u.Provider, u.Subject); err != nil {
				http.Error(w, err.Error(), middleware.StatusCode(err))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})))
	}
}

func listSessions(t *testing.T, hc *http.Client, appURL string) []listedSession {
	t.Helper()
	resp, body := get(t, hc, appURL+"/sessions")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/sessions: %d %s", resp.StatusCode, body)
	}
	var out struct{ Sessions []listedSession }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Sessions
}

func post(t *testing.T, hc *http.Client, u string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSessionsList: on three instances, with Redis sessions and with
// cookie sessions and a shared deny list, a user sees their own sessions
// (device, created, last seen, which is this one), ends one of them (its
// refresh token revoked, signed out on every instance), and ends all of
// them; another user's sessions are neither listed nor ended, and an ID
// that names no session of the user is refused.
func TestSessionsList(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			c := newCluster(t, clusterOptions{instances: 3, denyList: store == "cookie"})
			sessionRoutes(t, c)
			var sid atomic.Value // the sid the OP puts in the next ID token
			sid.Store("")
			c.op.SetTokenHook(func(resp map[string]any) {
				if raw, ok := resp["id_token"].(string); ok && sid.Load() != "" {
					parts := strings.Split(raw, ".")
					var cl map[string]any
					b, _ := base64URL(parts[1])
					jsonUnmarshal(b, &cl)
					cl["sid"] = sid.Load()
					resp["id_token"] = c.op.Sign(cl)
				}
			})
			firefox := c.signInAs(t, devprovider.DemoUser, "Firefox/140")
			chrome := c.signInAs(t, devprovider.DemoUser, "Chrome/141")
			safari := c.signInAs(t, devprovider.DemoUser, "Safari/26\t")
			sid.Store("sid-edge")
			edge := c.signInAs(t, devprovider.DemoUser, "Edge/142")
			sid.Store("")
			bob := c.signInAs(t, otherUser, "Bob's browser")
			// The provider ends the Edge session (back-channel logout by
			// its sid): it is not listed.
			if status := postLogout(t, c.apps[1].URL, c.op.Sign(logoutClaims(c.op, "", "sid-edge"))); status != http.StatusOK {
				t.Fatalf("back-channel logout: %d", status)
			}
			if who := whoami(t, edge, c.apps[0].URL); who != "anonymous" {
				t.Fatalf("edge after its back-channel logout: %q", who)
			}

			list := listSessions(t, chrome, c.apps[2].URL)
			if len(list) != 3 {
				t.Fatalf("%d sessions listed, want alice's 3: %+v", len(list), list)
			}
			devices := map[string]listedSession{}
			for _, s := range list {
				devices[s.Device] = s
				if s.Created.IsZero() || s.LastSeen.Before(s.Created) || len(s.ID) != 32 {
					t.Errorf("session %+v", s)
				}
			}
			if !list[0].Current || list[0].Device != "Chrome/141" || devices["Firefox/140"].Current {
				t.Errorf("the current session first: %+v", list)
			}
			if _, ok := devices["Safari/26"]; !ok {
				t.Errorf("devices %v: want the User-Agents, without control characters", devices)
			}
			if _, ok := devices["Bob's browser"]; ok {
				t.Error("another user's session is listed")
			}

			// One of them, from another.
			revoked := c.op.RevokedRefreshTokens()
			if status := post(t, chrome, c.apps[1].URL+"/sessions/end?id="+devices["Firefox/140"].ID); status != http.StatusNoContent {
				t.Fatalf("end one: %d", status)
			}
			if n := c.op.RevokedRefreshTokens() - revoked; n != 1 {
				t.Errorf("%d refresh tokens revoked, want the ended session's", n)
			}
			for i, app := range c.apps {
				if who := whoami(t, firefox, app.URL); who != "anonymous" {
					t.Errorf("instance %d: the ended session: %q", i, who)
				}
				if who := whoami(t, safari, app.URL); who != "op:"+devprovider.DemoUser.ID {
					t.Errorf("instance %d: another session of the user: %q", i, who)
				}
			}
			if n := len(listSessions(t, safari, c.apps[0].URL)); n != 2 {
				t.Errorf("%d sessions after ending one, want 2", n)
			}
			// Bob's session is not alice's to end; nor is a made-up ID.
			bobs := listSessions(t, bob, c.apps[0].URL)
			for _, id := range []string{bobs[0].ID, "0123456789abcdef0123456789abcdef", "x"} {
				if status := post(t, chrome, c.apps[0].URL+"/sessions/end?id="+id); status != http.StatusBadRequest {
					t.Errorf("end %q: %d, want 400", id, status)
				}
			}
			if who := whoami(t, bob, c.apps[1].URL); who != "op:"+otherUser.ID {
				t.Errorf("bob: %q", who)
			}

			// All of them.
			revoked = c.op.RevokedRefreshTokens()
			if status := post(t, safari, c.apps[2].URL+"/sessions/end-all"); status != http.StatusNoContent {
				t.Fatalf("end all: %d", status)
			}
			if n := c.op.RevokedRefreshTokens() - revoked; n != 2 {
				t.Errorf("%d refresh tokens revoked, want the 2 live sessions'", n)
			}
			for i, app := range c.apps {
				for _, hc := range []*http.Client{chrome, safari} {
					if who := whoami(t, hc, app.URL); who != "anonymous" {
						t.Errorf("instance %d: after end-all: %q", i, who)
					}
				}
				if who := whoami(t, bob, app.URL); who != "op:"+otherUser.ID {
					t.Errorf("instance %d: bob after alice's end-all: %q", i, who)
				}
			}
			if resp, _ := get(t, chrome, c.apps[0].URL+"/sessions"); resp.StatusCode == http.StatusOK {
				t.Errorf("/sessions signed out: %d", resp.StatusCode)
			}
		})
	}
}
