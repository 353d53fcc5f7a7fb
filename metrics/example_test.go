package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Example exports confidant's metrics to Prometheus through
// OpenTelemetry's Prometheus exporter: the Recorder's Hook is the app's
// OnEvent, and the scrape after a sign-in counts it, with the provider's
// name and the token request's latency. The provider is one in the
// process (package confidanttest), so the example runs offline.
func Example() {
	// OpenTelemetry's meter provider, read by the Prometheus exporter.
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		log.Fatal(err)
	}
	rec, err := metrics.New(metrics.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))})
	if err != nil {
		log.Fatal(err)
	}

	// The app, with the Recorder as its OnEvent, and /metrics to scrape.
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil)
	defer srv.Close()
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")
	prov, err := client.Discover(context.Background(), op.Issuer, client.WithName("example-idp"))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.Setup(context.Background(), middleware.Config{Provider: prov, ClientID: id,
		ClientSecret: secret, AppURL: appURL, Keys: [][]byte{session.NewKey()}, OnEvent: rec.Hook})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv.Config.Handler = mux
	srv.Start()

	if _, err := op.SignIn(confidanttest.Browser(), appURL+"/account", confidanttest.User{Subject: "test-user"}); err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(appURL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "confidant_signin") || strings.HasPrefix(l, "confidant_provider_duration_seconds_count") {
			fmt.Println(l)
		}
	}
	// Output:
	// confidant_provider_duration_seconds_count{confidant_endpoint="token",confidant_grant="authorization_code",confidant_outcome="success",confidant_provider="example-idp",http_response_status_code="200"} 1
	// confidant_signin_completed_total{confidant_outcome="success",confidant_provider="example-idp"} 1
	// confidant_signin_started_total{confidant_provider="example-idp"} 1
}
