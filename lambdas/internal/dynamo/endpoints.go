package dynamo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// endpoints remembers the SDK's endpoint resolutions. The SDK runs its
// endpoint rules (a small interpreter over the region, the FIPS and
// dual-stack flags, the account and the table) on every call, and for one
// table of one client they always give the same answer. The answer is kept
// per distinct set of parameters, at most maxEndpoints of them; a call that
// names a list of resources is resolved afresh.
type endpoints struct {
	next  dynamodb.EndpointResolverV2
	mu    sync.RWMutex
	known map[endpointKey]smithyendpoints.Endpoint
}

const maxEndpoints = 64

// endpointKey is every field of dynamodb.EndpointParameters but the list
// (TestEndpointKeyCoversTheParameters fails when the SDK adds one).
type endpointKey struct {
	region, endpoint, accountID, accountIDMode, resourceArn string
	dualStack, fips, search                                 int8
}

func flag(b *bool) int8 {
	switch {
	case b == nil:
		return 0
	case *b:
		return 1
	}
	return 2
}

func param(s *string) string {
	if s == nil {
		return "\x00" // unset is not the empty string
	}
	return *s
}

func keyOf(p dynamodb.EndpointParameters) endpointKey {
	return endpointKey{region: param(p.Region), endpoint: param(p.Endpoint), accountID: param(p.AccountId),
		accountIDMode: param(p.AccountIdEndpointMode), resourceArn: param(p.ResourceArn),
		dualStack: flag(p.UseDualStack), fips: flag(p.UseFIPS), search: flag(p.IsSearchOperation)}
}

func (e *endpoints) ResolveEndpoint(ctx context.Context, p dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	if p.ResourceArnList != nil {
		return e.next.ResolveEndpoint(ctx, p)
	}
	k := keyOf(p)
	e.mu.RLock()
	ep, ok := e.known[k]
	e.mu.RUnlock()
	if ok {
		return ep, nil
	}
	ep, err := e.next.ResolveEndpoint(ctx, p)
	if err != nil {
		return ep, err
	}
	e.mu.Lock()
	if e.known == nil {
		e.known = map[endpointKey]smithyendpoints.Endpoint{}
	}
	if len(e.known) < maxEndpoints {
		e.known[k] = ep
	}
	e.mu.Unlock()
	return ep, nil
}

// Warm opens the client's connection to DynamoDB (TCP and TLS) before the
// first request needs it, with the endpoint's health check: an
// unauthenticated GET of "/" on the host every operation of c goes to, so
// it needs no permission and reads nothing.
func Warm(ctx context.Context, c *dynamodb.Client) error {
	o := c.Options()
	ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, dynamodb.EndpointParameters{
		Region: aws.String(o.Region), Endpoint: o.BaseEndpoint, AccountIdEndpointMode: aws.String(string(o.AccountIDEndpointMode)),
	})
	if err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	u := ep.URI
	u.Path = "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	// Read to the end, so the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Body.Close()
}
