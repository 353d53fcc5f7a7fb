package middleware_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/confidant-go/confidant/internal/testenv"
	"github.com/confidant-go/confidant/internal/testop"
)

// TestMain runs the package's tests, then scans every log line and event
// that their flows produced for every token, code and secret the providers
// issued: one found fails the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		secrets := append(testop.AllIssued(), testenv.ClientSecret, "auth0-secret", "GOCSPX-secret", "gh-secret", "app-secret")
		leaked, events, size := testenv.ScanCollected(secrets)
		switch {
		case len(leaked) > 0:
			fmt.Fprintf(os.Stderr, "FAIL: %d of %d secrets appear in the logs or events, e.g. one of %d characters\n", len(leaked), len(secrets), len(leaked[0]))
			code = 1
		case events == 0 && testenv.AppsStarted() > 1:
			fmt.Fprintln(os.Stderr, "FAIL: no events were collected: the secret scan would pass vacuously")
			code = 1
		default:
			fmt.Printf("secret scan: %d secrets issued, %d events and %d bytes of logs scanned, none found\n", len(secrets), events, size)
		}
	}
	os.Exit(code)
}
