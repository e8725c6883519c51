package orderevents

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
)

// jsonFields are a struct's JSON field names, without the fields JSON
// never carries ("-").
func jsonFields(v any) []string {
	var out []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		if name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]; name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// docs/asyncapi.json and the code say the same: the detail's fields (all
// required), an item's fields, the statuses, and a message for each detail
// type the code emits. A field added on one side only fails here.
func TestTheAsyncAPIDocumentIsWhatTheCodeEmits(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/asyncapi.json")
	if err != nil {
		t.Fatal(err)
	}
	type schema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
		Items      *schema                    `json:"items"`
		Enum       []string                   `json:"enum"`
	}
	var doc struct {
		Components struct {
			Schemas  map[string]schema `json:"schemas"`
			Messages map[string]struct {
				Name string `json:"name"`
			} `json:"messages"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	detail := doc.Components.Schemas["OrderEventDetail"]
	if got := slices.Sorted(maps.Keys(detail.Properties)); !slices.Equal(got, jsonFields(Detail{})) {
		t.Errorf("the document's detail %v, the code's %v", got, jsonFields(Detail{}))
	}
	if req := slices.Sorted(slices.Values(detail.Required)); !slices.Equal(req, jsonFields(Detail{})) {
		t.Errorf("required %v, want every field", req)
	}
	var items schema
	if err := json.Unmarshal(detail.Properties["items"], &items); err != nil || items.Items == nil {
		t.Fatalf("items: %v", err)
	}
	if got := slices.Sorted(maps.Keys(items.Items.Properties)); !slices.Equal(got, jsonFields(orders.Item{})) {
		t.Errorf("the document's item %v, the code's %v", got, jsonFields(orders.Item{}))
	}
	var status schema
	_ = json.Unmarshal(detail.Properties["status"], &status)
	var names []string
	for _, m := range doc.Components.Messages {
		names = append(names, m.Name)
	}
	for s, kind := range contract.OrderEventTypes {
		if !slices.Contains(status.Enum, s) {
			t.Errorf("status %s is not in the document", s)
		}
		if !slices.Contains(names, kind) {
			t.Errorf("no message %s in the document", kind)
		}
	}
	if len(names) != len(contract.OrderEventTypes) || len(status.Enum) != len(contract.OrderEventTypes) {
		t.Errorf("the document has messages %v and statuses %v; the code %v", names, status.Enum, contract.OrderEventTypes)
	}
}
