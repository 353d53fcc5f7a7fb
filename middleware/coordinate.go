package middleware

import (
	"context"
	"fmt"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/seal"
	"github.com/confidant-go/confidant/session"
)

// coordinator is how cookie sessions refresh once across app instances:
// through a refreshCoordinator that every instance shares (Redis's
// deny list), the newest refresh result of each session is kept, sealed
// for this use alone, so that a request that still carries the cookie from
// before a refresh, on any instance, starts from the rotated tokens instead
// of presenting a rotated-away refresh token.
type coordinator struct {
	shared refreshCoordinator
	cipher *seal.Cipher
	app    string // Auth.appID: results are bound to the app too
}

// resultTTL is how long a session's newest refresh result is kept for
// requests that carry an older cookie: those in flight when it was made,
// and tabs that had not seen its cookie yet.
const resultTTL = 10 * time.Minute

func (co *coordinator) aad(id string) []byte {
	return []byte("confidant/refresh-result/" + id + "\x00" + co.app)
}

// result is the newest refresh result recorded for session id, or nil.
func (co *coordinator) result(ctx context.Context, id string) (*session.Session, error) {
	b, err := co.shared.Result(ctx, id)
	if err != nil || b == nil {
		return nil, err
	}
	plain, err := co.cipher.OpenBytes(string(b), co.aad(id))
	if err != nil {
		return nil, nil // sealed with a retired key: as if none
	}
	s, err := sessionPlumbing.Unmarshal(plain)
	if err != nil || s.ID != id {
		return nil, nil
	}
	return s, nil
}

// record stores ns as its session's newest result. The provider has
// rotated the refresh token already, so a store that is unavailable is
// tried again until ctx ends.
func (co *coordinator) record(ctx context.Context, ns *session.Session, ttl time.Duration) error {
	sealed := co.cipher.SealBytes(sessionPlumbing.Marshal(ns), co.aad(ns.ID))
	return untilAvailable(ctx, func() error { return co.shared.SetResult(ctx, ns.ID, sealed, ttl) })
}

// coordinated is once for cookie sessions with a coordinator: under the
// session's lock across instances, it starts from the newest result any
// instance recorded (and makes no token request when that one is not due),
// and records its own result before releasing the lock.
func (rf *refresher) coordinated(ctx context.Context, c *client.Client, s *session.Session, op refreshOp) (*session.Session, error) {
	held, unlock, err := rf.coord.shared.Lock(ctx, s.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	defer unlock()
	cur := s
	latest, err := rf.coord.result(ctx, s.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if latest != nil && (latest.RefreshToken != s.RefreshToken || op.key(latest) != op.key(s)) {
		cur = latest
		if !rf.opDue(op, cur, rf.now()) {
			rf.deduplicated(ctx, cur, "another instance")
			return cur, nil
		}
	}
	newest, k, err := rf.fam.newer(ctx, cur)
	if err != nil {
		return nil, err
	} else if newest != cur {
		// A background job refreshed the kept sign-in grant since.
		cur = newest
		if !rf.opDue(op, cur, rf.now()) {
			rf.deduplicated(ctx, cur, "background job")
			return cur, nil
		}
	}
	if held.Err() != nil {
		// The lease ran out: another instance may be refreshing.
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, context.Cause(held))
	}
	ns, err := rf.do(ctx, c, cur, op)
	if ns == nil {
		return nil, err
	}
	// On failure the browser still gets the new cookie with this
	// response; only an older cookie elsewhere may then present a
	// rotated-away token.
	rf.coord.record(ctx, ns, resultTTL)
	rf.noteKept(ctx, k, ns, cur.RefreshToken)
	if err != nil {
		return nil, err // a step after the rotation failed; the rotation is recorded
	}
	return ns, nil
}
