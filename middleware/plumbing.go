package middleware

import (
	"context"
	"net/url"
	"time"

	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/session"
)

// What the middleware asks of the stores beyond session.Store, found
// through internal/seam at New (a store of the app's own has none of it:
// the middleware does without). The stores of this module keep it
// unexported: no app calls it.

// originBinder is a store whose cookie attributes follow the app's origin,
// and whose sealed sessions are bound to the app (session.CookieStore,
// redisstore.Store).
type originBinder interface {
	BindOrigin(origin *url.URL, app string) (seam.CookiePolicy, error)
}

// timed is a store that enforces Timeouts when it loads a session: the
// middleware saves a session again now and then to roll its idle timeout,
// and keeps deny-list entries for as long as Absolute.
type timed interface {
	Timeouts() session.Timeouts
}

// sharedStore is a store whose sessions live on a server shared by all app
// instances (redisstore.Store): a refresh takes the session's lock there
// and writes with compare-and-swap, a request rolls the idle timeout with
// Touch, and back-channel logout ends sessions through their index.
type sharedStore interface {
	LoadID(ctx context.Context, id string) (*session.Session, error)
	Update(ctx context.Context, s *session.Session) (*session.Session, error)
	Lock(ctx context.Context, id string) (held context.Context, unlock func(), err error)
	Touch(ctx context.Context, s *session.Session) error
	EndSessions(ctx context.Context, keys ...string) (int, error)
}

// replayCache remembers one-time values (a logout token's jti) so that each
// is accepted once; redisstore.Store and redisstore.DenyList share it
// between app instances (jtiCache keeps it in this one otherwise).
type replayCache interface {
	// FirstUse records key for ttl and reports whether it was new.
	FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Forget removes key: the use it recorded failed, and the provider's
	// retry of the same token must be accepted.
	Forget(ctx context.Context, key string) error
	// Seen reports whether key is recorded, without recording it.
	Seen(ctx context.Context, key string) (bool, error)
}

// refreshCoordinator lets app instances that keep sessions in cookies
// refresh each session once across all of them, through a server they
// share (redisstore.DenyList): with a provider that rotates refresh
// tokens, two instances refreshing the same cookie at once would present
// the same refresh token twice, which the provider takes for a stolen
// token and answers by revoking the grant. Used when Config.DenyList has
// one and the Store is not a sharedStore.
type refreshCoordinator interface {
	// Lock is sharedStore.Lock: one holder of session id's refresh lock
	// at a time across instances.
	Lock(ctx context.Context, id string) (held context.Context, unlock func(), err error)
	// Result returns the newest refresh result recorded for session id
	// (nil when none): sealed by the coordinator, opaque to the store.
	Result(ctx context.Context, id string) ([]byte, error)
	// SetResult records session id's newest refresh result for ttl.
	SetResult(ctx context.Context, id string, sealed []byte, ttl time.Duration) error
}

// pinger is a store that can tell whether its server is reachable
// (redisstore.Store).
type pinger interface {
	Ping(ctx context.Context) error
}

// sessionCodec is package session's plumbing for sessions.
type sessionCodec interface {
	Marshal(s *session.Session) []byte
	Unmarshal(b []byte) (*session.Session, error)
	DenyKeys(s *session.Session) []string
	MemoryDenyList(now func() time.Time) *session.MemoryDenyList
}

var sessionPlumbing = seam.Of((*session.Session)(nil)).(sessionCodec)

// authPlumbing is an Auth as confidanttest drives it: SignedIn mints a
// session in the app's store, for the app's provider.
type authPlumbing Auth

func init() {
	seam.Register(func(v any) (any, bool) {
		a, ok := v.(*Auth)
		return (*authPlumbing)(a), ok
	})
}

// Store is the Auth's session store.
func (p *authPlumbing) Store() session.Store { return p.cfg.Store }

// ProviderName is the name of the Auth's default provider.
func (p *authPlumbing) ProviderName() string { return p.clients[0].Provider().Name() }
