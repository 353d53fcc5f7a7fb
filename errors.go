package confidant

import "github.com/confidant-go/confidant/internal/fail"

// ErrConfig is wrapped by every configuration error of this module's
// packages: client.New, session.NewCookieStore, redisstore.New,
// middleware.New, and a mistake only a request can show (the Auth handler
// not mounted, HTTPClient called outside Require and Optional). The message
// names the package, the field and the reason; retrying never helps, and
// middleware.StatusCode gives it 500.
var ErrConfig error = fail.Config
