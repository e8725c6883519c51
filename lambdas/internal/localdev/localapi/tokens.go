package localapi

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
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

// Mint returns a token for sub that lives ttl; name, when not empty, is its
// name claim (which a Cognito user may set to anything).
func (t *Tokens) Mint(sub, email, name string, groups []string, ttl time.Duration) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(ttl)
	claims := idtoken.Claims{
		Email: email, EmailVerified: email != "", Name: name, Groups: groups, TokenUse: "id",
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

// accessClaims are a Cognito client-credentials access token's members.
type accessClaims struct {
	TokenUse string `json:"token_use"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	jwt.RegisteredClaims
}

// MintClient returns a client-credentials access token for clientID with
// scopes, as Cognito's token endpoint issues one to a confidential client.
func (t *Tokens) MintClient(clientID string, scopes []string, ttl time.Duration) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(ttl)
	c := accessClaims{TokenUse: "access", ClientID: clientID, Scope: strings.Join(scopes, " "),
		RegisteredClaims: jwt.RegisteredClaims{Subject: clientID, Issuer: t.issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(t.key)
	return s, exp, err
}

// VerifyAccess checks a client-credentials access token and returns its
// claims as the Cognito authorizer passes them.
func (t *Tokens) VerifyAccess(token string) (map[string]string, error) {
	var c accessClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return &t.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(t.issuer), jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.now))
	if err != nil || c.TokenUse != "access" || c.ClientID == "" {
		return nil, ErrBadToken
	}
	return map[string]string{"token_use": "access", "client_id": c.ClientID, "scope": c.Scope, "sub": c.Subject, "iss": c.Issuer}, nil
}
