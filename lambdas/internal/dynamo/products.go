package dynamo

import (
	"math/rand/v2"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

var _ catalog.Store = (*Products)(nil)

// Products is the catalogue in the Products table (partition key product_id).
type Products struct {
	db    API
	table string
}

// NewProducts returns the store over table.
func NewProducts(db API, table string) *Products { return &Products{db: db, table: table} }

// productItem is a product as the table keeps it: catalog.Product with the
// table's attribute names, so that the domain knows no DynamoDB format. The
// two convert into each other (same fields, other tags).
type productItem struct {
	ProductID   string  `dynamodbav:"product_id"`
	Name        string  `dynamodbav:"name"`
	Description string  `dynamodbav:"description"`
	Price       int64   `dynamodbav:"price"`
	Currency    string  `dynamodbav:"currency"`
	Category    string  `dynamodbav:"category"`
	Quantity    int64   `dynamodbav:"quantity"`
	OnHand      int64   `dynamodbav:"on_hand"`
	Held        int64   `dynamodbav:"held"`
	ImageURL    *string `dynamodbav:"image_url,omitempty"`
	ImageKey    string  `dynamodbav:"image_key,omitempty"`
	Incarnation string  `dynamodbav:"incarnation,omitempty"`
	UpdatedBy   string  `dynamodbav:"updated_by,omitempty"`
	Version     int64   `dynamodbav:"version"`
	CreatedAt   string  `dynamodbav:"created_at"`
	UpdatedAt   string  `dynamodbav:"updated_at"`
}

func (s *Products) Create(ctx context.Context, p catalog.Product) error {
	p.OnHand, p.Held = p.Quantity, 0
	item, err := attributevalue.MarshalMap(productItem(p))
	if err != nil {
		return fmt.Errorf("marshal product: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(product_id)"),
	}, writeRetryer)
	if _, ok := isConditionFailed(err); ok {
		return shop.ErrExists
	}
	if err != nil {
		return classify("put product", err)
	}
	return nil
}

func (s *Products) Get(ctx context.Context, id string) (catalog.Product, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table,
		Key:       productKey(id),
		// Strongly consistent: a read after an acknowledged write sees it,
		// which the product cache's no-stale rule builds on.
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return catalog.Product{}, classify("get product", err)
	}
	if out.Item == nil {
		return catalog.Product{}, shop.ErrNotFound
	}
	return decodeProduct(out.Item)
}

// List reads pages until it has one item more than asked for (so that it knows
// whether another page follows) or the table has no more.
func (s *Products) List(ctx context.Context, q catalog.ListQuery) ([]catalog.Product, *catalog.PageKey, error) {
	var start map[string]types.AttributeValue
	if q.After != nil {
		start = productKey(q.After.ProductID)
		if q.Category != "" {
			start[contract.Category] = &types.AttributeValueMemberS{Value: q.Category}
		}
	}
	var items []map[string]types.AttributeValue
	for {
		want := int32(q.Limit + 1 - len(items))
		var page []map[string]types.AttributeValue
		var last map[string]types.AttributeValue
		if q.Category != "" {
			out, err := s.db.Query(ctx, &dynamodb.QueryInput{
				TableName:                 &s.table,
				IndexName:                 aws.String(contract.CategoryIndex),
				KeyConditionExpression:    aws.String("category = :c"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: q.Category}},
				ExclusiveStartKey:         start,
				Limit:                     &want,
			})
			if err != nil {
				return nil, nil, classify("query category", err)
			}
			page, last = out.Items, out.LastEvaluatedKey
		} else {
			out, err := s.db.Scan(ctx, &dynamodb.ScanInput{TableName: &s.table, ExclusiveStartKey: start, Limit: &want})
			if err != nil {
				return nil, nil, classify("scan products", err)
			}
			page, last = out.Items, out.LastEvaluatedKey
		}
		items = append(items, page...)
		if len(items) > q.Limit || last == nil {
			break
		}
		start = last
	}
	more := len(items) > q.Limit
	if more {
		items = items[:q.Limit]
	}
	products := make([]catalog.Product, 0, len(items))
	for _, it := range items {
		p, err := decodeProduct(it)
		if err != nil {
			return nil, nil, err
		}
		products = append(products, p)
	}
	if !more {
		return products, nil, nil
	}
	lastP := products[len(products)-1]
	return products, &catalog.PageKey{ProductID: lastP.ProductID, Category: q.Category}, nil
}

func (s *Products) Update(ctx context.Context, id string, f catalog.Fields, ifVersion *int64, at time.Time) (catalog.Product, error) {
	names := map[string]string{"#version": "version", "#updated_at": "updated_at"}
	values := map[string]types.AttributeValue{
		":one": &types.AttributeValueMemberN{Value: "1"},
		":now": &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339)},
	}
	sets := []string{"#version = #version + :one", "#updated_at = :now"}
	setS := func(attr string, v *string) {
		if v != nil {
			names["#"+attr] = attr
			values[":"+attr] = &types.AttributeValueMemberS{Value: *v}
			sets = append(sets, "#"+attr+" = :"+attr)
		}
	}
	setN := func(attr string, v *int64) {
		if v != nil {
			names["#"+attr] = attr
			values[":"+attr] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*v, 10)}
			sets = append(sets, "#"+attr+" = :"+attr)
		}
	}
	setS("name", f.Name)
	setS("description", f.Description)
	setS("currency", f.Currency)
	setS("category", f.Category)
	setN("price", f.Price)
	if f.By != "" {
		setS("updated_by", &f.By)
	}

	// Stock: quantity (available) is on_hand - held in every write. An item
	// written before the shop counted held units has neither attribute and
	// reads as on_hand = quantity, held = 0 (if_not_exists below and in
	// decodeProduct); the first stock write stores both.
	cond := "attribute_exists(product_id)"
	stock := func(v *int64, name string) {
		if v != nil {
			values[":"+name] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*v, 10)}
		}
	}
	stock(f.Quantity, "quantity")
	stock(f.OnHand, "on_hand")
	stock(f.QuantityDelta, "delta")
	if f.StockFigures() > 0 {
		values[":zero"] = &types.AttributeValueMemberN{Value: "0"}
		names["#quantity"], names["#on_hand"], names["#held"] = "quantity", "on_hand", "held"
		sets = append(sets, "#held = if_not_exists(#held, :zero)")
	}
	switch {
	case f.Quantity != nil: // the available figure: held stays held
		sets = append(sets, "#quantity = :quantity", "#on_hand = :quantity + if_not_exists(#held, :zero)")
	case f.OnHand != nil: // a stock-take: held stays held, and on_hand covers it
		sets = append(sets, "#on_hand = :on_hand", "#quantity = :on_hand - if_not_exists(#held, :zero)")
		cond += " AND (attribute_not_exists(#held) OR #held <= :on_hand)"
	case f.QuantityDelta != nil:
		// Atomic, and never below zero: the condition holds the available
		// stock that the delta needs, whatever checkouts ran meanwhile.
		values[":need"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(max(0, -*f.QuantityDelta), 10)}
		sets = append(sets, "#quantity = #quantity + :delta", "#on_hand = if_not_exists(#on_hand, #quantity) + :delta")
		cond += " AND #quantity >= :need"
	}
	if ifVersion != nil {
		cond += " AND #version = :expected"
		values[":expected"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*ifVersion, 10)}
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           &s.table,
		Key:                                 productKey(id),
		UpdateExpression:                    aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:                 &cond,
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, writeRetryer)
	if ccf, ok := isConditionFailed(err); ok {
		if len(ccf.Item) > 0 {
			old, derr := decodeProduct(ccf.Item)
			if derr == nil && (ifVersion == nil || *ifVersion == old.Version) {
				if err := catalog.StockConflict(old, f); err != nil {
					return catalog.Product{}, err
				}
			}
		}
		return catalog.Product{}, missingOrStale(ccf)
	}
	if err != nil {
		return catalog.Product{}, classify("update product", err)
	}
	return decodeProduct(out.Attributes)
}

func (s *Products) Delete(ctx context.Context, id string, ifVersion *int64) (catalog.Product, error) {
	in := &dynamodb.DeleteItemInput{
		TableName:                           &s.table,
		Key:                                 productKey(id),
		ConditionExpression:                 aws.String("attribute_exists(product_id)"),
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if ifVersion != nil {
		in.ConditionExpression = aws.String("attribute_exists(product_id) AND #version = :expected")
		in.ExpressionAttributeNames = map[string]string{"#version": "version"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":expected": &types.AttributeValueMemberN{Value: strconv.FormatInt(*ifVersion, 10)}}
	}
	out, err := s.db.DeleteItem(ctx, in, writeRetryer)
	if ccf, ok := isConditionFailed(err); ok {
		return catalog.Product{}, missingOrStale(ccf)
	}
	if err != nil {
		return catalog.Product{}, classify("delete product", err)
	}
	return decodeProduct(out.Attributes)
}

// missingOrStale tells apart the two reasons a guarded write fails: the item
// is gone, or its version moved on.
func missingOrStale(ccf *types.ConditionalCheckFailedException) error {
	if len(ccf.Item) == 0 {
		return shop.ErrNotFound
	}
	return shop.ErrStale
}

func productKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.ProductID: &types.AttributeValueMemberS{Value: id}}
}

// decodeProduct reads a product item field by field: what
// attributevalue.UnmarshalMap does by reflection (the same names, types and
// errors, TestDecodeProductAgreesWithTheSDK), at a fraction of its cost on
// the hottest read (one GET of a product).
func decodeProduct(item map[string]types.AttributeValue) (catalog.Product, error) {
	var p catalog.Product
	onHand := false
	for name, av := range item {
		var err error
		switch name {
		case "product_id":
			err = decodeS(av, &p.ProductID)
		case "name":
			err = decodeS(av, &p.Name)
		case "description":
			err = decodeS(av, &p.Description)
		case "price":
			err = decodeN(av, &p.Price)
		case "currency":
			err = decodeS(av, &p.Currency)
		case "category":
			err = decodeS(av, &p.Category)
		case "quantity":
			err = decodeN(av, &p.Quantity)
		case "on_hand":
			err = decodeN(av, &p.OnHand)
			onHand = true
		case "held":
			err = decodeN(av, &p.Held)
		case "incarnation":
			err = decodeS(av, &p.Incarnation)
		case "image_url":
			var u string
			if err = decodeS(av, &u); err == nil && !isNull(av) {
				p.ImageURL = &u
			}
		case "image_key":
			err = decodeS(av, &p.ImageKey)
		case "updated_by":
			err = decodeS(av, &p.UpdatedBy)
		case "version":
			err = decodeN(av, &p.Version)
		case "created_at":
			err = decodeS(av, &p.CreatedAt)
		case "updated_at":
			err = decodeS(av, &p.UpdatedAt)
		}
		if err != nil {
			return catalog.Product{}, fmt.Errorf("decode product: %s: %w", name, err)
		}
	}
	if !onHand {
		// Written before the shop counted held units: all of it available.
		p.OnHand, p.Held = p.Quantity, 0
	}
	return p, nil
}

func isNull(av types.AttributeValue) bool {
	_, ok := av.(*types.AttributeValueMemberNULL)
	return ok
}

// decodeS reads a string attribute (or a number's text, as the SDK does);
// NULL leaves the zero value.
func decodeS(av types.AttributeValue, into *string) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		*into = v.Value
		return nil
	case *types.AttributeValueMemberN:
		*into = v.Value
		return nil
	case *types.AttributeValueMemberNULL:
		return nil
	}
	return fmt.Errorf("a %T is not a string", av)
}

// decodeN reads a whole-number attribute; NULL leaves the zero value.
func decodeN(av types.AttributeValue, into *int64) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return err
		}
		*into = n
		return nil
	case *types.AttributeValueMemberNULL:
		return nil
	}
	return fmt.Errorf("a %T is not a number", av)
}

// GetMany reads the products among ids that exist, in one BatchGetItem per 100
// ids, retrying the keys DynamoDB leaves unprocessed a few times with
// exponential backoff and jitter (as DynamoDB asks: unprocessed keys mean the
// table is busy).
func (s *Products) GetMany(ctx context.Context, ids []string) (map[string]catalog.Product, error) {
	return s.getMany(ctx, ids, false)
}

// GetManyConsistent is GetMany read strongly consistent (twice the read
// capacity): for the images sweep, which must see every link made before.
func (s *Products) GetManyConsistent(ctx context.Context, ids []string) (map[string]catalog.Product, error) {
	return s.getMany(ctx, ids, true)
}

func (s *Products) getMany(ctx context.Context, ids []string, consistent bool) (map[string]catalog.Product, error) {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = productKey(id)
	}
	out := make(map[string]catalog.Product, len(ids))
	err := batchGet(ctx, s.db, s.table, "products", keys, consistent, func(item map[string]types.AttributeValue) error {
		p, err := decodeProduct(item)
		if err != nil {
			return err
		}
		out[p.ProductID] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// batchGet reads the items of keys from table, in one BatchGetItem per 100
// keys, and hands each to each. It retries the keys DynamoDB leaves
// unprocessed a few times with exponential backoff and jitter (as DynamoDB
// asks: unprocessed keys mean the table is busy). what names the items in
// errors.
func batchGet(ctx context.Context, db API, table, what string, keys []map[string]types.AttributeValue, consistent bool, each func(map[string]types.AttributeValue) error) error {
	for start := 0; start < len(keys); start += 100 {
		req := map[string]types.KeysAndAttributes{table: {Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(consistent)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt == unprocessedAttempts {
				return fmt.Errorf("batch get %s: %w: keys left unprocessed", what, shop.ErrThrottled)
			}
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return fmt.Errorf("batch get %s: %w: %w", what, shop.ErrUnavailable, err)
				}
			}
			res, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return classify("batch get "+what, err)
			}
			for _, item := range res.Responses[table] {
				if err := each(item); err != nil {
					return err
				}
			}
			req = res.UnprocessedKeys
		}
	}
	return nil
}

// SetImage links an image to a product unless the product is gone
// (shop.ErrNotFound) or a newer image is linked (shop.ErrStale): image keys
// carry a ULID, so the newest upload wins whatever order the events arrive in.
// It bumps the version, as any change of the product does, and returns the key
// it replaced; when key is linked already it changes nothing and returns key.
func (s *Products) SetImage(ctx context.Context, id, key, url string, at time.Time) (string, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           &s.table,
		Key:                                 productKey(id),
		UpdateExpression:                    aws.String("SET image_url = :url, image_key = :key, updated_at = :at, version = version + :one"),
		ConditionExpression:                 aws.String("attribute_exists(product_id) AND (attribute_not_exists(image_key) OR image_key < :key)"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":url": str(url), ":key": str(key), ":at": str(at.Format(time.RFC3339)), ":one": num(1)},
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, writeRetryer)
	if ccf, ok := isConditionFailed(err); ok {
		var cur struct {
			ImageKey string `dynamodbav:"image_key"`
		}
		if len(ccf.Item) > 0 && attributevalue.UnmarshalMap(ccf.Item, &cur) == nil && cur.ImageKey == key {
			// The same upload again (S3 delivers at least once; a pre-signed
			// PUT can be repeated): linked already, nothing to change.
			return key, nil
		}
		return "", missingOrStale(ccf)
	}
	if err != nil {
		return "", classify("set product image", err)
	}
	var old struct {
		ImageKey string `dynamodbav:"image_key"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &old); err != nil {
		return "", fmt.Errorf("decode product: %w", err)
	}
	return old.ImageKey, nil
}

// ClearImage unlinks key from the product if it is the linked image, and
// reports whether it was.
func (s *Products) ClearImage(ctx context.Context, id, key string, at time.Time) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       productKey(id),
		UpdateExpression:          aws.String("REMOVE image_url, image_key SET updated_at = :at, version = version + :one"),
		ConditionExpression:       aws.String("image_key = :key"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":key": str(key), ":at": str(at.Format(time.RFC3339)), ":one": num(1)},
	}, writeRetryer)
	if _, ok := isConditionFailed(err); ok {
		return false, nil
	}
	if err != nil {
		return false, classify("clear product image", err)
	}
	return true, nil
}

// unprocessedAttempts bounds the BatchGetItem calls for one batch.
const unprocessedAttempts = 4

// backoff waits before retry attempt n (1, 2, ...): a random time up to
// 25 ms × 2^n (full jitter), or until ctx ends.
func backoff(ctx context.Context, n int) error {
	d := time.Duration(rand.Int64N(int64(25*time.Millisecond) << n))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
