// Package idtoken verifies Cognito ID tokens (RS256 JWTs) and turns them into
// the claims API Gateway's JWT authorizer hands a function: every value a
// string, cognito:groups as "[a b]". The local API verifies its own tokens with
// it; the cart routes' Lambda authorizer verifies Cognito's, with the pool's
// published keys.
package idtoken

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrBadToken is a token that is malformed, badly signed, expired, or not an
// ID token of the expected issuer and app client.
var ErrBadToken = errors.New("bad token")

// ErrKeysUnavailable is a failure to fetch the issuer's keys: the token may be
// good, so it is an error of the verifier, not a refusal.
var ErrKeysUnavailable = errors.New("signing keys unavailable")

// Claims are the members of a Cognito ID token the shop reads.
type Claims struct {
	Email string `json:"email,omitempty"`
	// EmailVerified is a boolean in Cognito's tokens.
	EmailVerified bool     `json:"email_verified,omitempty"`
	Name          string   `json:"name,omitempty"`
	Groups        []string `json:"cognito:groups,omitempty"`
	TokenUse      string   `json:"token_use"`
	jwt.RegisteredClaims
}

// Verifier checks tokens of one issuer and app client.
type Verifier struct {
	Issuer   string
	Audience string
	// Key returns the public key for a key id.
	Key func(kid string) (*rsa.PublicKey, error)
	Now func() time.Time
}

// Verify checks token and returns its claims in the authorizer's shape.
func (v *Verifier) Verify(token string) (map[string]string, error) {
	var c Claims
	now := v.Now
	if now == nil {
		now = time.Now
	}
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.Key(kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(v.Issuer), jwt.WithAudience(v.Audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(now))
	if errors.Is(err, ErrKeysUnavailable) {
		return nil, err
	}
	if err != nil || c.Subject == "" || c.TokenUse != "id" {
		return nil, ErrBadToken
	}
	claims := map[string]string{"sub": c.Subject, "iss": c.Issuer, "aud": v.Audience, "token_use": c.TokenUse,
		"exp": fmt.Sprint(c.ExpiresAt.Unix())}
	if c.IssuedAt != nil {
		claims["iat"] = fmt.Sprint(c.IssuedAt.Unix())
	}
	if c.Email != "" {
		claims["email"] = c.Email
		claims["email_verified"] = fmt.Sprint(c.EmailVerified)
	}
	if c.Name != "" {
		claims["name"] = c.Name
	}
	if len(c.Groups) > 0 {
		claims["cognito:groups"] = "[" + strings.Join(c.Groups, " ") + "]"
	}
	return claims, nil
}
