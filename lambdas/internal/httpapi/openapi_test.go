package httpapi

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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
	schemas := openAPISchemas(t)
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
		got := slices.Sorted(maps.Keys(schemas[schema].Properties))
		if slices.Sort(want); !slices.Equal(got, want) {
			t.Errorf("%s: the document's %v, the code's %v", schema, got, want)
		}
	}
	if req := slices.Sorted(slices.Values(schemas["Product"].Required)); !slices.Equal(req, served) {
		t.Errorf("Product requires %v, want every field the code serves %v", req, served)
	}
}

// Every problem name the code answers with (a newProblem here, a conflict's
// Reason anywhere) is among those docs/openapi.json's Problem lists.
func TestProblemNamesMatchOpenAPI(t *testing.T) {
	var problemType struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal(openAPISchemas(t)["Problem"].Properties["type"], &problemType); err != nil {
		t.Fatal(err)
	}
	listed := problemType.Description
	found := 0
	names := regexp.MustCompile(`newProblem\(http\.Status\w+, "([a-z-]+)"|Reason: +"([a-z-]+)"`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range names.FindAllStringSubmatch(string(src), -1) {
			name := m[1] + m[2]
			found++
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(listed) {
				t.Errorf("%s answers the problem %q, which docs/openapi.json's Problem does not list", path, name)
			}
		}
		return nil
	})
	if err != nil || found < 20 {
		t.Fatalf("walked the code: %v, %d problem names found", err, found)
	}
}

// schema is a schema of docs/openapi.json, as these tests read it.
type schema struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
}

// openAPISchemas are docs/openapi.json's component schemas, by name.
func openAPISchemas(t *testing.T) map[string]schema {
	t.Helper()
	raw, err := os.ReadFile("../../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}
