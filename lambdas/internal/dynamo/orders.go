package dynamo

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// The Orders table holds a user's orders and checkout idempotency keys in the
// user's partition (partition key user_id, sort key sk): "ORDER#<ulid>" sorts
// by time, so the history newest first is one Query; "IDEM#<key>" expires
// through the table's TTL attribute. The Customers table has one item per user.
const (
	orderPrefix = "ORDER#"
	idemPrefix  = "IDEM#"
	// ownerPrefix + order id, sort key ownerSK: the item that says whose an
	// order is, for the payment integration, which knows only the id.
	ownerPrefix = "ORDERID#"
	ownerSK     = "OWNER"
	// keepKeys is how long an idempotency key's answer is kept for replays.
	keepKeys = 24 * time.Hour
)

var _ orders.Store = (*Orders)(nil)

// Orders is orders.Store over the Orders, Customers and Products tables.
type Orders struct {
	db                        API
	orders, customers, stocks string
}

// NewOrders returns the store.
func NewOrders(db API, ordersTable, customersTable, productsTable string) *Orders {
	return &Orders{db: db, orders: ordersTable, customers: customersTable, stocks: productsTable}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func userKey(userID, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.UserID: str(userID), contract.SortKey: str(sk)}
}

const inFlight, done = "in_flight", "done"

func (st *Orders) Claim(ctx context.Context, userID, key, fp, token string, lockUntil, now time.Time) (*orders.Attempt, error) {
	item := userKey(userID, idemPrefix+key)
	item["state"], item["fingerprint"], item["token"] = str(inFlight), str(fp), str(token)
	item["lock_until"], item[contract.TTLAttribute] = num(lockUntil.UnixMilli()), num(now.Add(keepKeys).Unix())
	// Within the checkout's budget, repeated when an attempt fails: a
	// repeat that finds its own token has the claim.
	ctx, budget := withinBudget(ctx)
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &st.orders, Item: item,
		// A new key, or an in-flight one whose invocation has ended.
		ConditionExpression:                 aws.String("attribute_not_exists(sk) OR (#state = :inflight AND lock_until < :now)"),
		ExpressionAttributeNames:            map[string]string{"#state": "state"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":inflight": str(inFlight), ":now": num(now.UnixMilli())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, writeRetryer, budget)
	ccf, ok := isConditionFailed(err)
	if !ok {
		if err != nil {
			return nil, classify("claim idempotency key", err)
		}
		return nil, nil
	}
	return decodeAttempt(ccf.Item, token)
}

// decodeAttempt reads an idempotency record; nil when it is the in-flight
// claim of token (ours: an earlier attempt of this call made it).
func decodeAttempt(item map[string]types.AttributeValue, token string) (*orders.Attempt, error) {
	var rec struct {
		State       string `dynamodbav:"state"`
		Token       string `dynamodbav:"token"`
		Fingerprint string `dynamodbav:"fingerprint"`
		LockUntil   int64  `dynamodbav:"lock_until"`
		Response    string `dynamodbav:"order_json"`
	}
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return nil, fmt.Errorf("decode idempotency record: %w", err)
	}
	if rec.State == inFlight && rec.Token == token {
		return nil, nil
	}
	a := &orders.Attempt{Fingerprint: rec.Fingerprint, Done: rec.State == done, LockUntil: time.UnixMilli(rec.LockUntil).UTC()}
	if a.Done {
		a.Order = new(orders.Order)
		if err := json.Unmarshal([]byte(rec.Response), a.Order); err != nil {
			return nil, fmt.Errorf("decode stored order: %w", err)
		}
	}
	return a, nil
}

func (st *Orders) Lookup(ctx context.Context, userID, key string) (*orders.Attempt, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.orders, Key: userKey(userID, idemPrefix+key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, classify("look up idempotency key", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	return decodeAttempt(out.Item, "")
}

func (st *Orders) Release(ctx context.Context, userID, key, token string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &st.orders, Key: userKey(userID, idemPrefix+key),
		ConditionExpression:       aws.String("#state = :inflight AND #token = :token"),
		ExpressionAttributeNames:  map[string]string{"#state": "state", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":inflight": str(inFlight), ":token": str(token)},
	}, writeRetryer)
	if _, ok := isConditionFailed(err); ok {
		return nil // done, or no longer ours: nothing to release
	}
	return classify("release idempotency key", err)
}

// commitAttempts bounds the retries of a transaction that DynamoDB cancelled
// because another one held an item (TransactionConflict), when the caller
// set no deadline; with one, they go on while it leaves time.
const commitAttempts = 4

// conflictBackoff is the most one wait between conflicting attempts lasts.
const conflictBackoff = 200 * time.Millisecond

func (st *Orders) Commit(ctx context.Context, o orders.Order, key, token string, who orders.Customer, slot, maxUnits int, now time.Time) error {
	in, err := st.transaction(o, key, token, who, slot, maxUnits, now)
	if err != nil {
		return err
	}
	// The claim's token (with the slot, which a retry may change) makes the
	// transaction idempotent for DynamoDB: an attempt the SDK retries after a
	// timeout cannot apply twice.
	in.ClientRequestToken = aws.String(fmt.Sprintf("%s-%d", token, slot))
	deadline, budgeted := ctx.Deadline()
	ctx, budget := withinBudget(ctx)
	for attempt := 1; ; attempt++ {
		_, err = st.db.TransactWriteItems(ctx, in, budget)
		if err == nil {
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return classify("checkout transaction", err)
		}
		if conflictErr := st.cancelled(o, tce.CancellationReasons, slot, maxUnits, now); conflictErr != nil {
			return conflictErr
		}
		// Only conflicts with other transactions on the same items (a flash
		// sale): wait a random time, up to twice as long each time (full
		// jitter, so the contenders spread out), and try again while the
		// budget leaves time for the wait and an attempt.
		wait := time.Duration(rand.Int64N(int64(min(conflictBackoff, 10*time.Millisecond<<attempt))))
		if (!budgeted && attempt == commitAttempts) || (budgeted && time.Until(deadline) < wait+minAttempt) {
			return fmt.Errorf("checkout transaction: %w: contended %d times: %w", shop.ErrThrottled, attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("checkout transaction: %w: %w", shop.ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// minAttempt is the least time worth starting a transaction attempt with.
const minAttempt = 100 * time.Millisecond

func (st *Orders) transaction(o orders.Order, key, token string, who orders.Customer, slot, maxUnits int, now time.Time) (*dynamodb.TransactWriteItemsInput, error) {
	hold, err := time.Parse(time.RFC3339, o.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("order expires_at %q: %w", o.ExpiresAt, err)
	}
	at := now.Format(time.RFC3339)
	items := make([]types.TransactWriteItem, 0, len(o.Items)+3)
	for _, it := range o.Items {
		items = append(items, st.stockMove(it, moveHold, o, at))
	}
	order, err := PendingItem(o, slot)
	if err != nil {
		return nil, err
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{
		TableName: &st.orders, Item: order, ConditionExpression: aws.String("attribute_not_exists(sk)"),
	}}, types.TransactWriteItem{Put: &types.Put{
		// Where the payment integration finds the order by its id alone.
		TableName: &st.orders, Item: map[string]types.AttributeValue{contract.UserID: str(ownerPrefix + o.OrderID), contract.SortKey: str(ownerSK), "owner": str(o.UserID)},
		ConditionExpression: aws.String("attribute_not_exists(sk)"),
	}})
	response, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{
		TableName: &st.orders, Key: userKey(o.UserID, idemPrefix+key),
		UpdateExpression:          aws.String("SET #state = :done, order_json = :resp, order_id = :oid REMOVE lock_until"),
		ConditionExpression:       aws.String("#state = :inflight AND #token = :token"),
		ExpressionAttributeNames:  map[string]string{"#state": "state", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": str(done), ":resp": str(string(response)), ":oid": str(o.OrderID), ":inflight": str(inFlight), ":token": str(token)},
	}})
	names := map[string]string{"#name": "name", "#hold": holdSlot(slot)}
	values := map[string]types.AttributeValue{":email": str(who.Email), ":name": str(who.Name), ":at": str(who.CreatedAt), ":one": num(1),
		":hold": num(hold.UnixMilli()), ":now": num(now.UnixMilli())}
	// The slot is free, or its hold has ended; and the customer's pending
	// orders hold at most maxUnits of each product, this one's included.
	add, cond := ", order_count :one", "(attribute_not_exists(#hold) OR #hold <= :now)"
	for i, it := range o.Items {
		n := strconv.Itoa(i)
		names["#u"+n] = heldUnits(it.ProductID)
		values[":u"+n], values[":m"+n] = num(int64(it.Quantity)), num(int64(maxUnits-it.Quantity))
		add += ", #u" + n + " :u" + n
		cond += " AND (attribute_not_exists(#u" + n + ") OR #u" + n + " <= :m" + n + ")"
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{
		TableName: &st.customers, Key: map[string]types.AttributeValue{contract.UserID: str(o.UserID)},
		UpdateExpression:                    aws.String("SET email = if_not_exists(email, :email), #name = if_not_exists(#name, :name), created_at = if_not_exists(created_at, :at), #hold = :hold ADD " + strings.TrimPrefix(add, ", ")),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}})
	return &dynamodb.TransactWriteItemsInput{TransactItems: items}, nil
}

// PendingItem is pending order o, which takes pending slot slot, as the
// Orders table keeps it: the item checkout's transaction puts (and a
// benchmark's backlog, written in bulk).
func PendingItem(o orders.Order, slot int) (map[string]types.AttributeValue, error) {
	hold, err := time.Parse(time.RFC3339, o.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("order expires_at %q: %w", o.ExpiresAt, err)
	}
	order, err := attributevalue.MarshalMap(o)
	if err != nil {
		return nil, fmt.Errorf("marshal order: %w", err)
	}
	order[contract.SortKey] = str(orderPrefix + o.OrderID)
	// The first of the order's status changes: its events carry the count.
	order[contract.OrderSequence] = num(1)
	// Pending: in the sparse index of holds to expire, and the slot it takes.
	order[contract.PendingKey], order[contract.HoldKey], order["slot"] = str("1"), num(hold.UnixMilli()), num(int64(slot))
	return order, nil
}

// move is what an order's status change does to its products' stock.
type move int

const (
	moveHold    move = iota // checkout: available to held
	moveSell                // confirm: off held and on hand
	moveRelease             // cancel, expiry: held back to available
)

// stockMove is the product update that moves line it of order o by mv.
// Every move keeps quantity = on_hand - held and 0 <= held <= on_hand, and
// applies only to the incarnation the order was placed on. A product
// written before the shop counted held units has no on_hand and no held
// (they read as quantity and 0); the first hold stores both. An order
// placed before (o.HeldStock false) took its units off quantity outright:
// its release adds them back to quantity and on_hand, to a product that was
// not created again since, and its sale moves nothing (never asked).
func (st *Orders) stockMove(it orders.Item, mv move, o orders.Order, at string) types.TransactWriteItem {
	values := map[string]types.AttributeValue{":q": num(int64(it.Quantity)), ":one": num(1), ":at": str(at)}
	incarnation := "attribute_not_exists(incarnation)"
	if it.Incarnation != "" {
		incarnation, values[":inc"] = "incarnation = :inc", str(it.Incarnation)
	}
	var set, cond string
	switch {
	case mv == moveHold:
		// Enough available, at the price and in the currency the order states.
		set = "quantity = quantity - :q, held = if_not_exists(held, :zero) + :q, on_hand = if_not_exists(on_hand, quantity)"
		cond = "quantity >= :q AND price = :price AND currency = :cur AND " + incarnation
		values[":zero"], values[":price"], values[":cur"] = num(0), num(it.UnitPrice), str(o.Currency)
	case !o.HeldStock:
		set = "quantity = quantity + :q, on_hand = if_not_exists(on_hand, quantity) + :q"
		cond = "attribute_exists(product_id) AND attribute_not_exists(incarnation)"
	case mv == moveSell:
		set, cond = "on_hand = on_hand - :q, held = held - :q", "held >= :q AND "+incarnation
	default:
		set, cond = "quantity = quantity + :q, held = held - :q", "held >= :q AND "+incarnation
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &st.stocks, Key: productKey(it.ProductID),
		UpdateExpression:                    aws.String("SET " + set + ", version = version + :one, updated_at = :at"),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// heldUnits is the customer attribute counting the units of product id that
// the customer's pending orders hold.
func heldUnits(id string) string { return "held_" + id }

// heldOf reads the customer's held units of o's products from the customer item.
func heldOf(o orders.Order, customer map[string]types.AttributeValue) map[string]int64 {
	held := map[string]int64{}
	for _, it := range o.Items {
		if v, ok := customer[heldUnits(it.ProductID)].(*types.AttributeValueMemberN); ok {
			held[it.ProductID], _ = strconv.ParseInt(v.Value, 10, 64)
		}
	}
	return held
}

// cancelled explains a cancelled checkout from the reasons, one per item in
// order: nil when only conflicts with other transactions cancelled it.
func (st *Orders) cancelled(o orders.Order, reasons []types.CancellationReason, slot, maxUnits int, now time.Time) error {
	var fields []shop.FieldError
	lost, slotTaken := false, false
	var holdLimit error
	for i, r := range reasons {
		code := aws.ToString(r.Code)
		switch {
		case code == "None" || code == "" || code == "TransactionConflict":
			continue
		case code != "ConditionalCheckFailed":
			return fmt.Errorf("checkout transaction: %w: item %d %s", shop.ErrThrottled, i, code)
		case i < len(o.Items):
			fields = append(fields, shortLine(o.Items[i], r.Item))
		case i == len(o.Items)+2:
			lost = true // the idempotency key is no longer ours
		case i == len(o.Items)+3:
			// The customer's condition: the slot, or the units held.
			holdLimit = orders.HoldLimit(o, heldOf(o, r.Item), maxUnits)
			if holdLimit == nil || slotHeld(r.Item, slot, now) {
				slotTaken, holdLimit = true, nil
			}
		}
	}
	switch {
	case len(fields) == 0 && !lost && holdLimit != nil:
		return holdLimit
	case len(fields) == 0 && !lost && slotTaken:
		return orders.ErrSlotTaken
	case len(fields) > 0:
		return &shop.ConflictError{Reason: "insufficient-stock", Detail: "Some lines cannot be filled; nothing was ordered.", Fields: fields}
	case lost:
		return &shop.ConflictError{Reason: "checkout-in-progress", Detail: "This Idempotency-Key was taken over by another attempt."}
	}
	return nil
}

// slotHeld says whether the customer item's slot holds a hold not yet ended.
func slotHeld(customer map[string]types.AttributeValue, slot int, now time.Time) bool {
	v, ok := customer[holdSlot(slot)].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	ms, err := strconv.ParseInt(v.Value, 10, 64)
	return err == nil && ms > now.UnixMilli()
}

func shortLine(it orders.Item, old map[string]types.AttributeValue) shop.FieldError {
	f := shop.FieldError{Field: "items." + it.ProductID}
	var p struct {
		Quantity    int64  `dynamodbav:"quantity"`
		Price       int64  `dynamodbav:"price"`
		Incarnation string `dynamodbav:"incarnation"`
	}
	switch {
	case len(old) == 0:
		f.Message = "is no longer sold"
	case attributevalue.UnmarshalMap(old, &p) != nil:
		f.Message = "cannot be filled"
	case p.Incarnation != it.Incarnation:
		f.Message = "was replaced by another product with this id; review the cart"
	case p.Quantity < int64(it.Quantity):
		f.Message = fmt.Sprintf("only %d in stock, %d requested", p.Quantity, it.Quantity)
	default:
		f.Message = fmt.Sprintf("the price changed to %d; review the cart", p.Price)
	}
	return f
}

func (st *Orders) Get(ctx context.Context, userID, orderID string) (orders.Order, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.orders, Key: userKey(userID, orderPrefix+orderID)})
	if err != nil {
		return orders.Order{}, classify("get order", err)
	}
	if out.Item == nil {
		return orders.Order{}, shop.ErrNotFound
	}
	var o orders.Order
	if err := attributevalue.UnmarshalMap(out.Item, &o); err != nil {
		return orders.Order{}, fmt.Errorf("decode order: %w", err)
	}
	return o, nil
}

func (st *Orders) List(ctx context.Context, userID string, limit int, after *orders.PageKey) ([]orders.Order, *orders.PageKey, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &st.orders,
		KeyConditionExpression:    aws.String("user_id = :u AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID), ":p": str(orderPrefix)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit + 1)),
	}
	if after != nil {
		in.ExclusiveStartKey = userKey(userID, orderPrefix+after.OrderID)
	}
	out, err := st.db.Query(ctx, in)
	if err != nil {
		return nil, nil, classify("list orders", err)
	}
	list := make([]orders.Order, 0, len(out.Items))
	for _, item := range out.Items {
		var o orders.Order
		if err := attributevalue.UnmarshalMap(item, &o); err != nil {
			return nil, nil, fmt.Errorf("decode order: %w", err)
		}
		list = append(list, o)
	}
	if len(list) > limit {
		return list[:limit], &orders.PageKey{OrderID: list[limit-1].OrderID}, nil
	}
	return list, nil, nil
}

func (st *Orders) Customer(ctx context.Context, userID string) (orders.Customer, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.customers, Key: map[string]types.AttributeValue{contract.UserID: str(userID)}})
	if err != nil {
		return orders.Customer{}, classify("get customer", err)
	}
	if out.Item == nil {
		return orders.Customer{}, shop.ErrNotFound
	}
	return decodeCustomer(out.Item)
}

func (st *Orders) CreateCustomer(ctx context.Context, c orders.Customer) (orders.Customer, error) {
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		return orders.Customer{}, err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &st.customers, Item: item, ConditionExpression: aws.String("attribute_not_exists(user_id)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, writeRetryer)
	if ccf, ok := isConditionFailed(err); ok {
		return decodeCustomer(ccf.Item) // created meanwhile: that one stands
	}
	if err != nil {
		return orders.Customer{}, classify("create customer", err)
	}
	return c, nil
}

func (st *Orders) Rename(ctx context.Context, c orders.Customer) (orders.Customer, error) {
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.customers, Key: map[string]types.AttributeValue{contract.UserID: str(c.UserID)},
		UpdateExpression:          aws.String("SET #name = :name, email = if_not_exists(email, :email), created_at = if_not_exists(created_at, :at), order_count = if_not_exists(order_count, :zero)"),
		ExpressionAttributeNames:  map[string]string{"#name": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":name": str(c.Name), ":email": str(c.Email), ":at": str(c.CreatedAt), ":zero": num(0)},
		ReturnValues:              types.ReturnValueAllNew,
	}, writeRetryer)
	if err != nil {
		return orders.Customer{}, classify("rename customer", err)
	}
	return decodeCustomer(out.Attributes)
}

func decodeCustomer(item map[string]types.AttributeValue) (orders.Customer, error) {
	var c orders.Customer
	if err := attributevalue.UnmarshalMap(item, &c); err != nil {
		return orders.Customer{}, fmt.Errorf("decode customer: %w", err)
	}
	return c, nil
}

// holdSlot is the customer attribute of pending slot n: the end of its
// order's hold in epoch milliseconds.
func holdSlot(n int) string { return "hold_" + strconv.Itoa(n) }

func (st *Orders) Holds(ctx context.Context, userID string, n int) ([]time.Time, error) {
	names := map[string]string{}
	proj := make([]string, n)
	for i := range n {
		names["#h"+strconv.Itoa(i)] = holdSlot(i)
		proj[i] = "#h" + strconv.Itoa(i)
	}
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.customers, Key: map[string]types.AttributeValue{contract.UserID: str(userID)},
		ProjectionExpression: aws.String(strings.Join(proj, ", ")), ExpressionAttributeNames: names, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, classify("read pending slots", err)
	}
	holds := make([]time.Time, n)
	for i := range n {
		if v, ok := out.Item[holdSlot(i)].(*types.AttributeValueMemberN); ok {
			ms, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("pending slot %d holds %q", i, v.Value)
			}
			holds[i] = time.UnixMilli(ms).UTC()
		}
	}
	return holds, nil
}

// stored is an order as the table keeps it, with what a transition needs.
type stored struct {
	orders.Order
	holdMS int64
	slot   int
	found  bool
}

func (st *Orders) load(ctx context.Context, userID, orderID string) (stored, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.orders, Key: userKey(userID, orderPrefix+orderID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return stored{}, classify("get order", err)
	}
	if out.Item == nil {
		return stored{}, nil
	}
	return decodeStored(out.Item)
}

// decodeStored reads an order item with what a transition needs.
func decodeStored(item map[string]types.AttributeValue) (stored, error) {
	var s stored
	if err := attributevalue.UnmarshalMap(item, &s.Order); err != nil {
		return stored{}, fmt.Errorf("decode order: %w", err)
	}
	var extra struct {
		Hold int64 `dynamodbav:"hold_ms"`
		Slot int   `dynamodbav:"slot"`
	}
	_ = attributevalue.UnmarshalMap(item, &extra)
	if extra.Hold == 0 {
		if t, err := time.Parse(time.RFC3339, s.ExpiresAt); err == nil {
			extra.Hold = t.UnixMilli()
		}
	}
	s.holdMS, s.slot, s.found = extra.Hold, extra.Slot, true
	return s, nil
}

// errRaced is a transition whose status condition failed: another one won.
var errRaced = errors.New("the order changed meanwhile")

// finish moves a pending order to status in one transaction, with its
// units moved by mv (on the products that are still the incarnation the
// order was placed on), under cond (on top of "still pending"); then a
// confirm frees the order's pending slot. A cancelled order keeps its slot
// until its hold would have ended, so cancelling and ordering again cannot
// renew a hold without end; an expired one's hold has ended, which frees
// its slot for checkout (a slot past its hold is free).
func (st *Orders) finish(ctx context.Context, o stored, status string, mv move, cond string, values map[string]types.AttributeValue, sets string, now time.Time) error {
	at := now.Format(time.RFC3339)
	gone := map[string]bool{}
	for attempt := 1; ; attempt++ {
		vals := map[string]types.AttributeValue{":to": str(status), ":pending": str(orders.StatusPending), ":at": str(at), ":seq1": num(1)}
		for k, v := range values {
			vals[k] = v
		}
		items := []types.TransactWriteItem{{Update: &types.Update{
			TableName: &st.orders, Key: userKey(o.UserID, orderPrefix+o.OrderID),
			// The change is counted (an order placed before orders counted
			// them was its first): its event carries the count.
			UpdateExpression:          aws.String("SET #status = :to, updated_at = :at, #seq = if_not_exists(#seq, :seq1) + :seq1" + sets + " REMOVE #pending, #hold"),
			ConditionExpression:       aws.String("#status = :pending" + cond),
			ExpressionAttributeNames:  map[string]string{"#status": "status", "#pending": contract.PendingKey, "#hold": contract.HoldKey, "#seq": contract.OrderSequence},
			ExpressionAttributeValues: vals,
		}}}
		var lines []orders.Item
		if mv != moveSell || o.HeldStock { // an old order's sale moves nothing
			for _, it := range o.Items {
				if gone[it.ProductID] {
					continue // deleted or created again since: its units have nowhere to go
				}
				lines = append(lines, it)
				items = append(items, st.stockMove(it, mv, o.Order, at))
			}
		}
		// The order no longer holds its units: count them off the customer.
		names, values, add := map[string]string{}, map[string]types.AttributeValue{}, ""
		for i, it := range o.Items {
			n := strconv.Itoa(i)
			names["#u"+n], values[":u"+n] = heldUnits(it.ProductID), num(-int64(it.Quantity))
			add += ", #u" + n + " :u" + n
		}
		if add != "" {
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: &st.customers, Key: map[string]types.AttributeValue{contract.UserID: str(o.UserID)},
				UpdateExpression:         aws.String("ADD " + strings.TrimPrefix(add, ", ")),
				ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			}})
		}
		// No ClientRequestToken: the status condition already makes a
		// repeat (an SDK retry after a timeout, or a concurrent transition)
		// fail rather than move the stock again, and the caller looks again.
		_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			break
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return classify(status+" order", err)
		}
		retry := false
		for i, r := range tce.CancellationReasons {
			switch code := aws.ToString(r.Code); {
			case i == 0 && code == "ConditionalCheckFailed":
				return errRaced
			case i > 0 && i <= len(lines) && code == "ConditionalCheckFailed":
				gone[lines[i-1].ProductID] = true
				retry = true
			case code == "TransactionConflict":
				retry = true
			}
		}
		if !retry || attempt == commitAttempts {
			return fmt.Errorf("%s order: %w: %w", status, shop.ErrThrottled, err)
		}
		if n, ok := ctx.Value(retriesKey{}).(*atomic.Int64); ok {
			n.Add(1)
		}
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("%s order: %w: %w", status, shop.ErrUnavailable, err)
		}
	}
	if status != orders.StatusConfirmed {
		// A cancelled order keeps its slot until its hold would have ended;
		// an expired one's hold has ended, so checkout takes its slot as
		// free already: one write less per expiry.
		return nil
	}
	st.freeSlot(ctx, o)
	return nil
}

// freeSlot frees the pending slot o took, unless a newer order has taken it
// after o's hold ended. Idempotent; best effort: when it fails, the order's
// move stands and the slot frees itself when the hold ends.
func (st *Orders) freeSlot(ctx context.Context, o stored) {
	_, _ = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.customers, Key: map[string]types.AttributeValue{contract.UserID: str(o.UserID)},
		UpdateExpression:          aws.String("REMOVE #hold"),
		ConditionExpression:       aws.String("#hold = :hold"),
		ExpressionAttributeNames:  map[string]string{"#hold": holdSlot(o.slot)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":hold": num(o.holdMS)},
	}, writeRetryer)
}

func (st *Orders) Cancel(ctx context.Context, userID, orderID string, now time.Time) (orders.Order, error) {
	for range 3 {
		o, err := st.load(ctx, userID, orderID)
		switch {
		case err != nil:
			return orders.Order{}, err
		case !o.found:
			return orders.Order{}, shop.ErrNotFound
		case o.Status == orders.StatusCancelled:
			return o.Order, nil
		case o.Status != orders.StatusPending:
			return orders.Order{}, orders.NotPending(o.Status)
		}
		err = st.finish(ctx, o, orders.StatusCancelled, moveRelease, "", nil, "", now)
		if errors.Is(err, errRaced) {
			continue // look again: cancelled by another request, or expired
		}
		if err != nil {
			return orders.Order{}, err
		}
		o.Status = orders.StatusCancelled
		return o.Order, nil
	}
	return orders.Order{}, fmt.Errorf("cancel order: %w: it keeps changing", shop.ErrThrottled)
}

func (st *Orders) owner(ctx context.Context, orderID string) (string, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.orders, Key: userKey(ownerPrefix+orderID, ownerSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", classify("find order", err)
	}
	v, ok := out.Item["owner"].(*types.AttributeValueMemberS)
	if !ok {
		return "", shop.ErrNotFound
	}
	return v.Value, nil
}

func (st *Orders) Confirm(ctx context.Context, orderID string, pay orders.Payment, now time.Time) (orders.Order, error) {
	ref := pay.Reference
	userID, err := st.owner(ctx, orderID)
	if err != nil {
		return orders.Order{}, err
	}
	for range 3 {
		o, err := st.load(ctx, userID, orderID)
		switch {
		case err != nil:
			return orders.Order{}, err
		case !o.found:
			return orders.Order{}, shop.ErrNotFound
		case o.Status != orders.StatusPending && o.Status != orders.StatusConfirmed:
			return orders.Order{}, orders.NotPending(o.Status)
		case orders.CheckPaid(o.Order, pay) != nil:
			return orders.Order{}, orders.CheckPaid(o.Order, pay)
		case o.Status == orders.StatusConfirmed && o.PaymentReference != nil && *o.PaymentReference == ref:
			// A repeat, or this confirm's own transaction committed by an SDK
			// retry whose answer was lost: the slot may still be taken.
			st.freeSlot(ctx, o)
			return o.Order, nil
		case o.Status == orders.StatusConfirmed:
			return orders.Order{}, &shop.ConflictError{Reason: "payment-reference-mismatch", Detail: "The order was confirmed with another payment reference."}
		case o.Status != orders.StatusPending:
			return orders.Order{}, orders.NotPending(o.Status)
		case o.holdMS <= now.UnixMilli():
			return orders.Order{}, orders.NotPending("past its hold")
		}
		err = st.finish(ctx, o, orders.StatusConfirmed, moveSell, " AND #hold > :now",
			map[string]types.AttributeValue{":now": num(now.UnixMilli()), ":ref": str(ref)}, ", payment_reference = :ref", now)
		if errors.Is(err, errRaced) {
			continue
		}
		if err != nil {
			return orders.Order{}, err
		}
		o.Status, o.PaymentReference = orders.StatusConfirmed, &ref
		return o.Order, nil
	}
	return orders.Order{}, fmt.Errorf("confirm order: %w: it keeps changing", shop.ErrThrottled)
}

// retriesKey carries the count of an expiry run's repeated transactions.
type retriesKey struct{}

// dueKey is a due order's key, from the pending index.
type dueKey struct {
	UserID string `dynamodbav:"user_id"`
	SK     string `dynamodbav:"sk"`
	HoldMS int64  `dynamodbav:"hold_ms"`
}

func (st *Orders) due(ctx context.Context, now time.Time, limit int) ([]dueKey, error) {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &st.orders, IndexName: aws.String(contract.PendingIndex),
		KeyConditionExpression:    aws.String("#pending = :one AND #hold <= :now"),
		ExpressionAttributeNames:  map[string]string{"#pending": contract.PendingKey, "#hold": contract.HoldKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": str("1"), ":now": num(now.UnixMilli())},
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, classify("find due orders", err)
	}
	keys := make([]dueKey, 0, len(out.Items))
	for _, item := range out.Items {
		// The index holds keys only: the table's and its own.
		var k dueKey
		if err := attributevalue.UnmarshalMap(item, &k); err != nil {
			return nil, fmt.Errorf("decode due order key: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func (st *Orders) OldestDue(ctx context.Context, now time.Time) (time.Time, error) {
	keys, err := st.due(ctx, now, 1)
	if err != nil || len(keys) == 0 {
		return time.Time{}, err
	}
	return time.UnixMilli(keys[0].HoldMS).UTC(), nil
}

func (st *Orders) ExpireDue(ctx context.Context, now time.Time, limit, workers int) (orders.Expiry, error) {
	var run orders.Expiry
	keys, err := st.due(ctx, now, limit)
	if err != nil {
		return run, err
	}
	run.Due = len(keys)
	loaded, err := st.loadMany(ctx, keys)
	if err != nil {
		return run, err
	}
	var jobs []stored
	for _, k := range keys {
		o, ok := loaded[k.SK]
		switch {
		case !ok:
			continue // gone meanwhile
		case o.err != nil:
			// A poison order: set aside, and the others go on.
			if err := st.quarantine(ctx, k, o.err, now); err != nil {
				return run, err
			}
			run.Quarantined = append(run.Quarantined, k.UserID+"/"+k.SK)
		case o.Status == orders.StatusPending:
			jobs = append(jobs, o.stored)
		}
		// else: the index lags the table; moved on already.
	}
	var mu sync.Mutex
	var retries atomic.Int64
	ctx = context.WithValue(ctx, retriesKey{}, &retries)
	err = orders.RunApart(ctx, workers, jobs, conflictKeys, func(ctx context.Context, o stored) error {
		err := st.finish(ctx, o, orders.StatusExpired, moveRelease, " AND #hold <= :now", map[string]types.AttributeValue{":now": num(now.UnixMilli())}, "", now)
		if errors.Is(err, errRaced) {
			return nil // cancelled or confirmed first
		}
		if err != nil {
			return err
		}
		o.Status = orders.StatusExpired
		mu.Lock()
		run.Expired = append(run.Expired, o.Order)
		mu.Unlock()
		return nil
	})
	run.Retries = int(retries.Load())
	return run, err
}

// conflictKeys are the items an order's expiry writes besides its own: its
// products and its customer. Two orders that share one conflict in
// DynamoDB, so the job never runs them at once.
func conflictKeys(o stored) []string {
	keys := make([]string, 0, len(o.Items)+1)
	keys = append(keys, "customer:"+o.UserID)
	for _, it := range o.Items {
		keys = append(keys, "product:"+it.ProductID)
	}
	return keys
}

// loaded is an order as loadMany read it, or why it could not be read.
type loaded struct {
	stored
	err error
}

// loadMany reads the orders of keys, strongly consistent, in one
// BatchGetItem per 100, by sort key. An item that does not decode is
// returned with its error: the caller sets it aside.
func (st *Orders) loadMany(ctx context.Context, keys []dueKey) (map[string]loaded, error) {
	tableKeys := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		tableKeys[i] = userKey(k.UserID, k.SK)
	}
	out := make(map[string]loaded, len(keys))
	err := batchGet(ctx, st.db, st.orders, "orders", tableKeys, true, func(item map[string]types.AttributeValue) error {
		if sk, ok := item[contract.SortKey].(*types.AttributeValueMemberS); ok {
			s, err := decodeStored(item)
			out[sk.Value] = loaded{stored: s, err: err}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// quarantine sets a pending order that cannot be read aside: out of the due
// partition of the pending index, into contract.Quarantined, with why and
// when. Its units stay held until an operator mends it (docs/operations.md).
func (st *Orders) quarantine(ctx context.Context, k dueKey, why error, now time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.orders, Key: userKey(k.UserID, k.SK),
		UpdateExpression:          aws.String("SET #pending = :q, quarantined_at = :at, quarantine_reason = :why"),
		ConditionExpression:       aws.String("#pending = :one"),
		ExpressionAttributeNames:  map[string]string{"#pending": contract.PendingKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":q": str(contract.Quarantined), ":one": str("1"), ":at": str(now.Format(time.RFC3339)), ":why": str(why.Error())},
	}, writeRetryer)
	if _, ok := isConditionFailed(err); ok {
		return nil // no longer pending: nothing to set aside
	}
	return classify("quarantine order", err)
}
