package authorizer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/internal/idtoken"
)

type verifier map[string]map[string]string // token -> claims

func (v verifier) Verify(token string) (map[string]string, error) {
	if c, ok := v[token]; ok {
		return c, nil
	}
	return nil, errors.New("bad token")
}

func TestHandle(t *testing.T) {
	h := Handler{Tokens: verifier{"good": {"sub": "u1", "cognito:groups": "[admin]"}}}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		allow   bool
		sub     any
	}{
		{"no header: a guest", nil, true, nil},
		{"valid token: a user", map[string]string{"authorization": "Bearer good"}, true, "u1"},
		{"header name in another case", map[string]string{"Authorization": "Bearer good"}, true, "u1"},
		{"bad token", map[string]string{"authorization": "Bearer forged"}, false, nil},
		{"not a bearer token", map[string]string{"authorization": "Basic dTpw"}, false, nil},
		{"empty bearer", map[string]string{"authorization": "Bearer "}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const arn = "arn:aws:execute-api:eu-west-1:1:api/prod/GET/cart"
			resp, err := h.Handle(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{MethodArn: arn, Headers: tc.headers})
			if err != nil || allows(resp, arn) != tc.allow || resp.Context["sub"] != tc.sub {
				t.Fatalf("= %+v %v, want allow %v sub %v", resp, err, tc.allow, tc.sub)
			}
			if allows(resp, "arn:aws:execute-api:eu-west-1:1:api/prod/POST/orders") {
				t.Errorf("the policy allows a method that was not called: %+v", resp.PolicyDocument)
			}
		})
	}
}

// A verifier that cannot fetch the keys makes the authorizer fail (API
// Gateway answers 500), rather than refuse a token that may be good.
func TestKeysUnavailableIsAnError(t *testing.T) {
	h := Handler{Tokens: failing{}}
	resp, err := h.Handle(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{MethodArn: "m", Headers: map[string]string{"authorization": "Bearer good"}})
	if !errors.Is(err, idtoken.ErrKeysUnavailable) || allows(resp, "m") {
		t.Fatalf("= %+v %v, want an error", resp, err)
	}
}

type failing struct{}

func (failing) Verify(string) (map[string]string, error) {
	return nil, fmt.Errorf("%w: fetch: 503", idtoken.ErrKeysUnavailable)
}

// allows reads the policy as API Gateway does for one method: an Allow
// statement naming it, and no Deny.
func allows(resp events.APIGatewayCustomAuthorizerResponse, methodArn string) bool {
	allowed := false
	for _, st := range resp.PolicyDocument.Statement {
		if !slices.Contains(st.Resource, methodArn) || !slices.Contains(st.Action, "execute-api:Invoke") {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = allowed || st.Effect == "Allow"
	}
	return allowed
}
