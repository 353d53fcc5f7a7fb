package session_test

import (
	"crypto/rand"
	"fmt"
	"net/http/httptest"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/session"
)

func ExampleNewCookieStore() {
	key := make([]byte, 32) // in production: from a secret store, e.g. base64 in an env variable
	rand.Read(key)
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
	if err != nil {
		panic(err)
	}

	// Save during one request…
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://app.example.com/auth/callback", nil)
	store.Save(rec, req, &session.Session{ID: "s1", AccessToken: "at", RefreshToken: "rt", User: confidant.User{Subject: "user-42", Name: "Ada"}})
	cookie := rec.Result().Cookies()[0]
	fmt.Println(cookie.Name, cookie.HttpOnly, cookie.Secure, cookie.SameSite)

	// …and load it in the next.
	next := httptest.NewRequest("GET", "https://app.example.com/account", nil)
	next.AddCookie(cookie)
	s, err := store.Load(next)
	fmt.Println(s.Subject, s.Name, err)
	// Output:
	// __Host-confidant true true 2
	// user-42 Ada <nil>
}
