package httpapi

import (
	"slices"
	"testing"

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
	documented := map[string]bool{} // key -> public
	for _, op := range ops {
		if op.Status == "" && !slices.Contains(op.Tags, "local") {
			documented[op.Key] = op.Public
		}
	}
	served := map[string]bool{}
	for _, r := range newTestRouter(t).Routes() {
		served[r.Key()] = r.Access == Public
	}
	for key, public := range served {
		docPublic, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("%s is served but not in docs/openapi.json (or marked planned)", key)
		case docPublic != public:
			t.Errorf("%s: public %v in the router, %v in the document", key, public, docPublic)
		}
	}
	for key := range documented {
		if _, ok := served[key]; !ok {
			t.Errorf("%s is in docs/openapi.json but no router serves it", key)
		}
	}
}
