package localapi

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

type idClaims struct {
	Email    string   `json:"email,omitempty"`
	Groups   []string `json:"cognito:groups,omitempty"`
	TokenUse string   `json:"token_use"`
	jwt.RegisteredClaims
}

// Audience is the app client id the local tokens are issued for.
const Audience = "local-app-client"

// Mint returns a token for sub that lives ttl.
func (t *Tokens) Mint(sub, email string, groups []string, ttl time.Duration) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(ttl)
	claims := idClaims{
		Email: email, Groups: groups, TokenUse: "id",
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: sub, Issuer: t.issuer, Audience: jwt.ClaimStrings{Audience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(t.key)
	return s, exp, err
}

// ErrBadToken is a token that is missing, malformed, badly signed or expired.
var ErrBadToken = errors.New("bad token")

// Verify checks a bearer token and returns its claims as the API Gateway JWT
// authorizer delivers them to a function: every value a string, and
// cognito:groups as "[a b]".
func (t *Tokens) Verify(token string) (map[string]string, error) {
	var c idClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return &t.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(t.issuer), jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.now))
	if err != nil || c.Subject == "" || c.TokenUse != "id" {
		return nil, ErrBadToken
	}
	claims := map[string]string{
		"sub": c.Subject, "iss": c.Issuer, "aud": Audience, "token_use": c.TokenUse,
		"exp": fmt.Sprint(c.ExpiresAt.Unix()), "iat": fmt.Sprint(c.IssuedAt.Unix()),
	}
	if c.Email != "" {
		claims["email"] = c.Email
	}
	if len(c.Groups) > 0 {
		claims["cognito:groups"] = "[" + strings.Join(c.Groups, " ") + "]"
	}
	return claims, nil
}
