package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireBinary returns the path of an external program a test needs
// (chromium, redis-server). When it is missing the test is skipped with a
// clear message, or fails when CONFIDANT_REQUIRE_ALL=1 (as in CI), so a
// skipped test can never pass for a run that needs everything.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CONFIDANT_REQUIRE_ALL") == "1" {
		t.Fatalf("%s is not on PATH and CONFIDANT_REQUIRE_ALL=1: install it (apt-get install %s)", name, name)
	}
	t.Skipf("%s is not on PATH: skipping (apt-get install %s; CONFIDANT_REQUIRE_ALL=1 makes this a failure)", name, name)
	return ""
}
