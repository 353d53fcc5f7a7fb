package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/internal/fail"
)

// jwksRefetchInterval is the shortest time between two fetches of a
// provider's JWKS made because a token named a key the SDK did not know:
// a rotated key is found at once, but a flood of forged tokens with made-up
// key IDs costs the provider one request per interval, not one each.
const jwksRefetchInterval = 10 * time.Second

// keySet is a provider's JWKS, fetched on first use and refetched when a
// token names an unknown key, at most once per jwksRefetchInterval (go-oidc's
// RemoteKeySet refetches for every such token). Concurrent fetches are
// merged. It implements oidc.KeySet.
type keySet struct {
	url string
	hc  *http.Client

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	loaded      bool
	lastRefetch time.Time
	lastFail    time.Time // of a first fetch that failed
	inflight    chan struct{}
	fetchErr    error
}

// joseAlgs are asymmetricAlgs as go-jose names them.
var joseAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, 0, len(asymmetricAlgs))
	for a := range asymmetricAlgs {
		out = append(out, jose.SignatureAlgorithm(a))
	}
	return out
}()

var errUnknownKey error = fail.UnknownKey

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, joseAlgs)
	if err != nil {
		return nil, fmt.Errorf("client: malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("client: jwt needs exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, known, err := k.current(ctx, kid, false)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys, kid); ok {
		return payload, nil
	}
	if known {
		// The key is known and the signature does not match it: a forged
		// or corrupted token; fetching the JWKS again would not help.
		return nil, errors.New("client: signature does not verify")
	}
	keys, _, err = k.current(ctx, kid, true)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys, kid); ok {
		return payload, nil
	}
	if ferr := k.refetchErr(); ferr != nil {
		// Not a key the provider dropped: its keys could not be had again
		// (a rotation while its JWKS is down). Try again later.
		return nil, fmt.Errorf("client: key %q is not among those held, and fetching them again failed: %w", kid, ferr)
	}
	return nil, errUnknownKey
}

// refetchErr is why the latest fetch of the keys failed, nil when it
// succeeded.
func (k *keySet) refetchErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetchErr
}

func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) ([]byte, bool) {
	for i := range keys {
		if kid == "" || keys[i].KeyID == kid {
			if payload, err := jws.Verify(&keys[i]); err == nil {
				return payload, true
			}
		}
	}
	return nil, false
}

// current returns the keys, fetching them on first use or, with refetch,
// again if the last refetch is older than jwksRefetchInterval. known
// reports whether kid (non-empty) names a key already held.
func (k *keySet) current(ctx context.Context, kid string, refetch bool) (keys []jose.JSONWebKey, known bool, err error) {
	k.mu.Lock()
	for {
		if k.inflight != nil {
			ch := k.inflight
			k.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, false, fmt.Errorf("%w: %w", ErrProviderUnavailable, ctx.Err())
			}
			k.mu.Lock()
			refetch = false // that fetch was ours too
			continue
		}
		now := time.Now()
		if !k.loaded && !k.lastFail.IsZero() && now.Sub(k.lastFail) < time.Second {
			// The provider just failed to give its keys: do not let every
			// request (or a flood of forged ones) ask again at once.
			err := k.fetchErr
			k.mu.Unlock()
			return nil, false, err
		}
		if !k.loaded || (refetch && now.Sub(k.lastRefetch) >= jwksRefetchInterval) {
			if k.loaded {
				k.lastRefetch = now
			}
			ch := make(chan struct{})
			k.inflight = ch
			k.mu.Unlock()
			// The fetch serves every waiter: one caller going away must
			// not fail it for the others (the HTTP client's timeout
			// bounds it).
			keys, err := k.fetch(context.WithoutCancel(ctx))
			k.mu.Lock()
			if err == nil {
				k.keys, k.loaded = keys, true
			} else if !k.loaded {
				k.lastFail = time.Now()
			}
			k.fetchErr = err
			k.inflight = nil
			close(ch)
			refetch = false
			if err != nil && !k.loaded {
				k.mu.Unlock()
				return nil, false, err
			}
			continue
		}
		break
	}
	defer k.mu.Unlock()
	if !k.loaded {
		return nil, false, k.fetchErr
	}
	for _, key := range k.keys {
		if kid != "" && key.KeyID == kid {
			known = true
		}
	}
	return k.keys, known, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: jwks_uri: %v", fail.Discovery, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: fetching the JWKS: %w", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the JWKS: %w", ErrProviderUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: JWKS answered %d", ErrProviderUnavailable, resp.StatusCode)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%w: JWKS is not JSON: %v", ErrProviderUnavailable, err)
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if json.Unmarshal(raw, &key) == nil && key.Valid() && key.IsPublic() && (key.Use == "" || key.Use == "sig") {
			keys = append(keys, key)
		}
	}
	return keys, nil
}
