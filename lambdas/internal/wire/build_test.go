package wire

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/cache"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/fakeenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/memory"
)

// Each function's builder, over its function's environment and the
// backends its main connects, serves exactly the function's routes of the
// table; without a backend it needs, it refuses and names it. Nothing here
// opens a connection: clients connect on first use.
func TestEachBuilderServesItsRoutes(t *testing.T) {
	awsCfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	db := dynamo.NewClient(awsCfg, "")
	rdb := cache.NewClient(cache.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	builders := map[contract.Function]func(lambdaenv.Config, Backends) ([]httpapi.Route, error){
		contract.Catalog: func(c lambdaenv.Config, b Backends) ([]httpapi.Route, error) {
			p, err := Catalog(c, b)
			return routesOf(p, err)
		},
		contract.Cart: func(c lambdaenv.Config, b Backends) ([]httpapi.Route, error) {
			p, err := Cart(c, b)
			return routesOf(p, err)
		},
		contract.Orders: func(c lambdaenv.Config, b Backends) ([]httpapi.Route, error) {
			p, err := Orders(c, b)
			return routesOf(p, err)
		},
	}
	backends := map[contract.Function]Backends{
		contract.Catalog: {DB: db, Cache: rdb, Images: memory.NewBucket(), Log: log},
		contract.Cart:    {DB: db, Cache: rdb, Log: log},
		contract.Orders:  {DB: db, Cache: rdb, Log: log},
	}
	for _, fn := range contract.HTTPFunctions() {
		t.Run(string(fn), func(t *testing.T) {
			cfg, err := lambdaenv.Load(fn, fakeenv.Plausible)
			if err != nil {
				t.Fatal(err)
			}
			got, err := builders[fn](cfg, backends[fn])
			if err != nil {
				t.Fatal(err)
			}
			want := contract.RoutesOf(fn)
			if len(got) != len(want) {
				t.Fatalf("%d routes, want %d", len(got), len(want))
			}
			for i, r := range got {
				if r.Key() != want[i].Key() || r.Handle == nil {
					t.Errorf("route %d = %s, want %s with a handler", i, r.Key(), want[i].Key())
				}
			}
			if _, err := builders[fn](cfg, Backends{Log: log}); err == nil || !strings.Contains(err.Error(), "DynamoDB") {
				t.Errorf("without backends: %v, want a refusal naming DynamoDB", err)
			}
		})
	}
	for _, c := range []struct {
		fn    contract.Function
		build func(lambdaenv.Config, Backends) error
		b     Backends
	}{
		{contract.Images, func(c lambdaenv.Config, b Backends) error { _, err := Images(c, b); return err }, Backends{DB: db, Images: memory.NewBucket(), Log: log}},
		{contract.Expiry, func(c lambdaenv.Config, b Backends) error { _, err := Expiry(c, b); return err }, Backends{DB: db, Log: log}},
	} {
		t.Run(string(c.fn), func(t *testing.T) {
			cfg, err := lambdaenv.Load(c.fn, fakeenv.Plausible)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.build(cfg, c.b); err != nil {
				t.Errorf("with its backends: %v", err)
			}
			if err := c.build(cfg, Backends{Log: log}); err == nil {
				t.Error("built without DynamoDB")
			}
		})
	}
}

func routesOf(p interface{ Routes() []httpapi.Route }, err error) ([]httpapi.Route, error) {
	if err != nil {
		return nil, err
	}
	return p.Routes(), nil
}
