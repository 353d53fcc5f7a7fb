package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/internal/testenv"
	"github.com/confidant-go/confidant/internal/testop"
)

func TestMain(m *testing.M) {
	if os.Getenv("RUN_OIDC_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestMissingVariables: the binary exits with status 2 and one line that
// names every missing variable.
func TestMissingVariables(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"RUN_OIDC_MAIN=1", "OIDC_CLIENT_ID=x", "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2", err)
	}
	out := strings.TrimSpace(stderr.String())
	if strings.Count(out, "\n") != 0 || !strings.Contains(out, "OIDC_ISSUER") || !strings.Contains(out, "OIDC_CLIENT_SECRET") || strings.Contains(out, "OIDC_CLIENT_ID,") {
		t.Errorf("stderr %q: want one line naming OIDC_CLIENT_SECRET and OIDC_ISSUER only", out)
	}
}

// TestSignInWithEnvConfig runs the example against the in-process OP.
func TestSignInWithEnvConfig(t *testing.T) {
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	op, err := testop.Start(testop.Config{Clients: []testop.Client{{ID: "ex", Secret: "ex-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	api := httptest.NewServer(op.NewAPI())
	defer api.Close()
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret",
		"APP_URL": appURL, "API_URL": api.URL}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()

	hc := testenv.Browser()
	resp, err := hc.Get(appURL + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := op.Login(hc, resp.Header.Get("Location"), testop.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = hc.Get(cb.String()); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %v %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("GET", appURL+"/api", nil)
	req.Header.Set("Accept", "application/json")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(buf.String(), `"status":200`) || !strings.Contains(buf.String(), testop.DemoUser.ID) {
		t.Errorf("/api: %s", buf.String())
	}
}
