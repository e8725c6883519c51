package idtoken

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// JWKS holds a user pool's public keys, fetched from its
// /.well-known/jwks.json once and again when a token names an unknown key id
// (Cognito rotates keys), at most once a minute after a fetch that worked. A
// fetch that failed keeps the keys it had and is tried again on the next
// request that needs one; it is ErrKeysUnavailable, not a bad token.
type JWKS struct {
	URL    string
	Client *http.Client

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

// CognitoIssuer is the issuer of a user pool's tokens; its keys are under
// /.well-known/jwks.json.
func CognitoIssuer(region, poolID string) string {
	return "https://cognito-idp." + region + ".amazonaws.com/" + poolID
}

// Key returns the key with id kid.
func (j *JWKS) Key(kid string) (*rsa.PublicKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if k, ok := j.keys[kid]; ok {
		return k, nil
	}
	if time.Since(j.fetched) < time.Minute {
		return nil, ErrBadToken
	}
	keys, err := j.fetch()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	j.fetched = time.Now()
	for kid, k := range j.keys {
		if _, ok := keys[kid]; !ok {
			keys[kid] = k // a key dropped from the set may still sign tokens in flight
		}
	}
	j.keys = keys
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, ErrBadToken
}

func (j *JWKS) fetch() (map[string]*rsa.PublicKey, error) {
	c := j.Client
	if c == nil {
		c = &http.Client{Timeout: 3 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", j.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", j.URL, resp.Status)
	}
	return ParseJWKS(http.MaxBytesReader(nil, resp.Body, 1<<20))
}

// ParseJWKS reads the RSA keys of a JSON Web Key Set.
func ParseJWKS(r io.Reader) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []struct{ Kid, Kty, N, E string }
	}
	if err := json.NewDecoder(r).Decode(&set); err != nil {
		return nil, fmt.Errorf("decode key set: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) > 4 {
			return nil, fmt.Errorf("key %q is not a valid RSA key", k.Kid)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys, nil
}
