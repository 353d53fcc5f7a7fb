package session

import (
	"context"
	"errors"
	"time"
)

// SharedStore is a Store whose sessions live on a server shared by all app
// instances. The middleware uses it to refresh one instance at a time and
// to end sessions from elsewhere (back-channel logout).
type SharedStore interface {
	Store
	// LoadID loads session id (ErrNoSession when gone).
	LoadID(ctx context.Context, id string) (*Session, error)
	// Update writes s if the stored version is still s.Version and returns
	// the stored copy with its new version; ErrConflict otherwise (also
	// when the session was deleted meanwhile).
	Update(ctx context.Context, s *Session) (*Session, error)
	// Lock takes session id's refresh lock, waiting while another holder
	// has it (bounded by ctx), and keeps it until unlock is called. held
	// is done, with cause ErrLockLost, if the lease was lost meanwhile
	// (the holder must not start a refresh then).
	Lock(ctx context.Context, id string) (held context.Context, unlock func(), err error)
	// Touch rolls s's idle timeout without writing s: it never makes a
	// concurrent Update fail.
	Touch(ctx context.Context, s *Session) error
	// EndSessions deletes every session indexed under the keys (keys that
	// IndexKeys gave for the sessions) and reports how many there were.
	EndSessions(ctx context.Context, keys ...string) (int, error)
}

// ErrLockLost is the cause of a refresh lock's context when its lease was
// lost: another instance may hold the lock now.
var ErrLockLost = errors.New("session: refresh lock lost")

// ReplayCache remembers one-time values (a logout token's jti) so that each
// is accepted once; redisstore.Store and redisstore.DenyList share it between app
// instances.
type ReplayCache interface {
	// FirstUse records key for ttl and reports whether it was new.
	FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Forget removes key, so that its next FirstUse is new again: the use
	// it recorded failed (a back-channel logout whose sessions could not
	// be ended is retried by the provider with the same jti).
	Forget(ctx context.Context, key string) error
}

// RefreshCoordinator lets app instances that keep sessions in cookies
// refresh each session once across all of them, through a server they
// share (redisstore.DenyList is one): with a provider that rotates refresh
// tokens, two instances refreshing the same cookie at once would present
// the same refresh token twice, which the provider takes for a stolen
// token and answers by revoking the grant. The middleware uses it when
// Config.DenyList implements it and the Store is not a SharedStore.
type RefreshCoordinator interface {
	// Lock is SharedStore.Lock: one holder of session id's refresh lock
	// at a time across instances.
	Lock(ctx context.Context, id string) (held context.Context, unlock func(), err error)
	// Result returns the newest refresh result recorded for session id
	// (nil when none): sealed by the middleware, opaque here.
	Result(ctx context.Context, id string) ([]byte, error)
	// SetResult records session id's newest refresh result for ttl.
	SetResult(ctx context.Context, id string, sealed []byte, ttl time.Duration) error
}
