package dynamo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// A table that answers after 900 ms: past one attempt's bound. A plain
// write gives up at AttemptTimeout, once (a timed-out write may have
// applied); a budgeted one (a checkout's idempotent claim) waits it out
// within its deadline, so a busy table's queue is not abandoned and sent
// again (issue 26, item 6).
func TestABudgetedCallOutlastsTheAttemptBound(t *testing.T) {
	var calls atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-time.After(900 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer slow.Close()
	db := NewClient(LocalConfig(), slow.URL)
	put := func(ctx context.Context, opts ...func(*dynamodb.Options)) error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"),
			Item: map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: "v"}}}, opts...)
		return classify("put", err)
	}
	if err := put(context.Background(), writeRetryer); !errors.Is(err, shop.ErrUnavailable) || calls.Load() != 1 {
		t.Errorf("a plain write = %v after %d attempts; want unavailable after one", err, calls.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ctx, budget := withinBudget(ctx)
	if err := put(ctx, writeRetryer, budget); err != nil {
		t.Errorf("a budgeted write = %v, want the table's answer", err)
	}
}

// The sweep reads products strongly consistent (a link made just before
// must show, or the sweep deletes a linked image); checkout's pricing need
// not. DynamoDB Local is always consistent, so the request says it.
func TestGetManyConsistentAsksForIt(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"Responses":{}}`))
	}))
	defer srv.Close()
	p := NewProducts(NewClient(LocalConfig(), srv.URL), "products")
	if _, err := p.GetManyConsistent(context.Background(), []string{"A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.GetMany(context.Background(), []string{"A"}); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || !strings.Contains(bodies[0], `"ConsistentRead":true`) || strings.Contains(bodies[1], `"ConsistentRead":true`) {
		t.Errorf("requests %q; want the first consistent, the second not", bodies)
	}
}
