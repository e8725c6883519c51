package wire

import (
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
)

// Each function's environment builds the part it serves, from the backends
// that environment names. Nothing here opens a connection: clients connect on
// first use.
func TestEachFunctionBuildsItsPart(t *testing.T) {
	awsCfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	routes := map[contract.Function][]httpapi.Route{
		contract.Catalog: (&httpapi.Catalog{}).Routes(),
		contract.Cart:    (&httpapi.Cart{}).Routes(),
		contract.Orders:  (&httpapi.Orders{}).Routes(),
	}
	for _, fn := range []contract.Function{contract.Catalog, contract.Cart, contract.Orders, contract.Images, contract.Expiry} {
		t.Run(string(fn), func(t *testing.T) {
			cfg, err := Load(fn, plausible)
			if err != nil {
				t.Fatal(err)
			}
			b, err := cfg.Backends(fn, awsCfg, log)
			if err != nil {
				t.Fatal(err)
			}
			shop, err := Build(cfg, b)
			if err != nil {
				t.Fatal(err)
			}
			switch fn {
			case contract.Images:
				if shop.Images == nil {
					t.Error("no image service")
				}
				return
			case contract.Expiry:
				if shop.Lifecycle == nil || shop.Cart != nil || shop.Catalog != nil {
					t.Errorf("expiry builds %+v, want the orders' lifecycle alone", shop)
				}
				return
			}
			got := shop.Routes(fn)
			if len(got) != len(routes[fn]) {
				t.Fatalf("%d routes, want %d", len(got), len(routes[fn]))
			}
			for i, r := range got {
				if r.Key() != routes[fn][i].Key() || r.Handle == nil {
					t.Errorf("route %d = %s, want %s with a handler", i, r.Key(), routes[fn][i].Key())
				}
			}
		})
	}
}
