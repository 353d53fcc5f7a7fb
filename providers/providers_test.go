package providers_test

import (
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/providers"
)

// TestPresetNames: a preset's name is stable (sessions keep it, apps key
// records on it with the subject), whatever its arguments, and
// client.WithName replaces it. Making a preset sends no request.
func TestPresetNames(t *testing.T) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	for want, mk := range map[string]func(opts ...client.ProviderOption) (*client.Provider, error){
		"auth0": func(o ...client.ProviderOption) (*client.Provider, error) {
			return providers.Auth0("example.eu.auth0.com", o...)
		},
		"google": providers.Google,
		"github": providers.GitHub,
		"entra":  func(o ...client.ProviderOption) (*client.Provider, error) { return providers.Entra(tid, o...) },
		"okta": func(o ...client.ProviderOption) (*client.Provider, error) {
			return providers.Okta("acme.okta.com", "default", o...)
		},
		"keycloak": func(o ...client.ProviderOption) (*client.Provider, error) {
			return providers.Keycloak("https://sso.example.com", "acme", o...)
		},
		"cognito": func(o ...client.ProviderOption) (*client.Provider, error) {
			return providers.Cognito("eu-west-1", "eu-west-1_AbCdEf123", o...)
		},
		"apple":  providers.Apple,
		"gitlab": providers.GitLab,
	} {
		t.Run(want, func(t *testing.T) {
			p, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			if p.Name() != want {
				t.Errorf("name %q, want %q", p.Name(), want)
			}
			p, err = mk(client.WithName("other"))
			if err != nil || p.Name() != "other" {
				t.Errorf("with WithName(\"other\"): %v", err)
			}
		})
	}
}
