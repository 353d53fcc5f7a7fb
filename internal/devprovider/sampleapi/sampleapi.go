// Package sampleapi is cmd/devprovider's sample API, apart from package
// devprovider so that confidanttest, which users' tests link, does not
// link the WebSocket package.
package sampleapi

import (
	"fmt"
	"net/http"
	"time"

	"golang.org/x/net/websocket"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// Handler is the sample API to serve at /api/, guarded by op's access
// tokens: every path answers like devprovider.API; /api/NAME/live is a
// WebSocket that answers each message, and /api/NAME/events streams three
// server-sent events, both for the token's subject (examples/bff's page
// opens them through its backend).
func Handler(op *devprovider.Provider) http.Handler {
	api := op.NewAPI()
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.HandleFunc("GET /api/{name}/live", func(w http.ResponseWriter, r *http.Request) {
		sub, ok := api.Subject(w, r)
		if !ok {
			return
		}
		ws := websocket.Server{
			// The token is the API's check; the browser's Origin was
			// checked by the app's proxy, which does not forward it.
			Handshake: func(*websocket.Config, *http.Request) error { return nil },
			Handler: func(c *websocket.Conn) {
				for {
					var msg string
					if websocket.Message.Receive(c, &msg) != nil {
						return
					}
					websocket.Message.Send(c, r.PathValue("name")+": "+msg+" (for "+sub+")")
				}
			},
		}
		ws.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /api/{name}/events", func(w http.ResponseWriter, r *http.Request) {
		sub, ok := api.Subject(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		rc := http.NewResponseController(w)
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: order %d for %s\n\n", i, sub)
			rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	return mux
}
