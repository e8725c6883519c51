// Package localdev is the local harness: it starts the shop's backends on
// this machine (the processes themselves are package servers), the way
// `make local`, the end-to-end tests and the benchmarks need them: DynamoDB Local with the
// tables, redis-server as a one-node TLS cluster with the cart's ACL user, and
// VersityGW with the images bucket. Nothing here runs in AWS.
package localdev

import (
	"github.com/go-cdk-shop/shop/lambdas/contract"

	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/internal/bucket"
	"github.com/go-cdk-shop/shop/lambdas/internal/cache"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/localapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/servers"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

// Options say where to keep data and where events go.
type Options struct {
	// DataDir keeps data between runs; empty starts clean and leaves nothing.
	DataDir string
	// Webhook receives VersityGW's bucket notifications (the S3 event).
	Webhook string
	// ImagesBaseURL is what image_url starts with.
	ImagesBaseURL string
	// CORSOrigins may PUT to the bucket from a browser.
	CORSOrigins []string
	Log         *slog.Logger
	Output      io.Writer // the servers' own output
}

// LocalScope is the cache scope of make local. The local cache's user may
// use every scope that starts with it (LocalScope*): the end-to-end tests
// give each shop of theirs a scope of its own, local-<id>.
const LocalScope = "local"

// Harness is the local backends running on this machine (DynamoDB Local,
// redis-server, VersityGW), clients for them, and the configuration that
// points the shop at them.
type Harness struct {
	Config    lambdaenv.Config
	DB        *dynamodb.Client
	Streams   *dynamodbstreams.Client // DynamoDB Local's change streams
	Cache     *redis.ClusterClient
	S3        *s3.Client
	Bucket    *bucket.Bucket
	Redis     *servers.Redis
	Dynamo    *servers.Process  // DynamoDB Local, for tests that pause it
	Endpoints map[string]string // name -> address, for logs and tests
	// S3AccessKey and S3SecretKey are what the S3 server checks signatures
	// with (DynamoDB Local takes any).
	S3AccessKey, S3SecretKey string
	stops                    []func()
}

// BucketName is the local images bucket.
const BucketName = "images"

// Start starts every backend and creates the tables and the bucket.
func Start(ctx context.Context, o Options) (s *Harness, err error) {
	s = &Harness{Endpoints: map[string]string{}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	dir := o.DataDir
	if dir != "" {
		// The servers run in another working directory.
		if dir, err = filepath.Abs(dir); err != nil {
			return nil, err
		}
	} else {
		if dir, err = os.MkdirTemp("", "shop-local"); err != nil {
			return nil, err
		}
		s.stops = append(s.stops, func() { os.RemoveAll(dir) })
	}
	ddbDir := ""
	if o.DataDir != "" {
		ddbDir = filepath.Join(dir, "dynamodb")
		if err := os.MkdirAll(ddbDir, 0o755); err != nil {
			return nil, err
		}
	}
	ddb, err := servers.StartDynamo(ctx, ddbDir, o.Output)
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, ddb.Stop)
	s.Dynamo = ddb
	s.Endpoints["dynamodb"] = ddb.Endpoint

	if s.Redis, err = servers.StartRedis(ctx, filepath.Join(dir, "redis"), "cart", contract.StageCacheAccess(LocalScope+"*"), o.Output); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, func() { s.Redis.Stop() })
	s.Endpoints["redis"] = s.Redis.Addr

	s3p, err := servers.StartS3(ctx, filepath.Join(dir, "s3"), o.Webhook, o.Output)
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s3p.Stop)
	s.Endpoints["s3"] = s3p.Endpoint

	s.Cache = cache.NewClient(cache.Options{Addr: s.Redis.Addr, Username: s.Redis.User, TLS: s.Redis.TLS,
		Password: func(context.Context) (string, error) { return s.Redis.Password, nil }, Log: o.Log})
	s.stops = append(s.stops, func() { s.Cache.Close() })
	s.DB = dynamo.NewClient(dynamo.LocalConfig(), ddb.Endpoint)
	s.Streams = dynamodbstreams.NewFromConfig(dynamo.LocalConfig(), func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(ddb.Endpoint) })
	s.S3AccessKey, s.S3SecretKey = s3p.AccessKey, s3p.SecretKey
	s3cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(s3p.AccessKey, s3p.SecretKey, "")}
	s.S3 = bucket.NewClient(s3cfg, s3p.Endpoint)
	s.Bucket = bucket.New(s.S3, BucketName)

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	s.Config = lambdaenv.Config{ProductsTable: "Products", OrdersTable: "Orders", CustomersTable: "Customers",
		CacheScope: LocalScope, CursorSecret: hex.EncodeToString(secret), Currency: "EUR", CartTTL: lambdaenv.DefaultCartTTL, OrderLimits: orders.DefaultLimits,
		ImagesBucket: BucketName, ImagesBaseURL: o.ImagesBaseURL, S3Endpoint: s3p.Endpoint}
	if err := errors.Join(dynamo.CreateProductsTable(ctx, s.DB, s.Config.ProductsTable),
		dynamo.CreateOrdersTable(ctx, s.DB, s.Config.OrdersTable), dynamo.CreateCustomersTable(ctx, s.DB, s.Config.CustomersTable)); err != nil {
		return nil, err
	}
	return s, s.createBucket(ctx, o.CORSOrigins)
}

func (s *Harness) createBucket(ctx context.Context, origins []string) error {
	_, err := s.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(BucketName)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return err
	}
	if len(origins) == 0 {
		return nil
	}
	// Browsers PUT straight to the bucket with the pre-signed URL.
	_, err = s.S3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(BucketName), CORSConfiguration: &s3types.CORSConfiguration{
		CORSRules: []s3types.CORSRule{{AllowedMethods: []string{"PUT"}, AllowedOrigins: origins, AllowedHeaders: []string{"Content-Type", "Content-Length"}, MaxAgeSeconds: aws.Int32(3000)}},
	}})
	return err
}

// Clients are the backends as the shop's builder takes them.
func (s *Harness) Clients(log *slog.Logger) wire.Backends {
	return wire.Backends{DB: s.DB, Cache: s.Cache, Images: s.Bucket, Log: log}
}

// Checks are the health checks of the backends.
func (s *Harness) Checks() map[string]localapi.Check {
	return map[string]localapi.Check{
		"dynamodb": func(ctx context.Context) error {
			_, err := s.DB.ListTables(ctx, &dynamodb.ListTablesInput{})
			return err
		},
		"redis": func(ctx context.Context) error {
			return s.Cache.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
		},
		"s3": func(ctx context.Context) error {
			_, err := s.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(BucketName)})
			return err
		},
	}
}

// Stop stops every backend, last started first.
func (s *Harness) Stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}
