package netx

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDefaultTransportHTTP2: the process's default transport speaks
// HTTP/2 to a server that offers it over TLS (as http.DefaultTransport
// does), keeps its idle pool at IdlePerHost, and is one for the process.
// (Tests that replace http.DefaultTransport are in middleware's
// TestDefaultTransportFollowsTheApps.)
func TestDefaultTransportHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	rt := DefaultTransport()
	tr := pooled()
	if Current() != tr {
		t.Fatalf("with net/http's default transport in place, the SDK's sends through %T, not the pooled one", Current())
	}
	if tr.MaxIdleConnsPerHost != IdlePerHost {
		t.Errorf("MaxIdleConnsPerHost %d, want %d", tr.MaxIdleConnsPerHost, IdlePerHost)
	}
	if DefaultTransport() != rt || Transport(nil) != rt {
		t.Error("the default transport is not one for the process")
	}
	// Trust the test server's certificate, before the first request (when
	// the transport sets HTTP/2 up).
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	resp, err := (&http.Client{Transport: rt}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("%s to a server that offers HTTP/2 over TLS: want HTTP/2", resp.Proto)
	}
}
