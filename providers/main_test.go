package providers_test

import (
	"os"
	"testing"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestMain scans the logs of the end-to-end tests (e2e_test.go) for every
// token the emulators issued and every client secret the tests gave.
func TestMain(m *testing.M) {
	os.Exit(testenv.ScanAfter(m, "auth0-secret", "g-secret", "gh-secret", "app-secret", "okta-secret", "kc-secret", "cog-secret", "gl-secret"))
}
