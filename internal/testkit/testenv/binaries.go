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
	Skip(t, "%s is not on PATH (apt-get install %s)", name, name)
	return ""
}

// Skip skips the test with the reason, or fails it under
// CONFIDANT_REQUIRE_ALL=1 (set by CI): a skipped test never counts as
// passing there. Every skip in the module goes through it (a test in
// internal/testkit/tidy checks).
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CONFIDANT_REQUIRE_ALL") == "1" {
		t.Fatalf(format+" (CONFIDANT_REQUIRE_ALL=1: a skip is a failure)", args...)
	}
	t.Skipf(format+" (CONFIDANT_REQUIRE_ALL=1 makes this a failure)", args...)
}
