package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/confidant-go/confidant/event"
)

// recorder keeps the last events of each browser for the flow page: a
// browser sees its own sign-ins, never another's. A browser is known by
// the demo's own cookie (tag); an event made outside a browser's request
// (a refresh shared by several, a back-channel logout) goes to the browser
// whose session it names.
type recorder struct {
	mu       sync.Mutex
	seq      int
	browsers map[string]*browserLog
	sessions map[string]string // session ref → browser
}

type browserLog struct {
	list []flowEvent
	seen int // seq of the last event, to evict the idlest browser first
}

const (
	maxEvents     = 300  // per browser
	maxBrowsers   = 1000 // then the idlest is forgotten
	browserCookie = "demo_browser"
)

type browserKey struct{}

type flowEvent struct {
	Seq      int               `json:"seq"`
	Kind     string            `json:"kind"`
	Time     string            `json:"time"`
	Provider string            `json:"provider,omitempty"`
	Session  string            `json:"session,omitempty"`
	Flow     string            `json:"flow,omitempty"`
	Status   int               `json:"status,omitempty"`
	Millis   float64           `json:"ms,omitempty"`
	Error    string            `json:"error,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
}

// tag gives each browser an ID in a cookie of its own and puts it in the
// request's context, where hook finds it.
func (rec *recorder) tag(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if c, err := r.Cookie(browserCookie); err == nil && len(c.Value) == 26 {
			id = c.Value
		} else {
			id = rand.Text()
			http.SetCookie(w, &http.Cookie{Name: browserCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), browserKey{}, id)))
	})
}

func browserOf(r *http.Request) string { id, _ := r.Context().Value(browserKey{}).(string); return id }

func (rec *recorder) hook(ctx context.Context, e event.Event) {
	fe := flowEvent{Kind: string(e.Kind), Time: e.Time.Format("15:04:05.000"), Provider: e.Provider, Session: e.Session,
		Flow: e.Flow, Status: e.Status, Millis: float64(e.Duration.Microseconds()) / 1000, Attrs: map[string]string{}}
	if e.Err != nil {
		fe.Error = e.Err.Error()
	}
	for _, a := range e.Attrs {
		fe.Attrs[a.Key] = a.Value.String()
	}
	id, _ := ctx.Value(browserKey{}).(string)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.browsers == nil {
		rec.browsers, rec.sessions = map[string]*browserLog{}, map[string]string{}
	}
	switch {
	case id != "" && e.Session != "":
		if len(rec.sessions) >= maxBrowsers*4 {
			clear(rec.sessions)
		}
		rec.sessions[e.Session] = id
	case id == "":
		if id = rec.sessions[e.Session]; id == "" {
			return // no browser to show it to
		}
	}
	b := rec.browsers[id]
	if b == nil {
		if len(rec.browsers) >= maxBrowsers {
			idlest := ""
			for k, v := range rec.browsers {
				if idlest == "" || v.seen < rec.browsers[idlest].seen {
					idlest = k
				}
			}
			delete(rec.browsers, idlest)
		}
		b = &browserLog{}
		rec.browsers[id] = b
	}
	rec.seq++
	fe.Seq, b.seen = rec.seq, rec.seq
	b.list = append(b.list, fe)
	if len(b.list) > maxEvents {
		b.list = b.list[len(b.list)-maxEvents:]
	}
}

func (rec *recorder) serveEvents(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	var list []flowEvent
	if b := rec.browsers[browserOf(r)]; b != nil {
		list = append(list, b.list...)
	}
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(append([]flowEvent{}, list...))
}

func (rec *recorder) clear(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	rec.mu.Lock()
	delete(rec.browsers, browserOf(r))
	rec.mu.Unlock()
	http.Redirect(w, r, "/flow", http.StatusSeeOther)
}

func (rec *recorder) servePage(lifetime time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		flowPage.Execute(w, map[string]any{"Lifetime": lifetime.String()})
	}
}

var flowPage = template.Must(template.New("flow").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>confidant demo · the flow</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
nav{display:flex;gap:.6rem;flex-wrap:wrap;align-items:center;margin-bottom:1rem}
nav form{display:inline}button,.button{font:inherit;padding:.3rem .8rem;border:1px solid #888;border-radius:4px;background:#f6f6f6;color:#222;text-decoration:none;cursor:pointer}
#diagram{border:1px solid #ddd;background:#fff}
.lane{stroke:#bbb;stroke-dasharray:4 4}.head{font-weight:600;font-size:14px}
.arrow{stroke:#246;stroke-width:1.5;fill:none;marker-end:url(#tip)}.back{stroke:#2a7}
.bad{stroke:#c33}.label{font-size:12px}.detail{font-size:10.5px;fill:#555}.time{font-size:10px;fill:#999}
</style></head><body>
<h1>Your sign-in, step by step</h1>
<p>Every arrow is an event the SDK emitted (package <code>event</code>); values are never shown, only
names, lengths and hash prefixes. Access tokens live {{.Lifetime}}: wait that long and call the API to see a refresh.</p>
<nav>
<a id="do-login" class="button" href="/auth/login?return_to=/flow">Sign in</a>
<button id="do-api" type="button">Call the API</button>
<form method="post" action="/auth/logout"><button id="do-logout">Sign out</button></form>
<a id="do-fail" class="button" href="/auth/callback?state=forged-state&amp;code=forged-code">Provoke a failure (forged callback)</a>
<form method="post" action="/flow/clear"><button id="do-clear">Clear</button></form>
<a href="/">Home</a>
</nav>
<p id="api-result"></p>
<svg id="diagram" xmlns="http://www.w3.org/2000/svg" width="1000" height="120">
<defs><marker id="tip" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#246"/></marker></defs>
<g id="lanes"></g><g id="arrows"></g></svg>
<script>
const lanes = {Browser: 90, App: 370, Provider: 650, API: 900};
function steps(e, started) {
  const a = e.attrs || {}, ms = e.ms ? " · " + e.ms.toFixed(1) + " ms" : "";
  switch (e.kind) {
  case "login.started": return [
    ["App", "Browser", "302 to the provider", "state " + a.state + ", nonce " + (a.nonce === "true" ? "yes" : "no") + ", PKCE " + a.pkce + ", return to " + a.return_to],
    ["Browser", "Provider", "GET " + (a.authorize || "/authorize"), "scope " + a.scopes + ", state, nonce, code_challenge (S256)"]];
  case "callback.received": return !started.has(e.flow) ? [
    // No sign-in of this browser has this state: the provider did not send it.
    ["Browser", "App", "GET /auth/callback (not from the provider)", "no sign-in was started with state " + (a.state || "none") + ": a forged or stale link", "bad"]] : [
    ["Provider", "Browser", "302 back to the app", a.error ? "error " + a.error : "code " + a.code],
    ["Browser", "App", "GET /auth/callback", "code " + (a.code || "none") + ", state " + (a.state || "none")]];
  case "state.checked": return [["App", "App", "state matches this browser's attempt", "compared in constant time, age " + a.age]];
  case "code.exchanged": return e.error ? [["App", "Provider", "POST /token (authorization_code)", a.client_auth || ""], ["Provider", "App", "refused " + (e.status || ""), e.error, "bad"]] : [
    ["App", "Provider", "POST /token (back channel)", "grant authorization_code, code, code_verifier, " + a.client_auth],
    ["Provider", "App", e.status + " tokens" + ms, "access_token " + a.access_token_len + " chars, id_token " + a.id_token_len + " chars, refresh_token " + (a.refresh_token === "true" ? "yes" : "no") + ", expires_in " + a.expires_in]];
  case "id_token.verified": return [["App", "App", e.error ? "ID token refused" : "ID token verified", e.error || ("alg " + a.alg + ", kid " + a.kid + ", nonce " + (a.nonce_checked === "true" ? "checked" : "n/a") + ", at_hash " + (a.at_hash_checked === "true" ? "checked" : "absent")), e.error ? "bad" : ""]];
  case "userinfo.fetched": return [["App", "Provider", "GET /userinfo", ""], ["Provider", "App", "claims" + ms, "sub matches: " + a.sub_matches, e.error ? "bad" : ""]];
  case "session.saved": return [["App", "Browser", "Set-Cookie: session (" + a.why + ")", a.set_cookie_bytes > 0 ? a.set_cookie_bytes + " bytes in " + a.cookies + " cookie(s), AES-256-GCM" : (a.why || "")]];
  case "refresh.started": return [["App", "Provider", "POST /token (refresh_token)", "refresh_token " + a.refresh_token]];
  case "refresh.done": return [["Provider", "App", e.status + " new tokens" + ms, "rotated: " + a.rotated + ", id_token verified: " + a.id_token_verified]];
  case "refresh.failed": return [["Provider", "App", "refresh failed " + (e.status || ""), e.error, "bad"]];
  case "refresh.deduplicated": return [["App", "App", "refresh shared", a.by]];
  case "api.request": return [["App", "API", "GET " + a.api, "Authorization: Bearer " + a.bearer], ["API", "App", (e.status || "error") + ms, e.error || "", e.status >= 400 ? "bad" : ""]];
  case "bearer.retried": return [["App", "App", "API said 401: refreshed, retrying", a.api]];
  case "logout": return [
    ["App", "Provider", "POST /revoke", a.revoked === "true" ? a.revoked_token + " revoked" : "nothing revoked"],
    ["App", "Browser", a.end_session === "true" ? "303 to end_session" : "303 home", a.end_session === "true" ? a.end_session_url + " with id_token_hint" : ""]];
  case "backchannel.received": return [["Provider", "App", "POST back-channel logout", "sessions ended: " + a.sessions_ended]];
  case "rejected": return [["App", "Browser", (e.status || "") + " " + (a.path || ""), e.error, "bad"]];
  }
  return [["App", "App", e.kind, ""]];
}
// text writes s at (x, y), wrapped to the width left of the diagram, and
// returns the number of lines.
function text(g, x, y, s, cls) {
  const per = Math.max(20, Math.floor((980 - x) / 6)), words = (s || "").split(" "), lines = [];
  let line = "";
  for (const w of words) {
    if (line && (line + " " + w).length > per) { lines.push(line); line = ""; }
    line = line ? line + " " + w : w;
    while (line.length > per) { lines.push(line.slice(0, per)); line = line.slice(per); }
  }
  lines.push(line);
  const t = el("text", {x: x, y: y, "class": cls});
  lines.forEach((l, i) => t.appendChild(el("tspan", {x: x, dy: i ? 13 : 0}, l)));
  g.appendChild(t);
  return lines.length;
}
function el(name, attrs, text) {
  const n = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const k in attrs) n.setAttribute(k, attrs[k]);
  if (text !== undefined) n.textContent = text;
  return n;
}
let shown = -1;
async function refresh() {
  const events = await (await fetch("/flow/events", {headers: {Accept: "application/json"}})).json();
  const last = events.length ? events[events.length - 1].seq : 0;
  if (last === shown) return;
  shown = last;
  const svg = document.getElementById("diagram"), lg = document.getElementById("lanes"), ag = document.getElementById("arrows");
  lg.replaceChildren(); ag.replaceChildren();
  let y = 60;
  const started = new Set(events.filter(e => e.kind === "login.started").map(e => e.flow));
  for (const e of events) {
    for (const [from, to, label, detail, cls] of steps(e, started)) {
      const x1 = lanes[from], x2 = lanes[to], g = el("g", {"class": "step", "data-kind": e.kind, "data-from": from, "data-to": to});
      g.appendChild(el("text", {x: 4, y: y, "class": "time"}, e.time));
      let lines = 1;
      if (from === to) {
        g.appendChild(el("path", {d: "M" + x1 + "," + (y - 6) + " h40 v14 h-36", "class": "arrow" + (cls ? " " + cls : "")}));
        g.appendChild(el("text", {x: x1 + 48, y: y, "class": "label"}, label));
        lines = text(g, x1 + 48, y + 13, detail, "detail");
      } else {
        const back = x2 < x1;
        g.appendChild(el("line", {x1: x1, y1: y, x2: x2 + (back ? 6 : -6), y2: y, "class": "arrow" + (back ? " back" : "") + (cls ? " " + cls : "")}));
        const lx = Math.min(x1, x2) + 8;
        g.appendChild(el("text", {x: lx, y: y - 5, "class": "label"}, label));
        lines = text(g, lx, y + 13, detail, "detail");
      }
      ag.appendChild(g);
      y += 40 + 13 * (lines - 1);
    }
  }
  svg.setAttribute("height", y + 10);
  for (const name in lanes) {
    lg.appendChild(el("line", {x1: lanes[name], y1: 34, x2: lanes[name], y2: y, "class": "lane"}));
    lg.appendChild(el("text", {x: lanes[name] - 28, y: 24, "class": "head"}, name));
  }
}
document.getElementById("do-api").addEventListener("click", async () => {
  const r = await fetch("/api", {headers: {Accept: "application/json"}});
  document.getElementById("api-result").textContent = "API call: " + r.status;
  refresh();
});
refresh();
setInterval(refresh, 1000);
</script></body></html>`))
