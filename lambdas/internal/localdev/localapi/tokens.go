package localapi

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/go-cdk-shop/shop/lambdas/internal/idtoken"
)

// Tokens mints and verifies the local stand-ins for Cognito ID tokens: RS256
// JWTs signed with a key made at start, carrying sub, email and cognito:groups.
type Tokens struct {
	key    *rsa.PrivateKey
	issuer string
	now    func() time.Time
}

// NewTokens makes a fresh signing key.
func NewTokens(issuer string) (*Tokens, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("make token key: %w", err)
	}
	return &Tokens{key: key, issuer: issuer, now: time.Now}, nil
}

// Audience is the app client id the local tokens are issued for.
const Audience = "local-app-client"

// Mint returns a token for sub that lives ttl.
func (t *Tokens) Mint(sub, email string, groups []string, ttl time.Duration) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(ttl)
	claims := idtoken.Claims{
		Email: email, EmailVerified: email != "", Groups: groups, TokenUse: "id",
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: sub, Issuer: t.issuer, Audience: jwt.ClaimStrings{Audience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(t.key)
	return s, exp, err
}

// ErrBadToken is a token that is missing, malformed, badly signed or expired.
var ErrBadToken = idtoken.ErrBadToken

// Verify checks a bearer token and returns its claims as the API Gateway JWT
// authorizer delivers them to a function.
func (t *Tokens) Verify(token string) (map[string]string, error) {
	v := idtoken.Verifier{Issuer: t.issuer, Audience: Audience, Now: t.now,
		Key: func(string) (*rsa.PublicKey, error) { return &t.key.PublicKey, nil }}
	return v.Verify(token)
}
