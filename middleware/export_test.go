package middleware

// What the middleware finds of a store through internal/seam, named for
// the tests that wrap a store's plumbing or drive it as the middleware does.
type (
	SharedStore  = sharedStore
	ReplayCache  = replayCache
	OriginBinder = originBinder
	Timed        = timed
	Pinger       = pinger
)
