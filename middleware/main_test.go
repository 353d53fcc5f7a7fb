package middleware_test

import (
	"os"
	"testing"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestMain runs the package's tests, then scans every log line and event
// that their flows produced for every token, code, assertion, proof and
// secret that any provider or emulator of the tests issued or was given,
// and for any private key: one found fails the run.
func TestMain(m *testing.M) {
	os.Exit(testenv.ScanAfter(m, testenv.ClientSecret, "auth0-secret", "GOCSPX-secret", "gh-secret", "app-secret", "app-secret-value-never-logged"))
}
