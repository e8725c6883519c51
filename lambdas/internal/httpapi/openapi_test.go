package httpapi

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/openapi"
)

// The router and docs/openapi.json list the same served routes, with the same
// need for a token. Operations marked planned, and the local-only ones, are
// left out.
func TestRoutesMatchOpenAPI(t *testing.T) {
	ops, err := openapi.Load("../../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{} // key -> who may call
	for _, op := range ops {
		if op.Status == "" && !slices.Contains(op.Tags, "local") {
			documented[op.Key] = map[bool]string{true: "anyone", false: "token"}[op.Public]
			if op.Optional {
				documented[op.Key] = "guest or token"
			}
		}
	}
	served := map[string]string{}
	for _, r := range contract.Routes() {
		served[r.Key()] = map[contract.Access]string{contract.Public: "anyone", contract.User: "token", contract.Staff: "token", contract.Guest: "guest or token", contract.Payment: "token"}[r.Access]
	}
	for key, who := range served {
		docWho, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("%s is served but not in docs/openapi.json (or marked planned)", key)
		case docWho != who:
			t.Errorf("%s: %s in the router, %s in the document", key, who, docWho)
		}
	}
	for key := range documented {
		if _, ok := served[key]; !ok {
			t.Errorf("%s is in docs/openapi.json but no router serves it", key)
		}
	}
}

// The product schemas of docs/openapi.json and the code name the same
// fields: a product as served, and the members a create and a patch take.
func TestProductSchemasMatchOpenAPI(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	served := []string{}
	pt := reflect.TypeOf(catalog.Product{})
	for i := range pt.NumField() {
		if name := strings.Split(pt.Field(i).Tag.Get("json"), ",")[0]; name != "-" {
			served = append(served, name)
		}
	}
	without := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(productFields), func(f string) bool { return slices.Contains(names, f) })
	}
	for schema, want := range map[string][]string{
		"Product":       served,
		"ProductCreate": without("on_hand", "quantity_delta", "held"),
		"ProductPatch":  without("product_id", "held"),
	} {
		got := slices.Sorted(maps.Keys(doc.Components.Schemas[schema].Properties))
		if slices.Sort(want); !slices.Equal(got, want) {
			t.Errorf("%s: the document's %v, the code's %v", schema, got, want)
		}
	}
	if req := slices.Sorted(slices.Values(doc.Components.Schemas["Product"].Required)); !slices.Equal(req, served) {
		t.Errorf("Product requires %v, want every field the code serves %v", req, served)
	}
}
