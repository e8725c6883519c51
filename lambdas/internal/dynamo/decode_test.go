package dynamo

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
)

// sdkDecode is what decodeProduct replaces: the SDK's reflection decoder,
// and the migration rule of an item written before the shop counted held
// units (no on_hand: all of its quantity on hand, nothing held).
func sdkDecode(item map[string]types.AttributeValue) (catalog.Product, error) {
	var p productItem
	err := attributevalue.UnmarshalMap(item, &p)
	if _, ok := item["on_hand"]; !ok {
		p.OnHand, p.Held = p.Quantity, 0
	}
	return catalog.Product(p), err
}

func agree(t *testing.T, name string, item map[string]types.AttributeValue) {
	t.Helper()
	want, wantErr := sdkDecode(item)
	got, err := decodeProduct(item)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s: error %v, the SDK's %v", name, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", name, got, want)
	}
}

// TestDecodeProductAgreesWithTheSDK: the hand-written decoder reads what the
// SDK reads and refuses what it refuses, field by field, so a field added to
// catalog.Product without a case here fails.
func TestDecodeProductAgreesWithTheSDK(t *testing.T) {
	url := "https://cdn.test/p.jpg"
	full := catalog.Product{ProductID: "P1", Name: "n", Description: "d", Price: 4500, Currency: "EUR", Category: "c",
		Quantity: 7, OnHand: 9, Held: 2, Incarnation: "i1", ImageURL: &url, ImageKey: "k", UpdatedBy: "sub", Version: 3, CreatedAt: "t1", UpdatedAt: "t2"}
	// Every field non-zero: a field the decoder misses leaves a difference.
	v := reflect.ValueOf(full)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Fatalf("the fixture leaves %s zero", v.Type().Field(i).Name)
		}
	}
	item, err := attributevalue.MarshalMap(productItem(full))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeProduct(item); err != nil || !reflect.DeepEqual(got, full) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	with := func(name string, av types.AttributeValue) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{}
		for k, v := range item {
			m[k] = v
		}
		if av == nil {
			delete(m, name)
		} else {
			m[name] = av
		}
		return m
	}
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
	}{
		{"empty", map[string]types.AttributeValue{}},
		{"no image", with("image_url", nil)},
		{"written before held units counted", with("held", nil)},
		{"written before on_hand", with("on_hand", nil)},
		{"null on_hand", with("on_hand", &types.AttributeValueMemberNULL{Value: true})},
		{"null image", with("image_url", &types.AttributeValueMemberNULL{Value: true})},
		{"null name", with("name", &types.AttributeValueMemberNULL{Value: true})},
		{"null price", with("price", &types.AttributeValueMemberNULL{Value: true})},
		{"unknown attribute", with("colour", &types.AttributeValueMemberS{Value: "red"})},
		{"price as a string", with("price", &types.AttributeValueMemberS{Value: "45"})},
		{"price with a fraction", with("price", &types.AttributeValueMemberN{Value: "4.5"})},
		{"price too large", with("price", &types.AttributeValueMemberN{Value: "99999999999999999999"})},
		{"negative quantity", with("quantity", &types.AttributeValueMemberN{Value: "-2"})},
		{"name as a number", with("name", &types.AttributeValueMemberN{Value: "1"})},
		{"version as a bool", with("version", &types.AttributeValueMemberBOOL{Value: true})},
		{"image as a list", with("image_url", &types.AttributeValueMemberL{})},
	} {
		agree(t, tc.name, tc.item)
	}
}

// FuzzDecodeProduct: for any string and number values, the decoder and the
// SDK agree.
func FuzzDecodeProduct(f *testing.F) {
	f.Add("P1", "4500", "3", "https://x", true)
	f.Add("", "1e3", "-0", "", false)
	f.Add("x", "0x10", " 1", "y", true)
	f.Fuzz(func(t *testing.T, id, price, version, image string, asNumber bool) {
		item := map[string]types.AttributeValue{
			"product_id": &types.AttributeValueMemberS{Value: id},
			"price":      &types.AttributeValueMemberN{Value: price},
			"version":    &types.AttributeValueMemberN{Value: version},
			"image_url":  &types.AttributeValueMemberS{Value: image},
		}
		if asNumber {
			item["quantity"] = &types.AttributeValueMemberN{Value: price}
		} else {
			item["quantity"] = &types.AttributeValueMemberS{Value: version}
		}
		agree(t, "fuzz", item)
	})
}
