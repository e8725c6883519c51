// Package authorizer is the REST API Lambda authorizer (REQUEST type) of the
// routes that guests may call too (the cart): no Authorization header is a
// guest and passes with an empty context; a valid Cognito ID token passes
// with its claims as the context; anything else is refused (API Gateway
// answers 403). The Cognito authorizer cannot do this: it refuses every
// request without a token.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/idtoken"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
)

// Verifier checks a token and returns its claims.
type Verifier interface {
	Verify(token string) (map[string]string, error)
}

// Handler answers API Gateway's authorization requests with an IAM policy
// for the one method called (the results are never cached).
type Handler struct {
	Tokens Verifier
	// Log, when set, takes one metrics line per decision: contract.MetricDenied
	// for Release, the signal a deployment compares between the version it
	// shifts to and every version (an attack raises both alike).
	Log     *slog.Logger
	Release metrics.Release
}

// ErrUnreadableEvent is the invocation error for an event that is no REST
// API REQUEST authorizer's: a TOKEN authorizer's, say, which has no
// headers and would otherwise pass as a guest.
var ErrUnreadableEvent = errors.New("authorizer: not a REQUEST authorizer event (type REQUEST and a methodArn)")

// Request is the event API Gateway sends the authorizer for a call of
// methodArn with headers: what the tests and the pre-traffic check send.
func Request(methodArn string, headers map[string]string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{Type: "REQUEST", MethodArn: methodArn, Headers: headers}
}

// New is the authorizer function's builder: ID tokens of the user pool
// poolID in region, issued to the app client clientID, verified against the
// pool's published keys. It lives here rather than in wire, whose builders
// link DynamoDB: the authorizer calls no AWS API.
func New(region, poolID, clientID string, log *slog.Logger, release metrics.Release) Handler {
	issuer := idtoken.CognitoIssuer(region, poolID)
	keys := &idtoken.JWKS{URL: issuer + "/.well-known/jwks.json"}
	return Handler{Tokens: &idtoken.Verifier{Issuer: issuer, Audience: clientID, Key: keys.Key}, Log: log, Release: release}
}

// Handle decides one request, and counts the decision for the release.
func (h Handler) Handle(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	if req.Type != "REQUEST" || req.MethodArn == "" {
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnreadableEvent
	}
	resp, err := h.decide(req)
	if err == nil && h.Log != nil {
		var s metrics.Set
		denied := 0.0
		if len(resp.PolicyDocument.Statement) > 0 && resp.PolicyDocument.Statement[0].Effect == "Deny" {
			denied = 1
		}
		s.AddRelease(h.Release, contract.MetricDenied, denied)
		s.Emit(ctx, h.Log, string(contract.Authorizer))
	}
	return resp, err
}

func (h Handler) decide(req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	header := ""
	for k, v := range req.Headers {
		if strings.EqualFold(k, "authorization") {
			header = v
		}
	}
	if header == "" {
		return policy(req.MethodArn, "guest", "Allow", map[string]any{}), nil
	}
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return policy(req.MethodArn, "anonymous", "Deny", nil), nil
	}
	claims, err := h.Tokens.Verify(strings.TrimSpace(token))
	if errors.Is(err, idtoken.ErrKeysUnavailable) {
		// Not the caller's fault: an error (API Gateway answers 500), and
		// the next request tries the keys again; never a 403 for a good token.
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	if err != nil {
		return policy(req.MethodArn, "anonymous", "Deny", nil), nil
	}
	return policy(req.MethodArn, claims["sub"], "Allow", Context(claims)), nil
}

// policy allows or denies the one method the request called.
func policy(methodArn, principal, effect string, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{{
			Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{methodArn},
		}}},
		Context: context,
	}
}

// Context is the authorizer context for claims: the same names, at the top
// level, as the functions read them from a Cognito authorizer's "claims".
func Context(claims map[string]string) map[string]any {
	c := make(map[string]any, len(claims))
	for k, v := range claims {
		c[k] = v
	}
	return c
}
