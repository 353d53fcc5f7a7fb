package metrics_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// former are the 52 sentinel errors the packages exported until issue 35
// made them children of about fifteen families, with the reason each was
// recorded under: dashboards count them by these codes, which must not
// change.
var former = map[string]struct {
	err    error
	reason string
}{
	"fail.AccessTokenHash":                 {fail.AccessTokenHash, "invalid_id_token"},
	"fail.ClientConfig":                    {fail.ClientConfig, "config"},
	"fail.Discovery":                       {fail.Discovery, "discovery"},
	"fail.HostedDomain":                    {fail.HostedDomain, "invalid_id_token"},
	"fail.IdentityChanged":                 {fail.IdentityChanged, "invalid_id_token"},
	"client.ErrInsufficientAuthentication": {client.ErrInsufficientAuthentication, "step_up"},
	"client.ErrInvalidIDToken":             {client.ErrInvalidIDToken, "invalid_id_token"},
	"fail.InvalidLogoutToken":              {fail.InvalidLogoutToken, "invalid_logout_token"},
	"fail.NoIDToken":                       {fail.NoIDToken, "id_token_missing"},
	"fail.NoRefreshToken":                  {fail.NoRefreshToken, "refresh_token_missing"},
	"client.ErrNoToken":                    {fail.NoToken, "token_missing"},
	"fail.NonceMismatch":                   {fail.NonceMismatch, "invalid_id_token"},
	"fail.NotSupported":                    {fail.NotSupported, "not_supported"},
	"client.ErrProviderUnavailable":        {client.ErrProviderUnavailable, "provider_unavailable"},
	"fail.PushedRequest":                   {fail.PushedRequest, "pushed_request"},
	"fail.RefreshRevoked":                  {fail.RefreshRevoked, "refresh_revoked"},
	"fail.ResponseIssuer":                  {fail.ResponseIssuer, "response_issuer"},
	"fail.ResponseJWT":                     {fail.ResponseJWT, "response_jwt"},
	"fail.ResponseTooLarge":                {fail.ResponseTooLarge, "response_too_large"},
	"fail.TokenExpired":                    {fail.TokenExpired, "token_expired"},
	"client.ErrTokenRequest":               {fail.TokenRequest, "token_request"},
	"fail.UserInfo":                        {fail.UserInfo, "userinfo"},
	"fail.APINotAllowed":                   {fail.APINotAllowed, "api_not_allowed"},
	"fail.AntiForgery":                     {fail.AntiForgery, "anti_forgery"},
	"fail.BadCallback":                     {fail.BadCallback, "bad_callback"},
	"fail.CodeMissing":                     {fail.CodeMissing, "code_missing"},
	"fail.MiddlewareConfig":                {fail.MiddlewareConfig, "config"},
	"fail.CrossOrigin":                     {fail.CrossOrigin, "cross_origin"},
	"fail.CrossOriginRedirect":             {fail.CrossOriginRedirect, "cross_origin_redirect"},
	"fail.DistributedClaim":                {fail.DistributedClaim, "distributed_claim"},
	"fail.FlowCookieMissing":               {fail.FlowCookieMissing, "flow_cookie_missing"},
	"middleware.ErrForbidden":              {fail.Forbidden, "forbidden"},
	"fail.MethodNotAllowed":                {fail.MethodNotAllowed, "method_not_allowed"},
	"middleware.ErrNotSignedIn":            {middleware.ErrNotSignedIn, "not_signed_in"},
	"fail.UnknownAPI":                      {fail.UnknownAPI, "unknown_api"},
	"middleware.ErrProviderError":          {middleware.ErrProviderError, "provider_error"},
	"fail.RefreshUnavailable":              {fail.RefreshUnavailable, "refresh_unavailable"},
	"fail.SessionEnded":                    {fail.SessionEnded, "session_ended"},
	"fail.SessionExpired":                  {fail.SessionExpired, "session_expired"},
	"fail.SessionStore":                    {fail.SessionStore, "session_store"},
	"fail.SignInRefused":                   {fail.SignInRefused, "signin_refused"},
	"fail.StateExpired":                    {fail.StateExpired, "state_expired"},
	"fail.StateMismatch":                   {fail.StateMismatch, "state_mismatch"},
	"fail.StateMissing":                    {fail.StateMissing, "state_missing"},
	"fail.UnknownProvider":                 {fail.UnknownProvider, "unknown_provider"},
	"fail.SessionConfig":                   {fail.SessionConfig, "config"},
	"session.ErrConflict":                  {session.ErrConflict, "session_conflict"},
	"fail.InvalidSession":                  {fail.InvalidSession, "session_invalid"},
	"fail.LockLost":                        {fail.LockLost, "refresh_lock_lost"},
	"session.ErrNoSession":                 {session.ErrNoSession, "session_missing"},
	"session.ErrTooLarge":                  {session.ErrTooLarge, "session_too_large"},
	"session.ErrUnavailable":               {session.ErrUnavailable, "session_store"},
	"confidant.ErrClaims":                  {confidant.ErrClaims, "claims"}, // "other" until issue 35: it never reaches an event
}

// families are the exported sentinel errors: what users match with
// errors.Is. The test below finds them in the sources: a new one fails it
// until it is added here, with a row of its own in internal/fail.
var families = map[string]error{
	"confidant.ErrClaims":                  confidant.ErrClaims,
	"confidant.ErrConfig":                  confidant.ErrConfig,
	"client.ErrInsufficientAuthentication": client.ErrInsufficientAuthentication,
	"client.ErrInvalidIDToken":             client.ErrInvalidIDToken,
	"client.ErrInvalidResponse":            client.ErrInvalidResponse,
	"client.ErrNoToken":                    client.ErrNoToken,
	"client.ErrProviderUnavailable":        client.ErrProviderUnavailable,
	"client.ErrTokenRequest":               client.ErrTokenRequest,
	"middleware.ErrBadRequest":             middleware.ErrBadRequest,
	"middleware.ErrForbidden":              middleware.ErrForbidden,
	"middleware.ErrNotSignedIn":            middleware.ErrNotSignedIn,
	"middleware.ErrProviderError":          middleware.ErrProviderError,
	"middleware.ErrUnavailable":            middleware.ErrUnavailable,
	"middleware.ErrNotConnected":           middleware.ErrNotConnected,
	"session.ErrConflict":                  session.ErrConflict,
	"session.ErrNoSession":                 session.ErrNoSession,
	"session.ErrTooLarge":                  session.ErrTooLarge,
	"session.ErrUnavailable":               session.ErrUnavailable,
}

// exportedSentinels parses the non-test sources of the package in dir and
// returns its exported package-level variables that are errors: named
// Err…, or made by errors.New or fmt.Errorf.
func exportedSentinels(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var names []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !id.IsExported() {
						continue
					}
					isErr := strings.HasPrefix(id.Name, "Err")
					if i < len(vs.Values) {
						if call, ok := vs.Values[i].(*ast.CallExpr); ok {
							if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
								if pkg, ok := sel.X.(*ast.Ident); ok {
									fn := pkg.Name + "." + sel.Sel.Name
									isErr = isErr || fn == "errors.New" || fn == "fmt.Errorf"
								}
							}
						}
					}
					if isErr {
						names = append(names, f.Name.Name+"."+id.Name)
					}
				}
			}
		}
	}
	return names
}

// TestEverySentinelHasAReason (issue 34, issue 35): the reason table named
// fail.ResponseJWT, fail.AntiForgery and
// fail.APINotAllowed "other", as it did every sentinel added after
// it. Every exported sentinel error of the root, client, middleware and
// session packages, as found in their sources, is a family with a reason
// that is not "other" and is on the package's documented list; every
// former sentinel keeps the reason it had; every documented code is given.
func TestEverySentinelHasAReason(t *testing.T) {
	var found []string
	for _, dir := range []string{"..", "../client", "../middleware", "../session"} {
		found = append(found, exportedSentinels(t, dir)...)
	}
	slices.Sort(found)
	if len(found) < 10 {
		t.Fatalf("found %d sentinels in the sources: the parse is broken", len(found))
	}
	if len(found) > 18 { // 17 until issue 37's ErrNotConnected
		t.Errorf("%d exported sentinels, want at most 18 families: %v", len(found), found)
	}
	for _, name := range found {
		if _, ok := families[name]; !ok {
			t.Errorf("%s is an exported sentinel error: add it to families and give it a row in internal/fail", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(families)) {
		if !slices.Contains(found, name) {
			t.Errorf("%s is in families but not in the sources", name)
		}
	}

	documented := documentedReasons(t)
	given := map[string]bool{"other": true}
	for _, name := range slices.Sorted(maps.Keys(families)) {
		r := metrics.Reason(families[name])
		given[r] = true
		if r == "" || r == "other" {
			t.Errorf("Reason(%s) = %q", name, r)
		} else if !documented[r] {
			t.Errorf("Reason(%s) = %q, which Reason's doc does not list", name, r)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(former)) {
		f := former[name]
		for _, err := range []error{f.err, fmt.Errorf("wrapped: %w", f.err)} {
			if got := metrics.Reason(err); got != f.reason {
				t.Errorf("Reason(%s) = %q, want %q", name, got, f.reason)
			}
		}
		given[f.reason] = true
	}
	for _, row := range fail.Table {
		if row.Code != "" {
			given[row.Code] = true
			if !documented[row.Code] {
				t.Errorf("the row of %v has reason %q, which Reason's doc does not list", row.Err, row.Code)
			}
		}
	}
	for _, r := range slices.Sorted(maps.Keys(documented)) {
		if !given[r] {
			t.Errorf("Reason's doc lists %q, which no sentinel is given", r)
		}
	}
}

// TestFormerSentinelsInFamilies: each former sentinel is reachable through
// exactly one exported family, and the former sentinels stay distinct:
// none matches another unless it was its child before.
func TestFormerSentinelsInFamilies(t *testing.T) {
	nested := map[[2]string]bool{ // child, parent: wrapped before issue 35 too
		{"fail.AccessTokenHash", "client.ErrInvalidIDToken"}: true,
		{"fail.HostedDomain", "client.ErrInvalidIDToken"}:    true,
		{"fail.IdentityChanged", "client.ErrInvalidIDToken"}: true,
		{"fail.NonceMismatch", "client.ErrInvalidIDToken"}:   true,
		{"fail.CodeMissing", "fail.BadCallback"}:             true,
		{"fail.DistributedClaim", "middleware.ErrForbidden"}: true,
		{"fail.FlowCookieMissing", "fail.BadCallback"}:       true,
		{"fail.FlowCookieMissing", "fail.StateMismatch"}:     true,
		{"fail.SessionEnded", "middleware.ErrNotSignedIn"}:   true,
		{"fail.SessionExpired", "middleware.ErrNotSignedIn"}: true,
		{"fail.StateExpired", "fail.BadCallback"}:            true,
		{"fail.StateMismatch", "fail.BadCallback"}:           true,
		{"fail.StateMissing", "fail.BadCallback"}:            true,
		{"fail.InvalidSession", "session.ErrNoSession"}:      true, // wrapped together before
		{"fail.LockLost", "session.ErrUnavailable"}:          true, // a lost lease is the store failing
	}
	for _, name := range slices.Sorted(maps.Keys(former)) {
		err := former[name].err
		var in []string
		for _, fam := range slices.Sorted(maps.Keys(families)) {
			if errors.Is(err, families[fam]) {
				in = append(in, fam)
			}
		}
		if len(in) != 1 {
			t.Errorf("%s is in the families %v, want exactly one", name, in)
		}
		for _, other := range slices.Sorted(maps.Keys(former)) {
			if other != name && former[other].err != err && errors.Is(err, former[other].err) && !nested[[2]string{name, other}] {
				t.Errorf("%s matches %s", name, other)
			}
		}
	}
}

// documentedReasons are the codes Reason's doc lists after
// "confidant.reason is one of:".
func documentedReasons(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "metrics.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "Reason" && fd.Doc != nil {
			doc = strings.Join(strings.Fields(fd.Doc.Text()), " ")
		}
	}
	_, list, ok := strings.Cut(doc, "confidant.reason is one of: ")
	list, _, ok2 := strings.Cut(list, ".")
	if !ok || !ok2 {
		t.Fatal("Reason's doc lists no reasons")
	}
	codes := map[string]bool{}
	for _, c := range strings.Split(list, ", ") {
		if !regexp.MustCompile(`^[a-z_]+$`).MatchString(c) {
			t.Fatalf("Reason's doc's reason %q is not a code", c)
		}
		codes[c] = true
	}
	return codes
}
