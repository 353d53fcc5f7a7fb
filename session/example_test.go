package session_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/session"
)

// Example keeps a session in the browser with a CookieStore: sealed under
// the app's keys in one request, opened in the next. A cookie that was
// tampered with loads as no session (ErrNoSession), never as an error
// page; while keys rotate ("new,old"), the old key still opens the
// sessions it sealed and the next save seals them under the new one.
func Example() {
	keys, err := session.ParseKeys("kmU4ozbpwBq2t2TbJd5JqzrLPJhDlJ4ROc4X2UmbLxs=") // os.Getenv("SESSION_KEYS")
	if err != nil {
		log.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	err = store.Save(rec, httptest.NewRequest("GET", "https://app.example.com/auth/callback", nil), &session.Session{
		ID: "s1", User: confidant.User{Provider: "example", Subject: "ada", Name: "Ada"}, AccessToken: "at", RefreshToken: "rt"})
	if err != nil {
		log.Fatal(err)
	}
	cookies := rec.Result().Cookies()

	// load opens the cookies with store, as the next request does.
	load := func(store session.Store, cookies []*http.Cookie) {
		next := httptest.NewRequest("GET", "https://app.example.com/account", nil)
		for _, c := range cookies {
			next.AddCookie(c)
		}
		s, err := store.Load(next)
		switch {
		case errors.Is(err, session.ErrNoSession):
			fmt.Println("no session")
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println("signed in:", s.Subject, s.Name)
		}
	}
	load(store, cookies)

	tampered, mid := *cookies[0], len(cookies[0].Value)/2 // one character changed
	c := "A"
	if tampered.Value[mid] == 'A' {
		c = "B"
	}
	tampered.Value = tampered.Value[:mid] + c + tampered.Value[mid+1:]
	load(store, []*http.Cookie{&tampered})

	newKey := base64.StdEncoding.EncodeToString(session.NewKey()) // openssl rand -base64 32
	rotated, err := session.ParseKeys(newKey + ",kmU4ozbpwBq2t2TbJd5JqzrLPJhDlJ4ROc4X2UmbLxs=")
	if err != nil {
		log.Fatal(err)
	}
	after, err := session.NewCookieStore(session.CookieConfig{Keys: rotated})
	if err != nil {
		log.Fatal(err)
	}
	load(after, cookies)
	// Output:
	// signed in: ada Ada
	// no session
	// signed in: ada Ada
}

// NewCookieStore keeps the whole session in the browser. Its cookies are
// HttpOnly, SameSite=Lax, and Secure with the __Host- prefix (without them
// only on a plain-http loopback origin, in development).
func ExampleNewCookieStore() {
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	if err != nil {
		log.Fatal(err)
	}

	// Save during one request…
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://app.example.com/auth/callback", nil)
	err = store.Save(rec, req, &session.Session{ID: "s1", AccessToken: "at", RefreshToken: "rt", User: confidant.User{Subject: "user-42", Name: "Ada"}})
	if err != nil {
		log.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	fmt.Println(cookie.Name, cookie.HttpOnly, cookie.Secure, cookie.SameSite == http.SameSiteLaxMode)
	fmt.Println(rec.Header().Get("Cache-Control"), rec.Header().Get("Vary"))

	// …and load it in the next.
	next := httptest.NewRequest("GET", "https://app.example.com/account", nil)
	next.AddCookie(cookie)
	s, err := store.Load(next)
	fmt.Println(s.Subject, s.Name, err)
	// Output:
	// __Host-confidant true true true
	// no-store Cookie
	// user-42 Ada <nil>
}

// ExampleParseKeys reads the session keys from the environment, as an app
// does in production (make a key with: openssl rand -base64 32).
func ExampleParseKeys() {
	// A rotation in progress: the new key first, the old one still opens.
	newKey, oldKey := base64.StdEncoding.EncodeToString(session.NewKey()), base64.StdEncoding.EncodeToString(session.NewKey())
	prev, had := os.LookupEnv("SESSION_KEYS")
	os.Setenv("SESSION_KEYS", newKey+","+oldKey) // as the deployment sets it
	defer func() {                               // leave the environment as it was, for the tests that follow
		if had {
			os.Setenv("SESSION_KEYS", prev)
		} else {
			os.Unsetenv("SESSION_KEYS")
		}
	}()
	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(keys), "keys")
	// Output: 2 keys
}
