package cookies

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/confidant-go/confidant/internal/fail"
)

// ErrOtherApp means a store was bound to two apps.
var ErrOtherApp error = fail.OtherApp

// App is the app a store binds its sealed sessions to (its origin and
// client IDs, as the middleware names it), set once. The zero value is
// unbound. Safe for concurrent use.
type App struct {
	mu  sync.Mutex
	app atomic.Pointer[string]
}

// Bind sets the app; binding again to another app is ErrOtherApp.
func (b *App) Bind(app string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur := b.app.Load(); cur != nil && *cur != app {
		return fmt.Errorf("%w (%q, now %q)", ErrOtherApp, *cur, app)
	}
	b.app.Store(&app)
	return nil
}

// AAD is base bound to the app, in one allocation; base alone while
// unbound.
func (b *App) AAD(base string) []byte {
	app := b.app.Load()
	if app == nil {
		return []byte(base)
	}
	aad := make([]byte, 0, len(base)+1+len(*app))
	return append(append(append(aad, base...), 0), *app...)
}
