package idtoken

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func jwk(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func mint(t *testing.T, key *rsa.PrivateKey, kid string, c Claims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Tokens are checked against the pool's published keys; a rotated key is
// fetched once; everything else is refused.
func TestVerifyWithJWKS(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	var fetches atomic.Int32
	keys := []map[string]string{jwk("k1", &key.PublicKey)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	defer srv.Close()
	const iss, aud = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X", "client-1"
	v := &Verifier{Issuer: iss, Audience: aud, Key: (&JWKS{URL: srv.URL}).Key}
	now := time.Now()
	good := Claims{Email: "u@example.com", Groups: []string{"admin"}, TokenUse: "id", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "u1", Issuer: iss, Audience: jwt.ClaimStrings{aud}, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}

	claims, err := v.Verify(mint(t, key, "k1", good))
	if err != nil || claims["sub"] != "u1" || claims["cognito:groups"] != "[admin]" || claims["email"] != "u@example.com" {
		t.Fatalf("good token: %v %v", claims, err)
	}
	bad := func(name string, mutate func(*Claims), signer *rsa.PrivateKey, kid string) {
		c := good
		if mutate != nil {
			mutate(&c)
		}
		if _, err := v.Verify(mint(t, signer, kid, c)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	bad("expired", func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }, key, "k1")
	bad("other issuer", func(c *Claims) { c.Issuer = "https://evil.example" }, key, "k1")
	bad("other client", func(c *Claims) { c.Audience = jwt.ClaimStrings{"client-2"} }, key, "k1")
	bad("access token", func(c *Claims) { c.TokenUse = "access" }, key, "k1")
	bad("no subject", func(c *Claims) { c.Subject = "" }, key, "k1")
	bad("signed by another key", nil, other, "k1")
	bad("unknown key id", nil, other, "k9")
	if _, err := v.Verify("not.a.jwt"); err == nil {
		t.Error("garbage accepted")
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1 (unknown key ids are looked up at most once a minute)", n)
	}
}

func TestParseJWKSRefusesBadKeys(t *testing.T) {
	for _, in := range []string{`{"keys":[{"kid":"a","kty":"RSA","n":"!!","e":"AQAB"}]}`, `{"keys":[{"kid":"a","kty":"RSA","n":"AQAB","e":"AQABAQAB"}]}`, `[`} {
		if _, err := ParseJWKS(strings.NewReader(in)); err == nil {
			t.Errorf("ParseJWKS(%s) accepted", in)
		}
	}
}

// The keys cannot be fetched: the verifier says so (not "bad token"), keeps
// the keys it had, and tries again on the very next request.
func TestKeyFetchFailureIsRetriedAndKeepsOldKeys(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	rotated, _ := rsa.GenerateKey(rand.Reader, 2048)
	var down atomic.Bool
	var fetches atomic.Int32
	keys := []map[string]string{jwk("k1", &key.PublicKey)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	defer srv.Close()
	const iss, aud = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X", "client-1"
	set := &JWKS{URL: srv.URL}
	v := &Verifier{Issuer: iss, Audience: aud, Key: set.Key}
	now := time.Now()
	claims := Claims{TokenUse: "id", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "u1", Issuer: iss, Audience: jwt.ClaimStrings{aud}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}

	down.Store(true)
	if _, err := v.Verify(mint(t, key, "k1", claims)); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("first request with the keys down: %v, want ErrKeysUnavailable", err)
	}
	down.Store(false)
	if _, err := v.Verify(mint(t, key, "k1", claims)); err != nil {
		t.Fatalf("next request, keys back: %v (a failed fetch must not block for a minute)", err)
	}
	// Rotation while the endpoint fails again: the new key cannot be had,
	// and the old one still verifies.
	keys = []map[string]string{jwk("k2", &rotated.PublicKey)}
	set.fetched = time.Time{} // the minute since the last good fetch has passed
	down.Store(true)
	if _, err := v.Verify(mint(t, rotated, "k2", claims)); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("new key with the endpoint down: %v", err)
	}
	if _, err := v.Verify(mint(t, key, "k1", claims)); err != nil {
		t.Errorf("the old key was dropped by a failed fetch: %v", err)
	}
	if n := fetches.Load(); n != 3 {
		t.Errorf("%d fetches, want 3", n)
	}
}
