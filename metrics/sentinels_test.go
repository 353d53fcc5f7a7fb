package metrics_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// sentinels are the exported sentinel errors of the packages whose errors
// reach events. The test below finds them in the sources: a new one fails
// it until it is added here, with a reason of its own in metrics.reasons.
var sentinels = map[string]error{
	"client.ErrAccessTokenHash":            client.ErrAccessTokenHash,
	"client.ErrConfig":                     client.ErrConfig,
	"client.ErrDiscovery":                  client.ErrDiscovery,
	"client.ErrHostedDomain":               client.ErrHostedDomain,
	"client.ErrIdentityChanged":            client.ErrIdentityChanged,
	"client.ErrInsufficientAuthentication": client.ErrInsufficientAuthentication,
	"client.ErrInvalidIDToken":             client.ErrInvalidIDToken,
	"client.ErrInvalidLogoutToken":         client.ErrInvalidLogoutToken,
	"client.ErrNoIDToken":                  client.ErrNoIDToken,
	"client.ErrNoRefreshToken":             client.ErrNoRefreshToken,
	"client.ErrNoToken":                    client.ErrNoToken,
	"client.ErrNonceMismatch":              client.ErrNonceMismatch,
	"client.ErrNotSupported":               client.ErrNotSupported,
	"client.ErrProviderUnavailable":        client.ErrProviderUnavailable,
	"client.ErrPushedRequest":              client.ErrPushedRequest,
	"client.ErrRefreshRevoked":             client.ErrRefreshRevoked,
	"client.ErrResponseIssuer":             client.ErrResponseIssuer,
	"client.ErrBadCallback":                client.ErrBadCallback,
	"client.ErrResponseJWT":                client.ErrResponseJWT,
	"client.ErrResponseTooLarge":           client.ErrResponseTooLarge,
	"client.ErrTokenExpired":               client.ErrTokenExpired,
	"client.ErrTokenRequest":               client.ErrTokenRequest,
	"client.ErrUserInfo":                   client.ErrUserInfo,
	"middleware.ErrAPINotAllowed":          middleware.ErrAPINotAllowed,
	"middleware.ErrAntiForgery":            middleware.ErrAntiForgery,
	"middleware.ErrBadCallback":            middleware.ErrBadCallback,
	"middleware.ErrCodeMissing":            middleware.ErrCodeMissing,
	"middleware.ErrConfig":                 middleware.ErrConfig,
	"middleware.ErrCrossOrigin":            middleware.ErrCrossOrigin,
	"middleware.ErrCrossOriginRedirect":    middleware.ErrCrossOriginRedirect,
	"middleware.ErrDistributedClaim":       middleware.ErrDistributedClaim,
	"middleware.ErrFlowCookieMissing":      middleware.ErrFlowCookieMissing,
	"middleware.ErrForbidden":              middleware.ErrForbidden,
	"middleware.ErrMethodNotAllowed":       middleware.ErrMethodNotAllowed,
	"middleware.ErrNotSignedIn":            middleware.ErrNotSignedIn,
	"middleware.ErrProviderError":          middleware.ErrProviderError,
	"middleware.ErrRefreshUnavailable":     middleware.ErrRefreshUnavailable,
	"middleware.ErrSessionEnded":           middleware.ErrSessionEnded,
	"middleware.ErrSessionExpired":         middleware.ErrSessionExpired,
	"middleware.ErrSessionStore":           middleware.ErrSessionStore,
	"middleware.ErrSignInRefused":          middleware.ErrSignInRefused,
	"middleware.ErrStateExpired":           middleware.ErrStateExpired,
	"middleware.ErrStateMismatch":          middleware.ErrStateMismatch,
	"middleware.ErrStateMissing":           middleware.ErrStateMissing,
	"middleware.ErrUnknownProvider":        middleware.ErrUnknownProvider,
	"session.ErrConfig":                    session.ErrConfig,
	"session.ErrConflict":                  session.ErrConflict,
	"session.ErrInvalidSession":            session.ErrInvalidSession,
	"session.ErrNoSession":                 session.ErrNoSession,
	"session.ErrTooLarge":                  session.ErrTooLarge,
	"session.ErrUnavailable":               session.ErrUnavailable,
}

// unexported are the sentinel errors that reach events without an
// exported name, each with a reason of its own.
var unexported = map[string]error{
	"seam.ErrLockLost": seam.ErrLockLost,
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

// TestEverySentinelHasAReason (issue 34): the reason table named
// client.ErrResponseJWT, middleware.ErrAntiForgery and
// middleware.ErrAPINotAllowed "other", as it did every sentinel added after
// it. Every exported sentinel error of client, middleware and session, as
// found in their sources, has a reason that is not "other" and is on the
// package's documented list; the three have reasons of their own.
func TestEverySentinelHasAReason(t *testing.T) {
	var found []string
	for _, dir := range []string{"../client", "../middleware", "../session"} {
		found = append(found, exportedSentinels(t, dir)...)
	}
	slices.Sort(found)
	if len(found) < 40 {
		t.Fatalf("found %d sentinels in the sources: the parse is broken", len(found))
	}
	for _, name := range found {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("%s is an exported sentinel error: add it to sentinels and give it a reason in metrics.reasons", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sentinels)) {
		if !slices.Contains(found, name) {
			t.Errorf("%s is in sentinels but not in the sources", name)
		}
	}

	documented := documentedReasons(t)
	given := map[string]bool{"other": true}
	all := maps.Clone(sentinels)
	maps.Copy(all, unexported)
	for _, name := range slices.Sorted(maps.Keys(all)) {
		r := metrics.Reason(all[name])
		given[r] = true
		if r == "" || r == "other" {
			t.Errorf("Reason(%s) = %q", name, r)
		} else if !documented[r] {
			t.Errorf("Reason(%s) = %q, which the package doc does not list", name, r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(documented)) {
		if !given[r] {
			t.Errorf("the package doc lists %q, which no sentinel is given", r)
		}
	}
	for name, want := range map[string]string{
		"client.ErrResponseJWT":       "response_jwt",
		"middleware.ErrAntiForgery":   "anti_forgery",
		"middleware.ErrAPINotAllowed": "api_not_allowed",
	} {
		if got := metrics.Reason(sentinels[name]); got != want {
			t.Errorf("Reason(%s) = %q, want %q", name, got, want)
		}
	}
}

// documentedReasons are the codes the package doc lists after
// "confidant.reason is one of:".
func documentedReasons(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "metrics.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(f.Doc.Text()), " ")
	_, list, ok := strings.Cut(doc, "confidant.reason is one of: ")
	list, _, ok2 := strings.Cut(list, ".")
	if !ok || !ok2 {
		t.Fatal("the package doc lists no reasons")
	}
	codes := map[string]bool{}
	for _, c := range strings.Split(list, ", ") {
		if !regexp.MustCompile(`^[a-z_]+$`).MatchString(c) {
			t.Fatalf("the package doc's reason %q is not a code", c)
		}
		codes[c] = true
	}
	return codes
}
