package authorizer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/idtoken"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
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
			resp, err := h.Handle(context.Background(), Request(arn, tc.headers))
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
	resp, err := h.Handle(context.Background(), Request("m", map[string]string{"authorization": "Bearer good"}))
	if !errors.Is(err, idtoken.ErrKeysUnavailable) || allows(resp, "m") {
		t.Fatalf("= %+v %v, want an error", resp, err)
	}
}

// An event that is no REQUEST authorizer's (a TOKEN authorizer's has no
// headers, so it would pass as a guest) is an invocation error, which
// Lambda's Errors count and the deployment's LiveErrors alarm reads.
func TestAnUnreadableEventIsAnInvocationError(t *testing.T) {
	h := Handler{Tokens: verifier{}}
	for name, ev := range map[string]events.APIGatewayCustomAuthorizerRequestTypeRequest{
		"a TOKEN authorizer's":    {Type: "TOKEN", MethodArn: "arn:m"},
		"no methodArn":            {Type: "REQUEST"},
		"an empty event":          {},
		"a proxy event's headers": {Headers: map[string]string{"authorization": "Bearer x"}},
	} {
		if resp, err := h.Handle(context.Background(), ev); !errors.Is(err, ErrUnreadableEvent) || allows(resp, "arn:m") {
			t.Errorf("%s: %+v, %v; want ErrUnreadableEvent", name, resp, err)
		}
	}
}

// Each decision is one metrics line: Denied 1 or 0 for the release, so
// that its sum over its sample count is the version's denial rate.
func TestEachDecisionIsCountedForItsRelease(t *testing.T) {
	var buf bytes.Buffer
	rel := metrics.Release{FunctionName: "Shop-prod-Api-Authorizer", Version: "12"}
	h := Handler{Tokens: verifier{"good": {"sub": "u1"}}, Log: slog.New(slog.NewJSONHandler(&buf, nil)), Release: rel}
	for _, hdr := range []map[string]string{nil, {"authorization": "Bearer good"}, {"authorization": "Bearer forged"}} {
		if _, err := h.Handle(context.Background(), Request("arn:m", hdr)); err != nil {
			t.Fatal(err)
		}
	}
	var denied []float64
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if err := metrics.Validate([]byte(line)); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		if m[contract.DimFunctionName] != rel.FunctionName || m[contract.DimVersion] != rel.Version {
			t.Errorf("line of %v %v: %s", m[contract.DimFunctionName], m[contract.DimVersion], line)
		}
		denied = append(denied, m[contract.MetricDenied].(float64))
	}
	if !slices.Equal(denied, []float64{0, 0, 1}) {
		t.Errorf("Denied %v, want 0 0 1 (guest, user, forged)", denied)
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
