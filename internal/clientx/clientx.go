// Package clientx reaches into package client for the middleware: wiring a
// user has no reason to call. Package client sets the hooks when it is
// initialized; they are typed as the comments say (clientx cannot name
// *client.Client without an import cycle).
package clientx

var (
	// WithEvents is func(*client.Client, event.Sink) *client.Client: a
	// copy of the client that reports to the sink, or the client itself
	// when it already reports somewhere.
	WithEvents any
	// LoginParams is func(*client.Client) []string: the query parameters
	// of the app's login route that the provider understands and that are
	// passed on to the authorization request (Auth0: organization, …).
	LoginParams any
)
