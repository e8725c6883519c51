package httpapi

import (
	"slices"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
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
