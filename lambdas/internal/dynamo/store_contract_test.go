//go:build integration

package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/storetest"
)

// The suites the in-memory fakes pass, against DynamoDB Local.

func TestProductsSuite(t *testing.T) {
	storetest.Products(t, func(t *testing.T) catalog.Store { return newProducts(t) })
}

func TestOrdersSuite(t *testing.T) {
	storetest.Orders(t, func(t *testing.T) storetest.OrdersEnv {
		return newOrdersEnv(t)
	})
}

func newOrdersEnv(t *testing.T) storetest.OrdersEnv {
	ctx, id := context.Background(), shop.NewID("", time.Now())
	products := newProducts(t)
	o, c := "orders-"+id, "customers-"+id
	if err := CreateOrdersTable(ctx, local, o); err != nil {
		t.Fatal(err)
	}
	if err := CreateCustomersTable(ctx, local, c); err != nil {
		t.Fatal(err)
	}
	return storetest.OrdersEnv{Orders: NewOrders(local, o, c, products.table), Products: products}
}

// A confirm whose transaction committed while its answer was lost (the SDK
// retried it after a timeout, and the retry failed its status condition) left
// the slot taken: the order is confirmed, the slot still holds its hold. The
// payment integration's repeat frees it (issue 26, item 7), or the customer
// would get 429 until the hold ended.
func TestARepeatedConfirmFreesTheSlot(t *testing.T) {
	ctx, now := context.Background(), time.Now().UTC().Truncate(time.Second)
	e := newOrdersEnv(t)
	st := e.Orders.(*Orders)
	if err := e.Products.Create(ctx, catalog.Product{ProductID: "A", Name: "A", Price: 250, Currency: "EUR", Category: "c", Quantity: 10, Version: 1}); err != nil {
		t.Fatal(err)
	}
	who := orders.Customer{UserID: "U1", Email: "u1@example.com", Name: "Ann", CreatedAt: now.Format(time.RFC3339)}
	tok1 := shop.NewID("T", time.Now()) // unique: DynamoDB keeps tokens across tables
	if _, err := st.Claim(ctx, "U1", "k1", "fp", tok1, now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	o := orders.Order{OrderID: "O1", UserID: "U1", Status: orders.StatusPending, Currency: "EUR", Total: 250, CreatedAt: now.Format(time.RFC3339),
		ExpiresAt: now.Add(15 * time.Minute).Format(time.RFC3339), Items: []orders.Item{{ProductID: "A", Name: "A", UnitPrice: 250, Quantity: 1, LineTotal: 250}}}
	if err := st.Commit(ctx, o, "k1", tok1, who, 0, 10, now); err != nil {
		t.Fatal(err)
	}
	pay := orders.Payment{Reference: "pay-1", Amount: 250, Currency: "EUR"}
	if _, err := st.Confirm(ctx, "O1", pay, now); err != nil {
		t.Fatal(err)
	}
	// The state a lost answer leaves: confirmed, and the slot still taken.
	hold := now.Add(15 * time.Minute)
	if _, err := local.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.customers, Key: map[string]types.AttributeValue{contract.UserID: str("U1")},
		UpdateExpression:          aws.String("SET #h = :h"),
		ExpressionAttributeNames:  map[string]string{"#h": holdSlot(0)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": num(hold.UnixMilli())},
	}); err != nil {
		t.Fatal(err)
	}
	if holds, _ := st.Holds(ctx, "U1", 1); !holds[0].Equal(hold) {
		t.Fatalf("the simulated slot: %v", holds)
	}
	if got, err := st.Confirm(ctx, "O1", pay, now); err != nil || got.Status != orders.StatusConfirmed {
		t.Fatalf("the repeat = %+v, %v", got, err)
	}
	if holds, _ := st.Holds(ctx, "U1", 1); !holds[0].IsZero() {
		t.Errorf("after the repeated confirm the slot holds until %v, want it free", holds[0])
	}
}

// An item written before the shop counted held units (issue 26, item 1):
// a product without on_hand, held or incarnation, and a pending order whose
// units left quantity outright. The product reads as all on hand; the first
// hold stores both figures; the old order's cancel adds its units back to
// quantity and on_hand; a new order's expiry moves its units from held.
func TestStockWrittenBeforeHeldUnitsMigrates(t *testing.T) {
	ctx, now := context.Background(), time.Now().UTC().Truncate(time.Second)
	e := newOrdersEnv(t)
	st := e.Orders.(*Orders)
	who := orders.Customer{UserID: "U1", Email: "u1@example.com", Name: "Ann", CreatedAt: now.Format(time.RFC3339)}
	place := func(id string, slot, qty int, legacy bool) orders.Order {
		t.Helper()
		o := orders.Order{OrderID: id, UserID: "U1", Status: orders.StatusPending, Currency: "EUR", Total: 250 * int64(qty), CreatedAt: now.Format(time.RFC3339),
			ExpiresAt: now.Add(15 * time.Minute).Format(time.RFC3339), HeldStock: !legacy,
			Items: []orders.Item{{ProductID: "A", Name: "A", UnitPrice: 250, Quantity: qty, LineTotal: 250 * int64(qty)}}}
		tok := shop.NewID("T", time.Now()) // unique: DynamoDB keeps tokens across tables
		if _, err := st.Claim(ctx, "U1", "k"+id, "fp", tok, now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(ctx, o, "k"+id, tok, who, slot, 10, now); err != nil {
			t.Fatal(err)
		}
		return o
	}
	figures := func() [3]int64 {
		t.Helper()
		p, err := e.Products.Get(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		return [3]int64{p.OnHand, p.Held, p.Quantity}
	}
	if err := e.Products.Create(ctx, catalog.Product{ProductID: "A", Name: "A", Price: 250, Currency: "EUR", Category: "c", Quantity: 10, Version: 1}); err != nil {
		t.Fatal(err)
	}
	place("O1", 0, 3, true)
	// The state before the change: the order's 3 off quantity, no other figure.
	if _, err := local.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &e.Products.(*Products).table, Key: productKey("A"),
		UpdateExpression: aws.String("REMOVE on_hand, held"),
	}); err != nil {
		t.Fatal(err)
	}
	if f := figures(); f != [3]int64{7, 0, 7} {
		t.Fatalf("an old item reads as %v, want [7 0 7]", f)
	}
	place("O2", 1, 2, false)
	if f := figures(); f != [3]int64{7, 2, 5} {
		t.Errorf("after a hold on the old item: %v, want [7 2 5]", f)
	}
	if _, err := st.Cancel(ctx, "U1", "O1", now); err != nil {
		t.Fatal(err)
	}
	if f := figures(); f != [3]int64{10, 2, 8} {
		t.Errorf("after the old order's cancel: %v, want [10 2 8]", f)
	}
	if got, err := st.ExpireDue(ctx, now.Add(16*time.Minute), 10, 4); err != nil || len(got.Expired) != 1 {
		t.Fatalf("expiry = %+v, %v", got, err)
	}
	if f := figures(); f != [3]int64{10, 0, 10} {
		t.Errorf("after the new order's expiry: %v, want [10 0 10]", f)
	}
}

// A due order that does not decode is set aside, not in the way (issue 26,
// item 5): before, the run stopped at it every time and the orders behind
// it never expired. It moves to the quarantined partition of the pending
// index, with why, and its neighbours expire in the same run.
func TestAPoisonOrderIsSetAside(t *testing.T) {
	ctx, now := context.Background(), time.Now().UTC().Truncate(time.Second)
	e := newOrdersEnv(t)
	st := e.Orders.(*Orders)
	who := orders.Customer{UserID: "U1", Email: "u1@example.com", CreatedAt: now.Format(time.RFC3339)}
	p := storetest.Product("A", "c", 10)
	if err := e.Products.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"O1", "O2", "O3"} {
		o := orders.Order{OrderID: id, UserID: "U1", Status: orders.StatusPending, Currency: "EUR", Total: 250, CreatedAt: now.Format(time.RFC3339),
			ExpiresAt: now.Add(time.Duration(15+i) * time.Minute).Format(time.RFC3339), HeldStock: true,
			Items: []orders.Item{{ProductID: "A", Name: "A", UnitPrice: 250, Quantity: 1, LineTotal: 250, Incarnation: p.Incarnation}}}
		tok := shop.NewID("T", time.Now())
		if _, err := st.Claim(ctx, "U1", "k"+id, "fp", tok, now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(ctx, o, "k"+id, tok, who, i, 10, now); err != nil {
			t.Fatal(err)
		}
	}
	// O1, the oldest, is poison: its lines are no longer a list.
	if _, err := local.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.orders, Key: userKey("U1", orderPrefix+"O1"),
		UpdateExpression:          aws.String("SET #items = :bad"),
		ExpressionAttributeNames:  map[string]string{"#items": "items"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":bad": str("not a list")},
	}); err != nil {
		t.Fatal(err)
	}
	due := now.Add(20 * time.Minute)
	if oldest, err := st.OldestDue(ctx, due); err != nil || !oldest.Equal(now.Add(15*time.Minute)) {
		t.Errorf("oldest due = %v, %v; want O1's end of hold", oldest, err)
	}
	run, err := st.ExpireDue(ctx, due, 10, 4)
	if err != nil || len(run.Expired) != 2 || len(run.Quarantined) != 1 || run.Quarantined[0] != "U1/"+orderPrefix+"O1" {
		t.Fatalf("run = %+v, %v; want O2 and O3 expired, O1 set aside", run, err)
	}
	out, err := local.Query(ctx, &dynamodb.QueryInput{
		TableName: &st.orders, IndexName: aws.String(contract.PendingIndex),
		KeyConditionExpression:    aws.String("#p = :q"),
		ExpressionAttributeNames:  map[string]string{"#p": contract.PendingKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":q": str(contract.Quarantined)},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("the quarantined partition = %v, %v; want O1", out, err)
	}
	item, err := local.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.orders, Key: userKey("U1", orderPrefix+"O1")})
	if err != nil || item.Item["quarantine_reason"] == nil {
		t.Errorf("O1 = %v, %v; want the reason recorded", item.Item, err)
	}
	if oldest, err := st.OldestDue(ctx, due); err != nil || !oldest.IsZero() {
		t.Errorf("oldest due after the run = %v, %v; want none", oldest, err)
	}
	if run, err := st.ExpireDue(ctx, due, 10, 4); err != nil || run.Due != 0 {
		t.Errorf("the next run = %+v, %v; want nothing due", run, err)
	}
}
