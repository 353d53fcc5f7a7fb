package confidant_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/confidant-go/confidant"
)

// A claim the User has no field for (here Auth0's custom "roles" claim) is
// read from Claims.
func ExampleUser_DecodeClaims() {
	// In a handler: u := middleware.UserFrom(r.Context())
	u := &confidant.User{Provider: "auth0", Subject: "auth0|42",
		Claims: json.RawMessage(`{"sub":"auth0|42","https://app.example.com/roles":["admin"]}`)}
	var c struct {
		Roles []string `json:"https://app.example.com/roles"`
	}
	if err := u.DecodeClaims(&c); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u.Provider, u.Subject, c.Roles)
	// Output: auth0 auth0|42 [admin]
}

func TestDecodeClaimsErrors(t *testing.T) {
	u := &confidant.User{Claims: json.RawMessage(`{"groups":"not a list"}`)}
	var c struct {
		Groups []string `json:"groups"`
	}
	if err := u.DecodeClaims(&c); !errors.Is(err, confidant.ErrClaims) {
		t.Errorf("DecodeClaims = %v, want ErrClaims", err)
	}
	m := map[string]any{"kept": true}
	if err := (&confidant.User{}).DecodeClaims(&m); err != nil || len(m) != 1 {
		t.Errorf("no claims: %v, %v; want nil and v untouched", err, m)
	}
}
