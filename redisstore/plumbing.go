package redisstore

import (
	"context"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/session"
)

// What the middleware drives and users do not call (a Store's lock, CAS
// writes, indexes and replay cache; a DenyList's replay cache and refresh
// coordination) is reached through internal/seam, not exported: seam.Of
// gives a *Store's plumbing and a *DenyList's.
func init() {
	seam.Register(func(v any) (any, bool) {
		switch v := v.(type) {
		case *Store:
			return (*plumbing)(v), true
		case *DenyList:
			return (*denyPlumbing)(v), true
		}
		return nil, false
	})
}

// sessionCodec is package session's plumbing for sessions (internal/seam).
type sessionCodec interface {
	Marshal(s *session.Session) []byte
	Unmarshal(b []byte) (*session.Session, error)
	IndexKeys(s *session.Session) []string
	Version(s *session.Session) uint64
	SetVersion(s *session.Session, v uint64)
	Expired(t session.Timeouts, s *session.Session, now time.Time) bool
	WithDefaults(t session.Timeouts) session.Timeouts
}

var codec = seam.Of((*session.Session)(nil)).(sessionCodec)

// plumbing is a Store's plumbing: a server shared by all app instances,
// through which the middleware refreshes a session on one instance at a
// time and ends sessions from elsewhere (back-channel logout).
type plumbing Store

// BindOrigin binds the store to the app's origin and to app (the
// middleware's origin and client IDs) before it serves, as a
// session.CookieStore is bound: cookie attributes follow the origin, and
// the sessions it seals are bound to app.
func (p *plumbing) BindOrigin(origin *url.URL, app string) (seam.CookiePolicy, error) {
	return (*Store)(p).bindOrigin(origin, app)
}

// Timeouts are the store's, enforced on load.
func (p *plumbing) Timeouts() session.Timeouts { return p.cfg.Timeouts }

// LoadID loads session id (session.ErrNoSession when gone).
func (p *plumbing) LoadID(ctx context.Context, id string) (*session.Session, error) {
	return (*Store)(p).loadID(ctx, id)
}

// Update writes s if the stored version is still the one s was loaded at
// and returns the stored copy with its new version; session.ErrConflict
// otherwise (also when the session was deleted meanwhile).
func (p *plumbing) Update(ctx context.Context, s *session.Session) (*session.Session, error) {
	return (*Store)(p).update(ctx, s)
}

// Lock takes session id's refresh lock, waiting while another holder has
// it (bounded by ctx), and keeps it until unlock is called. held is done,
// with cause fail.LockLost, if the lease was lost meanwhile (the holder
// must not start a refresh then).
func (p *plumbing) Lock(ctx context.Context, id string) (held context.Context, unlock func(), err error) {
	return (*Store)(p).lock(ctx, id)
}

// Touch rolls s's idle timeout without writing s: it never makes a
// concurrent Update fail.
func (p *plumbing) Touch(ctx context.Context, s *session.Session) error {
	return (*Store)(p).touch(ctx, s)
}

// EndSessions deletes every session indexed under the keys (the keys of
// internal/sesskeys: a user at a provider, a provider session) and
// reports how many there were.
func (p *plumbing) EndSessions(ctx context.Context, keys ...string) (int, error) {
	return (*Store)(p).endSessions(ctx, keys...)
}

// FirstUse records key (a logout token's jti) for ttl and reports whether
// it was new, in Redis: shared by the app's instances.
func (p *plumbing) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return (*Store)(p).firstUse(ctx, key, ttl)
}

// Forget removes key, so that its next FirstUse is new again: the use it
// recorded failed (a back-channel logout whose sessions could not be ended
// is retried by the provider with the same jti).
func (p *plumbing) Forget(ctx context.Context, key string) error {
	return (*Store)(p).forget(ctx, key)
}

// Seen reports whether key is recorded (FirstUse), without recording it.
func (p *plumbing) Seen(ctx context.Context, key string) (bool, error) {
	return (*Store)(p).seen(ctx, key)
}

// Ping reports whether Redis answers (Auth.Ready).
func (p *plumbing) Ping(ctx context.Context) error { return (*Store)(p).ping(ctx) }

// PutEntry, Entries and DeleteEntries keep what lists a user's sessions
// (the middleware's, sealed), beside the sessions.
func (p *plumbing) PutEntry(ctx context.Context, user, field string, value []byte, ttl time.Duration) error {
	return p.registry().put(ctx, user, field, value, ttl)
}

func (p *plumbing) Entries(ctx context.Context, user string) (map[string][]byte, error) {
	return p.registry().entries(ctx, user)
}

func (p *plumbing) DeleteEntries(ctx context.Context, user string, fields ...string) error {
	return p.registry().remove(ctx, user, fields...)
}

func (p *plumbing) registry() registry { return registry{c: p.cfg.Client, prefix: p.cfg.Prefix} }

// LoadRef loads the session whose ID hashes to ref (sesskeys.Ref).
func (p *plumbing) LoadRef(ctx context.Context, ref string) (*session.Session, error) {
	return (*Store)(p).loadHashed(ctx, ref)
}

// DeleteRef deletes the session whose ID hashes to ref.
func (p *plumbing) DeleteRef(ctx context.Context, ref string) error {
	return (*Store)(p).deleteHashed(ctx, ref)
}

// Live reports which of the sessions refs name still exist.
func (p *plumbing) Live(ctx context.Context, refs []string) ([]bool, error) {
	s := (*Store)(p)
	ctx, cancel := s.op(ctx)
	defer cancel()
	pipe := s.cfg.Client.Pipeline()
	cmds := make([]*redis.IntCmd, len(refs))
	for i, ref := range refs {
		cmds[i] = pipe.Exists(ctx, s.hashedKey(ref))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.failed(err)
	}
	out := make([]bool, len(refs))
	for i, c := range cmds {
		out[i] = c.Val() == 1
	}
	return out, nil
}

// EndSessionsOf ends the sessions indexed under key whose user is
// subject at provider (a provider session named with its user).
func (p *plumbing) EndSessionsOf(ctx context.Context, key, provider, subject string) (int, error) {
	return (*Store)(p).endSessionsOf(ctx, key, provider, subject)
}

// Marks is a DenyList beside the sessions, in the same Redis, for marks
// that every instance reads at a session's next request (Shared Signals:
// claims to renew, a new authentication to ask for).
func (p *plumbing) Marks() session.DenyList {
	return &DenyList{Client: p.cfg.Client, Prefix: p.cfg.Prefix + "m:"}
}

// denyPlumbing is a DenyList's plumbing: the replay cache of app instances
// on cookie sessions, and their refresh coordination.
type denyPlumbing DenyList

// FirstUse is plumbing.FirstUse, under the deny list's prefix.
// PutEntry, Entries and DeleteEntries keep what lists a user's cookie
// sessions (the middleware's, sealed), beside the deny list.
func (p *denyPlumbing) PutEntry(ctx context.Context, user, field string, value []byte, ttl time.Duration) error {
	return p.registry().put(ctx, user, field, value, ttl)
}

func (p *denyPlumbing) Entries(ctx context.Context, user string) (map[string][]byte, error) {
	return p.registry().entries(ctx, user)
}

func (p *denyPlumbing) DeleteEntries(ctx context.Context, user string, fields ...string) error {
	return p.registry().remove(ctx, user, fields...)
}

func (p *denyPlumbing) registry() registry {
	prefix := p.Prefix
	if prefix == "" {
		prefix = "confidant:deny:"
	}
	return registry{c: p.Client, prefix: prefix}
}

// DeniedEach is the time recorded for each of keys (zero: none), in one
// round trip: a request's deny-list keys and its marks at once.
func (p *denyPlumbing) DeniedEach(ctx context.Context, keys []string) ([]time.Time, error) {
	return (*DenyList)(p).deniedEach(ctx, keys)
}

func (p *denyPlumbing) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return (*DenyList)(p).firstUse(ctx, key, ttl)
}

// Seen is plumbing.Seen, under the deny list's prefix.
func (p *denyPlumbing) Seen(ctx context.Context, key string) (bool, error) {
	return (*DenyList)(p).seen(ctx, key)
}

// Forget is plumbing.Forget, under the deny list's prefix.
func (p *denyPlumbing) Forget(ctx context.Context, key string) error {
	return (*DenyList)(p).forget(ctx, key)
}

// Lock is plumbing.Lock, for cookie sessions: one holder of session id's
// refresh lock at a time across instances.
func (p *denyPlumbing) Lock(ctx context.Context, id string) (held context.Context, unlock func(), err error) {
	return (*DenyList)(p).lock(ctx, id)
}

// Result returns the newest refresh result recorded for session id (nil
// when none): sealed by the middleware, opaque here.
func (p *denyPlumbing) Result(ctx context.Context, id string) ([]byte, error) {
	return (*DenyList)(p).result(ctx, id)
}

// SetResult records session id's newest refresh result for ttl.
func (p *denyPlumbing) SetResult(ctx context.Context, id string, sealed []byte, ttl time.Duration) error {
	return (*DenyList)(p).setResult(ctx, id, sealed, ttl)
}

// Grant returns the sealed grant of user (a reference the middleware
// derives from the user's provider and subject) for api, nil when none.
func (p *plumbing) Grant(ctx context.Context, user, api string) ([]byte, error) {
	return (*Store)(p).grantGet(ctx, user, api)
}

// Grants lists the APIs user has a grant for.
func (p *plumbing) Grants(ctx context.Context, user string) ([]string, error) {
	return (*Store)(p).grantList(ctx, user)
}

// SwapGrant replaces user's grant for api with sealed (nil deletes it) if
// it is still old (nil: if there is none), and reports whether it did.
func (p *plumbing) SwapGrant(ctx context.Context, user, api string, old, sealed []byte) (bool, error) {
	return (*Store)(p).grantSwap(ctx, user, api, old, sealed)
}

// Grant is plumbing.Grant, under the deny list's prefix.
func (p *denyPlumbing) Grant(ctx context.Context, user, api string) ([]byte, error) {
	return (*DenyList)(p).grantGet(ctx, user, api)
}

// Grants is plumbing.Grants, under the deny list's prefix.
func (p *denyPlumbing) Grants(ctx context.Context, user string) ([]string, error) {
	return (*DenyList)(p).grantList(ctx, user)
}

// SwapGrant is plumbing.SwapGrant, under the deny list's prefix.
func (p *denyPlumbing) SwapGrant(ctx context.Context, user, api string, old, sealed []byte) (bool, error) {
	return (*DenyList)(p).grantSwap(ctx, user, api, old, sealed)
}

// SetGrant writes user's grant for api, whatever it held (the holder of
// its lock, which read it before).
func (p *plumbing) SetGrant(ctx context.Context, user, api string, sealed []byte) error {
	return (*Store)(p).grantSet(ctx, user, api, sealed)
}

// SetGrant is plumbing.SetGrant, under the deny list's prefix.
func (p *denyPlumbing) SetGrant(ctx context.Context, user, api string, sealed []byte) error {
	return (*DenyList)(p).grantSet(ctx, user, api, sealed)
}
