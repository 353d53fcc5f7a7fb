package middleware

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/session"
)

// UserSession is one of a user's active sessions (Auth.Sessions): one
// sign-in, in one browser.
type UserSession struct {
	// ID names the session for Auth.EndSession: a hash of it, which does
	// not work as a cookie.
	ID string
	// Created is when the user signed in.
	Created time.Time
	// LastSeen is when the session last made a request, to within a few
	// minutes.
	LastSeen time.Time
	// Device is the browser's User-Agent at sign-in, as it said it (at
	// most 200 characters, printable ones).
	Device string
	// Current is the session of the request.
	Current bool
}

// registry keeps, for each user, what lists their sessions: redisstore's
// Store or DenyList (shared by the instances), else this process's
// memory.
type registry interface {
	PutEntry(ctx context.Context, user, field string, value []byte, ttl time.Duration) error
	Entries(ctx context.Context, user string) (map[string][]byte, error)
	DeleteEntries(ctx context.Context, user string, fields ...string) error
}

// refStore is a server-side store's access to a session by its reference.
type refStore interface {
	LoadRef(ctx context.Context, ref string) (*session.Session, error)
	DeleteRef(ctx context.Context, ref string) error
	Live(ctx context.Context, refs []string) ([]bool, error)
}

// entry is what the registry keeps of a session, sealed under its
// reference; its last request (":l") and device (":d") are fields beside
// it, written without reading it.
type entry struct {
	Created int64    `json:"c"`           // Unix ms
	Expires int64    `json:"x"`           // Unix ms: its absolute timeout
	Refresh string   `json:"r,omitempty"` // a cookie session's refresh token, revoked when it is ended from elsewhere
	Keys    []string `json:"k,omitempty"` // a cookie session's deny-list keys
	Email   string   `json:"e,omitempty"` // its user's verified email, lower case: who an email subject names
}

const (
	lastSeenField = ":l"
	deviceField   = ":d"
	maxDevice     = 200
)

func (a *Auth) bindRegistry() {
	plumbing := seam.Of(a.cfg.Store)
	switch {
	case plumbing != nil && a.shared != nil:
		a.reg, _ = plumbing.(registry)
		a.refs, _ = plumbing.(refStore)
	case a.cfg.DenyList != nil:
		a.reg, _ = seam.Of(a.cfg.DenyList).(registry)
	}
	if a.reg == nil {
		a.reg = &memoryRegistry{now: a.cfg.Now, m: map[string]*memoryEntries{}}
	}
}

func (a *Auth) entryAAD(ref string) []byte {
	return []byte("confidant session entry\x00" + a.appID() + "\x00" + ref)
}

// record writes s's entry: at sign-in (fresh, with the device), after a
// refresh of a cookie session (its new refresh token), and for a session
// this process's lists lost.
func (a *Auth) record(ctx context.Context, s *session.Session, device string, fresh bool) error {
	ref := sesskeys.Ref(s.ID)
	created := s.CreatedAt
	if created.IsZero() {
		created = a.cfg.Now() // a new session, which the store dates as it saves it: now
	}
	e := entry{Created: created.UnixMilli(), Expires: a.expiresOf(created).UnixMilli()}
	if s.Email != "" && s.EmailVerified {
		e.Email = strings.ToLower(s.Email)
	}
	if a.refs == nil {
		e.Refresh = s.RefreshToken
		for _, k := range sessionPlumbing.DenyKeys(s) {
			if !strings.HasPrefix(k, "id\x00") && !strings.HasPrefix(k, "ref\x00") {
				e.Keys = append(e.Keys, k)
			}
		}
	}
	b, _ := json.Marshal(e)
	user := sesskeys.User(s.Provider, s.Subject)
	if err := a.reg.PutEntry(ctx, user, ref, a.flows.SealBytes(b, a.entryAAD(ref)), a.denyTTL); err != nil {
		return err
	}
	// Who has a session under the other names a security event may give:
	// a verified email, a provider session.
	if s.Email != "" && s.EmailVerified {
		if err := a.reg.PutEntry(ctx, sesskeys.Email(s.Provider, s.Email), s.Subject, []byte{1}, a.denyTTL); err != nil {
			return err
		}
	}
	if s.SID != "" {
		if err := a.reg.PutEntry(ctx, sesskeys.SID(s.Issuer, s.SID), s.Subject, []byte{1}, a.denyTTL); err != nil {
			return err
		}
	}
	if device != "" {
		if err := a.reg.PutEntry(ctx, user, ref+deviceField, []byte(device), a.denyTTL); err != nil {
			return err
		}
	}
	if !fresh {
		return nil
	}
	// At each sign-in, the entries of the user's sessions that ended go,
	// and the oldest beyond maxListed: the list does not grow with time.
	ls, err := a.listed(ctx, user)
	if err == nil {
		ls, err = a.live(ctx, user, ls)
	}
	if err != nil || len(ls) <= maxListed {
		return err
	}
	slices.SortFunc(ls, func(x, y listed) int { return cmp.Compare(y.e.Created, x.e.Created) })
	var drop []string
	for _, l := range ls[maxListed:] {
		drop = append(drop, l.ref, l.ref+lastSeenField, l.ref+deviceField)
	}
	return a.reg.DeleteEntries(ctx, user, drop...)
}

// maxListed bounds the sessions listed per user: the newest.
const maxListed = 100

// learn puts s in this process's lists if they do not hold it (a session
// made before a restart emptied them): Shared Signals acts only on users
// the lists know of.
func (a *Auth) learn(ctx context.Context, s *session.Session) {
	m, ok := a.reg.(*memoryRegistry)
	if !ok || m.has(sesskeys.User(s.Provider, s.Subject), sesskeys.Ref(s.ID)) {
		return
	}
	a.record(ctx, s, "", false)
}

// seen writes when s made its last request (with the idle timeout's
// touch, not at every request).
func (a *Auth) seen(ctx context.Context, s *session.Session, at time.Time) {
	err := a.reg.PutEntry(ctx, sesskeys.User(s.Provider, s.Subject), sesskeys.Ref(s.ID)+lastSeenField,
		[]byte(strconv.FormatInt(at.UnixMilli(), 10)), a.denyTTL)
	if err != nil {
		a.emit(ctx, event.Event{Kind: event.Rejected, Session: sessionRef(s), Err: fmt.Errorf("%w: the session list: %w", fail.SessionStore, err)})
	}
}

// unrecord removes s's entry (signed out).
func (a *Auth) unrecord(ctx context.Context, s *session.Session) error {
	ref := sesskeys.Ref(s.ID)
	return a.reg.DeleteEntries(ctx, sesskeys.User(s.Provider, s.Subject), ref, ref+lastSeenField, ref+deviceField)
}

// expiresOf is when a session made at created ends at the latest: its
// store's absolute timeout.
func (a *Auth) expiresOf(created time.Time) time.Time {
	if a.timeouts != nil && a.timeouts.Absolute > 0 {
		return created.Add(a.timeouts.Absolute)
	}
	return created.Add(a.denyTTL)
}

// device is the User-Agent as a list of sessions shows it.
func device(ua string) string {
	ua = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, ua)
	if len(ua) > maxDevice {
		ua = ua[:maxDevice]
		for !utf8Valid(ua) {
			ua = ua[:len(ua)-1]
		}
	}
	return ua
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// listedUnder are the fields the lists hold under key: a user's
// sessions' (their references), or the subjects with a session under an
// email or a provider session.
func (a *Auth) listedUnder(ctx context.Context, key string) ([]string, error) {
	m, err := a.reg.Entries(ctx, key)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(m))
	for f := range m {
		out = append(out, f)
	}
	slices.Sort(out)
	return out, nil
}

// subjectsOf are the users at provider that a verified email names now:
// those with a live listed session whose ID token gave it (not a former
// owner of the address).
func (a *Auth) subjectsOf(ctx context.Context, provider, email string) ([]string, error) {
	candidates, err := a.listedUnder(ctx, sesskeys.Email(provider, email))
	if err != nil {
		return nil, err
	}
	email = strings.ToLower(email)
	var out []string
	for _, sub := range candidates {
		user := sesskeys.User(provider, sub)
		ls, err := a.listed(ctx, user)
		if err == nil {
			ls, err = a.live(ctx, user, ls)
		}
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(ls, func(l listed) bool { return l.e.Email == email }) {
			out = append(out, sub)
		}
	}
	return out, nil
}

// listsShared reports whether the lists know of every session of the
// app, on every instance: kept in the Redis of redisstore's Store or
// DenyList, or in the memory of the one process with a MemoryDenyList
// (and never full).
func (a *Auth) listsShared() bool {
	if m, ok := a.reg.(*memoryRegistry); ok {
		_, mem := a.cfg.DenyList.(*session.MemoryDenyList)
		return mem && !m.lossy.Load()
	}
	return true
}

// listed is one session as the registry holds it.
type listed struct {
	ref      string
	e        entry
	lastSeen time.Time
	device   string
}

// listed reads the entries of user: those that open (sealed by this app),
// in no order.
func (a *Auth) listed(ctx context.Context, user string) ([]listed, error) {
	m, err := a.reg.Entries(ctx, user)
	if err != nil {
		return nil, err
	}
	var out []listed
	for f, v := range m {
		if strings.Contains(f, ":") {
			continue
		}
		e, ok := a.openEntry(f, v)
		if !ok {
			continue // another app's, or sealed under a key retired since
		}
		l := listed{ref: f, e: e, lastSeen: time.UnixMilli(e.Created), device: string(m[f+deviceField])}
		if ms, err := strconv.ParseInt(string(m[f+lastSeenField]), 10, 64); err == nil && ms > e.Created {
			l.lastSeen = time.UnixMilli(ms)
		}
		out = append(out, l)
	}
	return out, nil
}

// openEntry opens the entry sealed in v under ref, or finds it opened
// before: every sign-in reads the user's whole list (up to maxListed) to
// prune it, and an entry never changes once written.
func (a *Auth) openEntry(ref string, v []byte) (entry, bool) {
	key := ref + "\x00" + string(v) // the seal binds the entry to its reference
	if e, ok := a.entries.get(key); ok {
		return e, true
	}
	plain, err := a.flows.OpenBytes(string(v), a.entryAAD(ref))
	var e entry
	if err != nil || json.Unmarshal(plain, &e) != nil {
		return entry{}, false
	}
	a.entries.put(key, e)
	return e, true
}

// entryCache holds the entries opened last (a ring of maxEntryCache): a
// map lookup instead of a decryption and a JSON decoding.
type entryCache struct {
	mu   sync.Mutex
	m    map[string]entry
	ring []string
	next int
}

const maxEntryCache = 2048

func (c *entryCache) get(key string) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	return e, ok
}

func (c *entryCache) put(key string, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]entry)
	}
	if _, ok := c.m[key]; ok {
		return
	}
	if len(c.ring) < maxEntryCache {
		c.ring = append(c.ring, key)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = key
		c.next = (c.next + 1) % maxEntryCache
	}
	c.m[key] = e
}

// live keeps the sessions of ls that have not ended (expired, deleted
// from a server-side store, or denied), and removes the others' entries.
func (a *Auth) live(ctx context.Context, user string, ls []listed) ([]listed, error) {
	now := a.cfg.Now()
	var dead []string
	keep := ls[:0:0]
	alive := make([]bool, len(ls))
	switch {
	case a.refs != nil:
		refs := make([]string, len(ls))
		for i, l := range ls {
			refs[i] = l.ref
		}
		var err error
		if alive, err = a.refs.Live(ctx, refs); err != nil {
			return nil, err
		}
	case a.cfg.DenyList == nil:
		// A server-side store of the app's own: what ended there is not
		// known here.
		for i := range alive {
			alive[i] = true
		}
	default:
		var keys []string
		for _, l := range ls {
			keys = append(append(keys, l.e.Keys...), sesskeys.RefKey(l.ref))
		}
		var at []time.Time
		if each, ok := seam.Of(a.cfg.DenyList).(eachDenied); ok {
			var err error
			if at, err = each.DeniedEach(ctx, keys); err != nil {
				return nil, err
			}
		} else {
			for _, k := range keys {
				t, err := a.cfg.DenyList.DeniedAt(ctx, k)
				if err != nil {
					return nil, err
				}
				at = append(at, t)
			}
		}
		i := 0
		for j, l := range ls {
			n := len(l.e.Keys) + 1
			created := time.UnixMilli(l.e.Created)
			alive[j] = !slices.ContainsFunc(at[i:i+n], func(t time.Time) bool { return !t.IsZero() && !created.After(t) })
			i += n
		}
	}
	var idle time.Duration
	if a.refs == nil && a.timeouts != nil {
		idle = a.timeouts.Idle // a server-side store's sessions expire there (Live)
	}
	for i, l := range ls {
		if !alive[i] || now.After(time.UnixMilli(l.e.Expires)) || (idle > 0 && now.Sub(l.lastSeen) > idle) {
			dead = append(dead, l.ref, l.ref+lastSeenField, l.ref+deviceField)
			continue
		}
		keep = append(keep, l)
	}
	if len(dead) > 0 {
		a.reg.DeleteEntries(ctx, user, dead...) // tidying: a failure leaves them to expire
	}
	return keep, nil
}

// Sessions lists the active sessions of the request's user with the
// request's provider, on every instance (one per sign-in, each browser's):
// the current one first, then the most recently seen. It needs a request
// that Require or Optional found signed in (else ErrNotSignedIn). With
// redisstore's Store, or with cookie sessions and redisstore's DenyList,
// every instance sees the same list; otherwise the sessions made by this
// process.
func (a *Auth) Sessions(r *http.Request) ([]UserSession, error) {
	s := requestSession(r)
	if s == nil {
		return nil, fmt.Errorf("%w: Sessions needs a signed-in request (Require or Optional)", fail.NotSignedIn)
	}
	user := sesskeys.User(s.Provider, s.Subject)
	ls, err := a.listed(r.Context(), user)
	if err == nil {
		ls, err = a.live(r.Context(), user, ls)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	cur := sesskeys.Ref(s.ID)
	out := make([]UserSession, 0, len(ls)+1)
	found := false
	for _, l := range ls {
		out = append(out, UserSession{ID: l.ref, Created: time.UnixMilli(l.e.Created), LastSeen: l.lastSeen, Device: l.device, Current: l.ref == cur})
		found = found || l.ref == cur
	}
	if !found {
		// Made before the list was kept (or its entry lost): it is live.
		out = append(out, UserSession{ID: cur, Created: s.CreatedAt, LastSeen: s.LastSeen, Current: true})
	}
	slices.SortFunc(out, func(x, y UserSession) int {
		if x.Current != y.Current {
			if x.Current {
				return -1
			}
			return 1
		}
		return cmp.Or(y.LastSeen.Compare(x.LastSeen), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// requestSession is the session of a request that Require or Optional
// found signed in.
func requestSession(r *http.Request) *session.Session {
	if st, ok := r.Context().Value(ctxKey{}).(*reqSession); ok {
		return st.current()
	}
	return nil
}

// EndSession ends one of the request user's sessions, id being a
// UserSession's ID from Sessions, on every instance: a server-side
// store's is deleted, a cookie session's is denied through
// Config.DenyList; its refresh token is revoked. An ID that names no
// session of the user is an error wrapping ErrBadRequest. Ending the
// request's own session signs the browser out at its next request (the
// logout route also clears its cookie).
func (a *Auth) EndSession(r *http.Request, id string) error {
	s := requestSession(r)
	if s == nil {
		return fmt.Errorf("%w: EndSession needs a signed-in request (Require or Optional)", fail.NotSignedIn)
	}
	ctx := r.Context()
	user := sesskeys.User(s.Provider, s.Subject)
	ls, err := a.listed(ctx, user)
	if err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	i := slices.IndexFunc(ls, func(l listed) bool { return l.ref == id })
	if i < 0 && id != sesskeys.Ref(s.ID) {
		return fmt.Errorf("%w: no session %q of this user", fail.BadRequest, id)
	}
	var rt string
	if i >= 0 {
		rt = ls[i].e.Refresh
	}
	if a.refs != nil {
		if sess, err := a.refs.LoadRef(ctx, id); err == nil {
			rt = sess.RefreshToken
		} else if !errors.Is(err, session.ErrNoSession) {
			return fmt.Errorf("%w: %w", fail.SessionStore, err)
		}
		if err := a.refs.DeleteRef(ctx, id); err != nil {
			return fmt.Errorf("%w: %w", fail.SessionStore, err)
		}
	} else if a.cfg.DenyList == nil {
		return fmt.Errorf("%w: EndSession needs a store of this module's (this Store is a server-side store of the app's own)", fail.MiddlewareConfig)
	} else if err := a.cfg.DenyList.Deny(ctx, sesskeys.RefKey(id), denyAll, a.denyTTL); err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if id == sesskeys.Ref(s.ID) {
		rt = s.RefreshToken
		a.refresher.forget(s.ID)
	}
	a.revokeRefresh(ctx, s.Provider, rt)
	a.reg.DeleteEntries(ctx, user, id, id+lastSeenField, id+deviceField)
	a.emit(ctx, event.Event{Kind: event.Logout, Provider: s.Provider, Session: sessionRef(s), Attrs: []slog.Attr{slog.String("ended", "one of the user's sessions")}})
	return nil
}

// listedSessions is what ending subject's listed sessions needs: their
// refresh tokens, read before they end (a server-side store's are in the
// sessions) and revoked after, and the fields of the list they hold
// (revokeListed).
type listedSessions struct {
	tokens []string
	fields []string
}

func (a *Auth) listedTokens(ctx context.Context, provider, subject string) (listedSessions, error) {
	ls, err := a.listed(ctx, sesskeys.User(provider, subject))
	if err != nil {
		return listedSessions{}, err
	}
	var out listedSessions
	for _, l := range ls {
		rt := l.e.Refresh
		if a.refs != nil {
			if sess, err := a.refs.LoadRef(ctx, l.ref); err == nil {
				rt = sess.RefreshToken
			}
		}
		if rt != "" {
			out.tokens = append(out.tokens, rt)
		}
		out.fields = append(out.fields, l.ref, l.ref+lastSeenField, l.ref+deviceField)
	}
	slices.Sort(out.tokens)
	out.tokens = slices.Compact(out.tokens)
	return out, nil
}

// revokeTokens revokes the refresh tokens of ls at provider and removes
// their entries from subject's list: only theirs (a session made
// meanwhile stays listed).
func (a *Auth) revokeTokens(ctx context.Context, provider, subject string, ls listedSessions) error {
	for _, rt := range ls.tokens {
		a.revokeRefresh(ctx, provider, rt)
	}
	if len(ls.fields) == 0 {
		return nil
	}
	return a.reg.DeleteEntries(ctx, sesskeys.User(provider, subject), ls.fields...)
}

// revokeRefresh revokes rt at provider; a failure is reported, not
// returned (the session has ended already).
func (a *Auth) revokeRefresh(ctx context.Context, provider, rt string) {
	c := a.byName[provider]
	if c == nil && len(a.clients) == 1 && provider == "" {
		c = a.clients[0]
	}
	if c == nil || rt == "" {
		return
	}
	if err := c.Revoke(ctx, &oauth2.Token{RefreshToken: rt}); err != nil && !errors.Is(err, fail.NotSupported) {
		a.emit(ctx, event.Event{Kind: event.Logout, Provider: provider, Err: err, Attrs: []slog.Attr{slog.Bool("revoked", false)}})
	}
}

// memoryRegistry is the registry of one process.
type memoryRegistry struct {
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]*memoryEntries
	lossy atomic.Bool // it was full once: it may not know of every session
}

type memoryEntries struct {
	until  time.Time
	fields map[string][]byte
}

// maxMemoryUsers bounds the users the memory registry keeps lists for;
// expired ones make room, and past it new lists are not kept (Sessions
// then shows the current session alone).
const maxMemoryUsers = 100000

func (g *memoryRegistry) PutEntry(ctx context.Context, user, field string, value []byte, ttl time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	e := g.m[user]
	if e == nil || now.After(e.until) {
		if len(g.m) >= maxMemoryUsers {
			for k, v := range g.m {
				if now.After(v.until) {
					delete(g.m, k)
				}
			}
			if len(g.m) >= maxMemoryUsers {
				g.lossy.Store(true)
				return nil
			}
		}
		e = &memoryEntries{fields: map[string][]byte{}}
		g.m[user] = e
	}
	e.fields[field] = slices.Clone(value)
	e.until = now.Add(ttl)
	return nil
}

// has reports whether user's list holds field.
func (g *memoryRegistry) has(user, field string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.m[user]
	return e != nil && e.fields[field] != nil && !g.now().After(e.until)
}

func (g *memoryRegistry) Entries(ctx context.Context, user string) (map[string][]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string][]byte{}
	if e := g.m[user]; e != nil && !g.now().After(e.until) {
		for k, v := range e.fields {
			out[k] = v
		}
	}
	return out, nil
}

func (g *memoryRegistry) DeleteEntries(ctx context.Context, user string, fields ...string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(fields) == 0 {
		delete(g.m, user)
		return nil
	}
	if e := g.m[user]; e != nil {
		for _, f := range fields {
			delete(e.fields, f)
		}
	}
	return nil
}
