//go:build integration

package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/servers"
)

// Against DynamoDB Local's change streams, started here.
var (
	db      *dynamodb.Client
	streams *dynamodbstreams.Client
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		p, err := servers.StartDynamo(context.Background(), "", os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "start DynamoDB Local:", err)
			return 1
		}
		defer p.Stop()
		db = dynamo.NewClient(dynamo.LocalConfig(), p.Endpoint)
		streams = dynamodbstreams.NewFromConfig(dynamo.LocalConfig(), func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(p.Endpoint) })
		return m.Run()
	}())
}

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func put(t *testing.T, table, id, status string, seq int) {
	t.Helper()
	_, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"user_id": &types.AttributeValueMemberS{Value: "u1"}, "sk": &types.AttributeValueMemberS{Value: "ORDER#" + id},
		"order_id": &types.AttributeValueMemberS{Value: id}, "status": &types.AttributeValueMemberS{Value: status},
		"sequence": &types.AttributeValueMemberN{Value: fmt.Sprint(seq)}, "currency": &types.AttributeValueMemberS{Value: "EUR"},
		"total": &types.AttributeValueMemberN{Value: "100"}, "items": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(t *testing.T, r *Reader) []string {
	t.Helper()
	evs, err := r.After("")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.EventID+" "+e.DetailType)
	}
	return out
}

// The reader dies after keeping a batch's events and before its
// checkpoint: the next reader reads those records again, and keeps each
// event once, with the same id; what was committed meanwhile follows.
func TestResumesFromItsCheckpoint(t *testing.T) {
	ctx := context.Background()
	table := "orders-" + t.Name()
	if err := dynamo.CreateOrdersTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r, err := Open(ctx, db, streams, table, "local", dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	put(t, table, "O1", "pending", 1)
	put(t, table, "O1", "confirmed", 2)
	r.beforeCheckpoint = func() error { return errors.New("killed") }
	if _, err := r.Poll(ctx); err == nil {
		t.Fatal("the crash did not happen")
	}
	put(t, table, "O2", "pending", 1)

	again, err := Open(ctx, db, streams, table, "local", dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := again.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("after the restart: %d new events, %v; want O2's alone", n, err)
	}
	want := []string{"O1-1 order.placed", "O1-2 order.confirmed", "O2-1 order.placed"}
	if got := ids(t, again); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}
	// A third reader starts from the checkpoint: nothing new, nothing twice.
	third, err := Open(ctx, db, streams, table, "local", dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := third.Poll(ctx); err != nil || n != 0 {
		t.Errorf("from the checkpoint: %d new, %v", n, err)
	}
	if evs, err := third.After("O1-2"); err != nil || len(evs) != 1 || evs[0].EventID != "O2-1" {
		t.Errorf("after O1-2: %+v, %v", evs, err)
	}
}
