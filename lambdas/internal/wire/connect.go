package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/cache"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
)

// DynamoDB is the function's DynamoDB client (DynamoDB Local when the
// local-only endpoint is set).
func DynamoDB(env lambdaenv.Env) dynamo.API {
	return dynamo.NewClient(env.AWS, env.Config.DynamoEndpoint)
}

// Cache connects to the serverless cache in AWS: TLS, and the function role's
// IAM auth token as the password of the cache user. Locally, the local-only
// variables give a fixed password and the CA to trust.
func Cache(cfg lambdaenv.Config, awsCfg aws.Config, log *slog.Logger) (*redis.ClusterClient, error) {
	host, _, err := net.SplitHostPort(cfg.CacheEndpoint)
	if err != nil {
		return nil, fmt.Errorf("cache endpoint %q: %w", cfg.CacheEndpoint, err)
	}
	tok := &cache.IAMToken{CacheName: cfg.CacheName, UserID: cfg.CacheUser, Region: awsCfg.Region, Credentials: awsCfg.Credentials}
	password := tok.Token
	if cfg.CachePassword != "" { // a local cache
		password = func(context.Context) (string, error) { return cfg.CachePassword, nil }
	}
	tlsCfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CacheCAFile != "" {
		pem, err := os.ReadFile(cfg.CacheCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", contract.EnvCacheCAFile, err)
		}
		tlsCfg.RootCAs = x509.NewCertPool()
		if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate in %s", contract.EnvCacheCAFile, cfg.CacheCAFile)
		}
	}
	return cache.NewClient(cache.Options{Addr: cfg.CacheEndpoint, Username: cfg.CacheUser, Password: password, TLS: tlsCfg, Log: log}), nil
}

// WarmFor warms b at a function's start, reading a key of its own
// (contract.WarmKey) to load the cache client's command table.
func WarmFor(env lambdaenv.Env, b Backends) {
	b.Warm(context.Background(), contract.WarmKey(env.Fn, env.Config.CacheScope))
}

// warmBudget bounds the connections Warm opens at init.
const warmBudget = time.Second

// Warm opens at init, at once, the connections the first request would
// otherwise open one after the other: DynamoDB's (TCP and TLS) and the
// cache's (the cluster's slots, TLS, AUTH). A failure is logged, and the
// first request connects as it would have.
func (b Backends) Warm(ctx context.Context, cacheKey string) {
	ctx, cancel := context.WithTimeout(ctx, warmBudget)
	defer cancel()
	var wg sync.WaitGroup
	warm := func(backend string, connect func(context.Context) error) {
		wg.Go(func() {
			if err := connect(ctx); err != nil {
				b.Log.WarnContext(ctx, "warm-up failed; the first request connects", "backend", backend, "error", err.Error())
			}
		})
	}
	if c, ok := b.DB.(*dynamodb.Client); ok {
		warm("dynamodb", func(ctx context.Context) error { return dynamo.Warm(ctx, c) })
	}
	if c, ok := b.Cache.(*redis.ClusterClient); ok {
		warm("cache", func(ctx context.Context) error { return cache.Warm(ctx, c, cacheKey) })
	}
	wg.Wait()
}
