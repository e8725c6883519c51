package dynamo

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// The memo's key holds every parameter of the endpoint rules but the list,
// which it never memoizes: a parameter the SDK adds fails here, before the
// memo could answer two different calls alike.
func TestEndpointKeyCoversTheParameters(t *testing.T) {
	var names []string
	for f := range reflect.TypeFor[dynamodb.EndpointParameters]().Fields() {
		names = append(names, f.Name)
	}
	want := []string{"Region", "UseDualStack", "UseFIPS", "Endpoint", "AccountId", "AccountIdEndpointMode", "ResourceArn", "ResourceArnList", "IsSearchOperation"}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("dynamodb.EndpointParameters has %v; endpointKey covers %v: extend keyOf", names, want)
	}
}

// The memo answers what the SDK's rules answer, for each distinct set of
// parameters, also after it has answered another.
func TestMemoizedEndpointsAgree(t *testing.T) {
	rules := dynamodb.NewDefaultEndpointResolverV2()
	memo := &endpoints{next: rules}
	ctx := context.Background()
	cases := []dynamodb.EndpointParameters{
		{Region: aws.String("eu-west-1"), ResourceArn: aws.String("Products")},
		{Region: aws.String("eu-west-1"), ResourceArn: aws.String("Orders")},
		{Region: aws.String("eu-west-1"), UseFIPS: aws.Bool(true)},
		{Region: aws.String("us-east-1"), UseFIPS: aws.Bool(true)},
		{Region: aws.String("us-east-1"), UseDualStack: aws.Bool(true)},
		{Region: aws.String("us-east-1"), Endpoint: aws.String("http://127.0.0.1:8000")},
		{Region: aws.String("us-east-1"), AccountId: aws.String("111122223333"), AccountIdEndpointMode: aws.String("preferred")},
		{Region: aws.String("us-east-1"), AccountIdEndpointMode: aws.String("disabled")},
	}
	for round := 0; round < 2; round++ {
		for _, p := range cases {
			want, wantErr := rules.ResolveEndpoint(ctx, p)
			got, err := memo.ResolveEndpoint(ctx, p)
			if (err != nil) != (wantErr != nil) || got.URI.String() != want.URI.String() {
				t.Fatalf("round %d, %+v: %s %v, the rules say %s %v", round, keyOf(p), got.URI.String(), err, want.URI.String(), wantErr)
			}
		}
	}
	if len(memo.known) != len(cases) {
		t.Fatalf("%d answers kept for %d distinct parameter sets", len(memo.known), len(cases))
	}
}

// recorder answers every request with an empty GetItem result and keeps
// what was asked.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	body := []byte(`{}`)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
}

// Warm's health check goes to the host the operations go to, unsigned, and
// the operations still carry what they must (a signature) and not what
// trim took off.
func TestWarmReachesTheOperationsHost(t *testing.T) {
	for _, endpoint := range []string{"", "http://127.0.0.1:8000"} {
		rec := &recorder{}
		c := NewClient(aws.Config{Region: "eu-west-1", HTTPClient: rec,
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}, endpoint)
		if err := Warm(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if _, err := NewProducts(c, "Products").Get(context.Background(), "P1"); err == nil {
			t.Fatal("an empty answer is no product")
		}
		if len(rec.reqs) != 2 {
			t.Fatalf("%d requests", len(rec.reqs))
		}
		warm, op := rec.reqs[0], rec.reqs[1]
		if warm.Method != http.MethodGet || warm.URL.Path != "/" || warm.Header.Get("Authorization") != "" {
			t.Errorf("warm-up %s %s, Authorization %q: want an unsigned GET /", warm.Method, warm.URL, warm.Header.Get("Authorization"))
		}
		if warm.URL.Scheme != op.URL.Scheme || warm.URL.Host != op.URL.Host {
			t.Errorf("endpoint %q: warmed %s://%s, the operation went to %s://%s", endpoint, warm.URL.Scheme, warm.URL.Host, op.URL.Scheme, op.URL.Host)
		}
		if op.Header.Get("Authorization") == "" || op.Header.Get("Amz-Sdk-Invocation-Id") != "" {
			t.Errorf("operation headers %v: want a signature and no invocation id", op.Header)
		}
	}
}
