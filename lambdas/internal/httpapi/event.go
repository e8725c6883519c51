package httpapi

import (
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/authorizer"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// NewEvent is the REST API proxy event (payload 1.0) that API Gateway
// sends a function for a call of method on rawPath: the resource and path
// parameters of route when one matched, else the catch-all resource
// ("/{proxy+}"). Every event of the shop is built here (the local API, the
// pre-traffic check, the benchmarks); the caller adds headers, query and
// body, and Authorize adds the authorizer's context.
func NewEvent(method, rawPath string, route *contract.Route, params map[string]string, now time.Time) Event {
	now = now.UTC()
	ev := Event{
		Resource: "/{proxy+}", Path: rawPath, HTTPMethod: method,
		Headers: map[string]string{}, MultiValueHeaders: map[string][]string{},
		PathParameters: map[string]string{"proxy": strings.TrimPrefix(rawPath, "/")},
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: "000000000000", APIID: "local", DomainPrefix: "local", Stage: "local",
			RequestID: shop.NewID("", now), ResourcePath: "/{proxy+}", HTTPMethod: method, Path: "/local" + rawPath,
			Protocol: "HTTP/1.1", RequestTime: now.Format("02/Jan/2006:15:04:05 -0700"), RequestTimeEpoch: now.UnixMilli(),
		},
	}
	if route != nil {
		ev.Resource, ev.RequestContext.ResourcePath, ev.PathParameters = route.Path, route.Path, params
	}
	return ev
}

// Authorize puts claims into ev's authorizer context as the authorizer of
// access does in AWS: a Cognito user pool authorizer under "claims", every
// value a string and cognito:groups joined with commas; the shop's Lambda
// authorizer (Guest routes) at the top level with its principal, "guest"
// for a guest (nil claims). Public routes have no authorizer.
func Authorize(ev *Event, access contract.Access, claims map[string]string) {
	switch access {
	case contract.Public:
		return
	case contract.Guest:
		if claims == nil {
			ev.RequestContext.Authorizer = map[string]any{"principalId": "guest"}
			return
		}
		ctx := authorizer.Context(claims)
		ctx["principalId"] = claims["sub"]
		ev.RequestContext.Authorizer = ctx
		return
	}
	c := make(map[string]any, len(claims))
	for k, v := range claims {
		c[k] = v
	}
	if g, ok := claims["cognito:groups"]; ok {
		c["cognito:groups"] = strings.Join(ParseGroups(g), ",")
	}
	ev.RequestContext.Authorizer = map[string]any{"claims": c}
}
