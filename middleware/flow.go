package middleware

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/cookies"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// flow is one sign-in attempt, kept in its own encrypted cookie until the
// callback uses it.
type flow struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n,omitempty"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Created  int64  `json:"t"` // Unix milliseconds
	// ACR and MaxAge are what the sign-in asked for, verified in the ID
	// token at the callback.
	ACR    []string `json:"a,omitempty"`
	MaxAge int64    `json:"m,omitempty"` // nanoseconds
	// Silent is a prompt=none attempt (Config.SilentSignIn): the provider
	// answering that the user must interact means "not signed in".
	Silent bool `json:"q,omitempty"`
	// API is the API a connect flow is for ("" for a sign-in), and User
	// the signed-in user who started it (userRef): the callback redeems
	// the code only for that user.
	API  string `json:"i,omitempty"`
	User string `json:"u,omitempty"`
}

const flowBase = "confidant_flow."

// maxFlowReturnTo bounds the return-to kept in a flow cookie, so that each
// flow cookie stays under about 800 bytes and MaxFlows of them fit in any
// server's header limits.
const maxFlowReturnTo = 512

// flowCookieName is the name of the flow cookie in slot i. A browser has
// MaxFlows slots, so it never holds more flow cookies than that, even when
// several sign-ins start at once: responses computed from the same cookies
// reuse the same names instead of adding new ones.
func (a *Auth) flowCookieName(slot int) string { return a.flowPrefix + strconv.Itoa(slot) }

func (a *Auth) flowOpts() *sessions.Options {
	// Path=/ so that every response that starts a sign-in (Require runs on
	// any path) sees the attempts in progress and can bound them.
	return &sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

func (a *Auth) flowAAD(name string) []byte {
	return []byte("confidant/flow/" + name + "\x00" + a.appID())
}

func (a *Auth) setFlowCookie(w http.ResponseWriter, name, value string, maxAge int) {
	cookies.Write(w, name, value, a.flowOpts(), a.cookies.Secure, maxAge, a.cfg.Now())
}

// startFlow begins a sign-in attempt: it stores its flow cookie (dropping
// the oldest attempts beyond MaxFlows) and redirects to the provider.
func (a *Auth) startFlow(w http.ResponseWriter, r *http.Request, c *client.Client, returnTo string, extra url.Values) {
	a.startFlowSilent(w, r, c, returnTo, extra, false)
}

// startFlowSilent is startFlow, marking the attempt silent (prompt=none).
func (a *Auth) startFlowSilent(w http.ResponseWriter, r *http.Request, c *client.Client, returnTo string, extra url.Values, silent bool) {
	if rs, scopes := a.grantCovers(c); len(rs) > 0 || len(scopes) > 0 {
		// The grant must cover the APIs with tokens of their own, their
		// resources and scopes (RFC 8707 2.1): their tokens come from
		// refresh grants later, and a strict provider refuses a scope
		// the grant did not ask for.
		extra = netx.CloneValues(extra)
		for _, r := range rs {
			if !slices.Contains(extra["resource"], r) {
				extra["resource"] = append(extra["resource"], r)
			}
		}
		if len(scopes) > 0 {
			extra.Set("scope", strings.TrimSpace(extra.Get("scope")+" "+strings.Join(scopes, " ")))
		}
	}
	if err := a.mounted(r, c); err != nil {
		a.fail(w, r, err)
		return
	}
	l, err := c.NewLogin(r.Context(), extra)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !strings.EqualFold(r.Host, a.origin.Host) && a.cfg.Logger != nil && a.hostWarned.CompareAndSwap(false, true) {
		a.cfg.Logger.Warn("confidant: a sign-in started on another host than the RedirectURL's: a browser at that host will not send the sign-in cookie back to the callback, so open the app at the RedirectURL's host (behind a proxy that rewrites Host this is expected)",
			"request_host", netx.ProviderText(r.Host), "redirect_url_host", a.origin.Host)
	}
	slot := a.flowSlot(w, r)
	if len(returnTo) > maxFlowReturnTo {
		// Keep the flow cookie small: the page without its long query,
		// or the default landing page.
		if returnTo = pathOnly(returnTo); len(returnTo) > maxFlowReturnTo {
			returnTo = a.cfg.AfterLogin
		}
	}
	f := flow{Provider: c.Provider().Name(), State: l.State, Nonce: l.Nonce, Verifier: l.Verifier, ReturnTo: returnTo, Created: a.cfg.Now().UnixMilli(),
		ACR: l.ACRValues, MaxAge: int64(l.MaxAge), Silent: silent}
	a.writeFlowAt(w, slot, &f)
	if a.sink.Wants(r.Context(), event.Event{Kind: event.LoginStarted}.Level()) {
		names := make([]string, 0, len(extra))
		for k := range extra {
			names = append(names, k)
		}
		sort.Strings(names)
		a.emit(r.Context(), event.Event{Kind: event.LoginStarted, Provider: c.Provider().Name(), Flow: event.Redact(l.State),
			Attrs: []slog.Attr{slog.Any("scopes", plumbingOf(c).Scopes()), slog.String("pkce", "S256"), slog.Bool("nonce", l.Nonce != ""),
				slog.String("state", event.Redact(l.State)), slog.String("return_to", pathOnly(returnTo)),
				slog.Any("extra_params", names), slog.String("authorize", hostPath(l.URL)), slog.String("redirect_uri", plumbingOf(c).RedirectURL())}})
	}
	h := w.Header()
	h["Cache-Control"] = []string{"no-store"}
	// The provider's absolute URL, as is: no body (http.Redirect would
	// escape the URL into a link, for clients that do not follow a 302).
	h["Location"] = []string{l.URL}
	w.WriteHeader(http.StatusFound)
}

// writeFlow stores f in a flow cookie of its own (dropping the oldest
// attempts beyond MaxFlows).
func (a *Auth) writeFlow(w http.ResponseWriter, r *http.Request, f *flow) {
	a.writeFlowAt(w, a.flowSlot(w, r), f)
}

func (a *Auth) writeFlowAt(w http.ResponseWriter, slot int, f *flow) {
	plain, _ := json.Marshal(f)
	name := a.flowCookieName(slot)
	a.setFlowCookie(w, name, a.flows.Seal(plain, a.flowAAD(name)), int(a.cfg.FlowTTL/time.Second)+1)
}

// equalState compares two secrets in constant time.
func equalState(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// flowSlot picks the slot of a new attempt: a free one at random (so that
// attempts started together rarely pick the same), or else the oldest
// attempt's, which the new one replaces. Expired and unreadable flow
// cookies are deleted and their slots are free.
func (a *Auth) flowSlot(w http.ResponseWriter, r *http.Request) int {
	used := make([]bool, a.cfg.MaxFlows)
	oldest, oldestAt := 0, int64(math.MaxInt64)
	now := a.cfg.Now()
	for _, c := range r.Cookies() {
		slot, ok := a.flowSlotOf(c.Name)
		if !ok || used[slot] {
			continue
		}
		f, ok := a.openFlow(c.Name, c.Value)
		if !ok || now.Sub(time.UnixMilli(f.Created)) > a.cfg.FlowTTL {
			a.setFlowCookie(w, c.Name, "", -1)
			continue
		}
		used[slot] = true
		if f.Created < oldestAt {
			oldest, oldestAt = slot, f.Created
		}
	}
	var free []int
	for slot, u := range used {
		if !u {
			free = append(free, slot)
		}
	}
	if len(free) == 0 {
		return oldest
	}
	return free[rand.IntN(len(free))]
}

// flowSlotOf reports whether name is exactly the name of one of this app's
// flow cookies (the prefix and a slot number below MaxFlows), and its slot.
func (a *Auth) flowSlotOf(name string) (int, bool) {
	d, ok := strings.CutPrefix(name, a.flowPrefix)
	if !ok || len(d) == 0 || len(d) > 3 || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	slot, err := strconv.Atoi(d)
	if err != nil || slot < 0 || slot >= a.cfg.MaxFlows {
		return 0, false
	}
	return slot, true
}

func (a *Auth) openFlow(name, value string) (*flow, bool) {
	plain, err := a.flows.Open(value, a.flowAAD(name))
	if err != nil {
		return nil, false
	}
	var f flow
	if json.Unmarshal(plain, &f) != nil {
		return nil, false
	}
	return &f, true
}

// takeFlow finds the attempt for state, deletes its cookie whatever the
// outcome (a state is used once), and checks it, including that it was
// started with the provider c whose callback received it (a state from
// another provider's attempt is refused: a mix-up attack), for api (""
// for a sign-in; a connect flow's state never finishes a sign-in, nor the
// other way round).
func (a *Auth) takeFlow(w http.ResponseWriter, r *http.Request, state string, c *client.Client, api string) (*flow, error) {
	if state == "" {
		return nil, fail.StateMissing
	}
	// The attempt is the flow cookie that holds this state; the others
	// belong to sign-ins in other tabs and are left alone.
	var f *flow
	seen := false
	for _, ck := range r.Cookies() {
		if _, ok := a.flowSlotOf(ck.Name); !ok {
			continue
		}
		seen = true
		if g, ok := a.openFlow(ck.Name, ck.Value); ok && equalState(g.State, state) {
			a.setFlowCookie(w, ck.Name, "", -1) // a state is used once
			f = g
			break
		}
	}
	if f == nil && !seen {
		switch sfs := r.Header.Get("Sec-Fetch-Site"); sfs {
		case "same-origin", "none":
			// Not reached from the provider, whose redirect is another
			// origin's: a link on the app's own pages, or typed. Not a
			// host mix-up, whose advice would mislead.
			return nil, fmt.Errorf("%w: no sign-in was started in this browser, and the callback was opened from the app's own page or typed (Sec-Fetch-Site: %s), not reached from the provider", fail.StateMismatch, sfs)
		}
		return nil, fmt.Errorf("%w (this callback is on %s)", fail.FlowCookieMissing, netx.ProviderText(r.Host))
	}
	if f == nil || f.Provider != c.Provider().Name() || f.API != api {
		return nil, fail.StateMismatch
	}
	age := a.cfg.Now().Sub(time.UnixMilli(f.Created))
	if age > a.cfg.FlowTTL {
		return nil, fail.StateExpired
	}
	a.emit(r.Context(), event.Event{Kind: event.StateChecked, Provider: f.Provider, Flow: event.Redact(state),
		Attrs: []slog.Attr{slog.Duration("age", age), slog.Bool("constant_time", true)}})
	return f, nil
}

// pathOnly drops the query of a local URL: events name pages, not data.
func pathOnly(u string) string {
	p, _, _ := strings.Cut(u, "?")
	return p
}

// hostPath is an absolute URL without its query.
func hostPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func (f *flow) login() *client.Login {
	return &client.Login{State: f.State, Nonce: f.Nonce, Verifier: f.Verifier, ACRValues: f.ACR, MaxAge: time.Duration(f.MaxAge)}
}

// grantCovers are the resource indicators and scopes of the APIs whose
// tokens come from refresh grants (not token exchange) that users of c's
// provider may call: the sign-in asks for them.
func (a *Auth) grantCovers(c *client.Client) (resources, scopes []string) {
	for _, t := range a.apis {
		if t.disc != nil {
			// An API that describes itself at this provider, once its
			// metadata has been read here.
			t.disc.mu.Lock()
			found := t.disc.found
			t.disc.mu.Unlock()
			if found == nil || !found.signInPath() {
				continue
			}
			t = *found
		}
		if t.op.resource == "" || t.op.exchange || (t.provider != "" && t.provider != c.Provider().Name()) {
			continue
		}
		if !slices.Contains(resources, t.op.resource) {
			resources = append(resources, t.op.resource)
		}
		for _, s := range t.op.scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return resources, scopes
}
