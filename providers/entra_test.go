package providers_test

import (
	"encoding/json"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/providers"
)

// TestEntraIDOf: the Entra key is read from verified claims whose iss is
// the tid's v2.0 issuer; the same claims from another provider's issuer, a
// v1.0 issuer or another tenant's are not an Entra key.
func TestEntraIDOf(t *testing.T) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	user := func(claims string) *confidant.User {
		return &confidant.User{Provider: "entra", Subject: "s", Claims: json.RawMessage(claims)}
	}
	id, ok := providers.EntraIDOf(user(`{"iss":"https://login.microsoftonline.com/` + tid + `/v2.0","tid":"` + tid + `","oid":"o-1"}`))
	if !ok || id != (providers.EntraID{Tenant: tid, Object: "o-1"}) || id.String() != tid+"/o-1" {
		t.Errorf("EntraIDOf = %v, %v", id, ok)
	}
	for name, claims := range map[string]string{
		"another provider":   `{"iss":"https://sso.example.com/realms/x","tid":"` + tid + `","oid":"o-1"}`,
		"http":               `{"iss":"http://login.microsoftonline.com/` + tid + `/v2.0","tid":"` + tid + `","oid":"o-1"}`,
		"v1.0 issuer":        `{"iss":"https://sts.windows.net/` + tid + `/","tid":"` + tid + `","oid":"o-1"}`,
		"another tenant":     `{"iss":"https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0","tid":"` + tid + `","oid":"o-1"}`,
		"no oid":             `{"iss":"https://login.microsoftonline.com/` + tid + `/v2.0","tid":"` + tid + `"}`,
		"no claims":          ``,
		"claims not decoded": `{"iss":1}`,
	} {
		if id, ok := providers.EntraIDOf(user(claims)); ok {
			t.Errorf("%s: EntraIDOf = %v, want none", name, id)
		}
	}
	if _, ok := providers.EntraIDOf(nil); ok {
		t.Error("EntraIDOf(nil) reported a key")
	}
}
