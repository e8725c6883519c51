// Command local serves the whole shop API on 127.0.0.1 (PORT, default 8080)
// against local backends that it starts itself (DynamoDB Local, redis-server), through the
// same handlers the Lambdas run. Ctrl-C stops everything it started.
//
//	go run ./cmd/local [--port 8080] [--seed] [--data DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/orders"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/bucket"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/localapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/streams"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	port := flag.String("port", envOr("PORT", "8080"), "port on 127.0.0.1")
	seed := flag.Bool("seed", os.Getenv("SEED") == "1", "load the sample catalogue")
	data := flag.String("data", os.Getenv("DATA_DIR"), "keep data in this directory between runs (default: start clean)")
	flag.Parse()
	log := lambdaenv.Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *port, *seed, *data, nil); err != nil {
		log.Error("local API stopped", "error", err.Error())
		os.Exit(1)
	}
}

// corsOrigins are the browser origins of a development front end: the dev
// profile's corsOrigins in cdk.json, and the same on 127.0.0.1.
var corsOrigins = []string{"http://localhost:3000", "http://127.0.0.1:3000"}

// run serves until ctx ends. ready, when set, learns the backends' endpoints
// once the API answers.
func run(ctx context.Context, log *slog.Logger, port string, seed bool, data string, ready func(backends map[string]string)) error {
	addr := net.JoinHostPort("127.0.0.1", port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	tokens, err := localapi.NewTokens("http://" + addr + "/local")
	if err != nil {
		return err
	}
	// Backends first; /health answers 503 until they are up.
	base := "http://" + addr
	dev, err := localdev.Start(ctx, localdev.Options{DataDir: data, Webhook: base + "/local/s3-events", ImagesBaseURL: base + "/local/images",
		CORSOrigins: corsOrigins, Log: log, Output: os.Stderr})
	if err != nil {
		return err
	}
	defer dev.Stop()
	if hold := os.Getenv(contract.EnvOrderHold); hold != "" {
		// ORDER_HOLD=30s make local: watch pending orders expire.
		d, err := time.ParseDuration(hold)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s %q is not a positive Go duration such as 30s", contract.EnvOrderHold, hold)
		}
		dev.Config.OrderLimits.Hold = d
	}
	dev.Config.CorsOrigins = corsOrigins
	local, err := wire.NewLocal(dev.Config, dev.Clients(log))
	if err != nil {
		return err
	}
	// The scheduled job of AWS (every minute there), every few seconds here.
	go expireEvery(ctx, log, local, expiryEvery)
	srv := localapi.New(local.Router(log, breakRoute(local.Routes(), os.Getenv(envBreakRoute))...), tokens, log, dev.Checks())
	srv.SetCORS(localapi.CORS{Origins: corsOrigins}) // the preflights: the REST API's mock methods
	// Stand-ins for AWS: the bucket's "object created" notification invokes the
	// images function asynchronously, and the CDN serves the bucket.
	var pending sync.WaitGroup
	defer pending.Wait()
	srv.Mount("/local/s3-events", localapi.S3Events(ctx, log, &pending, bucket.OnCreated(log, local.Images.Uploaded)))
	srv.Mount("/local/images/", localapi.Objects("/local/images/", dev.Bucket))
	srv.Mount("/local/product-cache", localapi.ProductCache(local.ProductCache))
	// The order events: the Orders table's stream read as the deployed
	// events function reads it, kept (with its checkpoint) in the data
	// directory, served as a consumer of the bus would receive them.
	eventsDir := filepath.Join(data, "events")
	if data == "" {
		if eventsDir, err = os.MkdirTemp("", "shop-events-"); err != nil {
			return err
		}
		defer os.RemoveAll(eventsDir)
	}
	reader, err := streams.Open(ctx, dev.DB, dev.Streams, dev.Config.OrdersTable, "local", eventsDir, log)
	if err != nil {
		return err
	}
	go reader.Run(ctx, eventsEvery)
	srv.Mount("/local/events", localapi.Events(reader.After))
	if seed {
		if err := loadSeed(ctx, dev.DB, dev.Config.ProductsTable); err != nil {
			return err
		}
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	srv.SetReady()
	if ready != nil {
		ready(dev.Endpoints)
	}
	log.Info("local API ready", "url", base, "backends", dev.Endpoints, "seeded", seed, "data", data)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("local API stopped")
	return nil
}

// loadSeed adds the sample catalogue; products that exist are left as they are.
func loadSeed(ctx context.Context, db *dynamodb.Client, table string) error {
	store := dynamo.NewProducts(db, table)
	for _, p := range catalog.Sample() {
		if err := store.Create(ctx, p); err != nil && !errors.Is(err, shop.ErrExists) {
			return fmt.Errorf("seed %s: %w", p.ProductID, err)
		}
	}
	return nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// envBreakRoute names a route ("GET /trending") that answers 500 on purpose:
// make test shows with it that make smoke fails when the API breaks.
const envBreakRoute = "LOCAL_BREAK_ROUTE"

// breakRoute makes the route whose key is key fail; an empty key changes
// nothing.
func breakRoute(routes []httpapi.Route, key string) []httpapi.Route {
	for i := range routes {
		if key != "" && routes[i].Key() == key {
			routes[i].Handle = func(context.Context, *httpapi.Request) (httpapi.Response, error) {
				return httpapi.Response{}, errors.New("broken on purpose (" + envBreakRoute + ")")
			}
		}
	}
	return routes
}

// eventsEvery is how often make local reads the Orders table's stream.
const eventsEvery = 200 * time.Millisecond

// expiryEvery is how often make local runs the expiry job.
const expiryEvery = 3 * time.Second

// localExpiryWorkers: one. DynamoDB Local runs transactions one at a time
// and each takes about ten times as long when they overlap (docs/speed.md,
// "Expiry"), so workers only slow it down here.
const localExpiryWorkers = 1

func expireEvery(ctx context.Context, log *slog.Logger, local *wire.Local, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if run, err := local.Lifecycle.ExpireDue(ctx, orders.ExpiryBatch, localExpiryWorkers); err != nil {
				log.Warn("expire pending orders", "error", err.Error())
			} else if run.Expired > 0 || run.Quarantined > 0 {
				log.Info("expired pending orders", "count", run.Expired, "quarantined", run.Quarantined)
			}
		}
	}
}
