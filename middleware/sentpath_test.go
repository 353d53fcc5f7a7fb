package middleware

import (
	"net/http"
	"net/url"
	"testing"
)

// TestSentPath: a refusal's log names the path the browser sent, prefix
// included, never its query, and escaped as sent, in every form a
// request line may take.
func TestSentPath(t *testing.T) {
	for _, c := range []struct{ requestURI, urlPath, want string }{
		{"/bff/orders/items?code=SECRET1", "/items", "/bff/orders/items"},
		{"http://localhost:8081/bff/orders/items?code=SECRET2", "/items", "/bff/orders/items"},
		{"/bff/orders/%3Fcode=SECRET3", "/?code=SECRET3", "/bff/orders/%3Fcode=SECRET3"},
		{"/bff/orders/a%0Alevel=ERROR", "/a\nlevel=ERROR", "/bff/orders/a%0Alevel=ERROR"},
		{"*", "", "*"},             // OPTIONS *
		{"", "/direct", "/direct"}, // a request made in-process, without a request line
	} {
		r := &http.Request{RequestURI: c.requestURI, URL: &url.URL{Path: c.urlPath}}
		if got := sentPath(r); got != c.want {
			t.Errorf("RequestURI %q: %q, want %q", c.requestURI, got, c.want)
		}
	}
}
