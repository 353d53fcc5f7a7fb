package providers

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/preset"
)

// PersonalAccountsTenant is the tenant of personal Microsoft accounts
// (outlook.com, …) in Microsoft Entra ID: name it in WithTenants to let them
// in from "common".
const PersonalAccountsTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

var tenantID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Entra returns Microsoft Entra ID (the Microsoft identity platform's v2.0
// endpoints), discovered on first use at
// https://login.microsoftonline.com/TENANT/v2.0, and named "entra" whatever
// the tenant (sessions and records keep it). tenant is:
//   - the app's own tenant ID (a GUID): its directory's users only;
//   - "organizations" (work and school accounts) or "common" (those and
//     personal accounts): multi-tenant, so WithTenants names the tenants the
//     app accepts, or WithAnyTenant accepts all; each ID token's tid and
//     iss are checked (see client.Discover);
//   - "consumers": personal Microsoft accounts only.
//
// Key users on (Provider, EntraIDOf(user)): the tenant and the object ID,
// which Microsoft names as the user's key, are the same in every app
// registration of the tenant, where sub differs from one registration to
// the next. Never key on the e-mail address, which each tenant's
// administrators set as they like (the "nOAuth" takeover). A user in more than 200 groups gets no
// groups claim but a pointer to Microsoft Graph (a distributed claim):
// middleware.Claim("groups", …) then refuses with
// middleware.ErrForbidden, never as "not a member". Sign-out goes
// through Entra's end_session endpoint. A client secret or a certificate
// authenticates the app: client.Config.PrivateKey with its Cert
// (the assertion names it by x5t#S256, with the token endpoint as aud, as
// "Certificate credentials" asks).
func Entra(tenant string, opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	if o.Name == "" {
		o.Name = "entra"
	}
	d := preset.Discovery{Name: o.Name, HTTPClient: o.HTTPClient, Tenants: o.Tenants, AnyTenant: o.AnyTenant}
	switch {
	case tenant == "common" || tenant == "organizations":
		if len(o.Tenants) == 0 && !o.AnyTenant {
			return nil, fmt.Errorf("%w: Entra(%q) lets in users of every tenant: name the tenants the app accepts with WithTenants (or WithAnyTenant)", fail.ClientConfig, tenant)
		}
		d.Issuer = "https://login.microsoftonline.com/" + tenant + "/v2.0"
	case tenant == "consumers":
		// Its discovery names the personal accounts' tenant as issuer.
		d.Issuer = "https://login.microsoftonline.com/" + PersonalAccountsTenant + "/v2.0"
	case tenantID.MatchString(tenant):
		d.Issuer = "https://login.microsoftonline.com/" + tenant + "/v2.0"
	default:
		return nil, fmt.Errorf("%w: Entra(%q): want the tenant ID (a GUID, from the app registration's Overview), organizations, common or consumers; a domain's discovery names the tenant ID as issuer", fail.ClientConfig, tenant)
	}
	return presets.Preset(d, preset.Quirks{AssertionAudEndpoint: true})
}

// EntraID is a user's key in Microsoft Entra ID: the tenant (the tid claim)
// and the user's object ID in it (oid), both GUIDs. Unlike sub, it is the
// same for every app registration, and unlike the e-mail address, no
// administrator can give it to another user.
type EntraID struct {
	Tenant string
	Object string
}

// String returns "TENANT/OBJECT".
func (id EntraID) String() string { return id.Tenant + "/" + id.Object }

// EntraIDOf returns the Entra key of a user signed in by Microsoft Entra ID
// (Entra, or client.Discover at login.microsoftonline.com). ok is false for
// a user of another provider, or when the ID token lacked tid or oid (oid
// needs the profile scope, which is a default one). It reads the user's
// verified claims: tid, oid, and iss, which must be tid's issuer, so a
// provider that is not Entra cannot pass its users off as Entra's.
func EntraIDOf(u *confidant.User) (id EntraID, ok bool) {
	if u == nil {
		return EntraID{}, false
	}
	var c struct {
		Iss string `json:"iss"`
		Tid string `json:"tid"`
		Oid string `json:"oid"`
	}
	if u.DecodeClaims(&c) != nil || c.Tid == "" || c.Oid == "" {
		return EntraID{}, false
	}
	iss, err := url.Parse(c.Iss)
	if err != nil || iss.Scheme != "https" || !entraHosts[iss.Host] || strings.Trim(iss.Path, "/") != c.Tid+"/v2.0" {
		return EntraID{}, false
	}
	return EntraID{Tenant: c.Tid, Object: c.Oid}, true
}

// entraHosts are the hosts of Entra ID's v2.0 issuers: the global cloud,
// US Government and China (21Vianet).
var entraHosts = map[string]bool{
	"login.microsoftonline.com":        true,
	"login.microsoftonline.us":         true,
	"login.partner.microsoftonline.cn": true,
}
