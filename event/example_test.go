package event_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Example follows a sign-in through its events: a hook on
// middleware.Config.OnEvent sees each step in order, each at its level,
// all of them tied to the one sign-in attempt by Flow, a hash prefix of
// its state (the state itself is in none). Config.Logger gets the same
// events as log lines. The provider is one in the process (package
// confidanttest), so the example runs offline.
func Example() {
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")

	var mu sync.Mutex
	flows := map[string]bool{} // the sign-in attempts seen
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: appURL, Keys: [][]byte{session.NewKey()},
		OnEvent: func(ctx context.Context, e event.Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Flow != "" {
				flows[e.Flow] = true
			}
			fmt.Println(e.Level(), e.Kind)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	if _, err := op.SignIn(confidanttest.Browser(), appURL+"/account", confidanttest.User{Subject: "test-user"}); err != nil {
		log.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for flow := range flows {
		fmt.Println("sign-in attempts:", len(flows), "known as", flow[:len("sha256:")]+"…")
	}
	fmt.Println(event.Redact("a-secret-value")) // what a log may show of a secret
	// Output:
	// INFO login.started
	// DEBUG callback.received
	// DEBUG state.checked
	// DEBUG code.exchanged
	// DEBUG id_token.verified
	// DEBUG session.saved
	// sign-in attempts: 1 known as sha256:…
	// sha256:b1463417/14
}
