//go:build integration

package wire

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/cache"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/servers"
)

// The local-only cache variables reach a TLS redis-server as the functions'
// ACL user, the way `make cold` starts the real binaries; without the CA,
// the same cache is refused.
func TestCacheFromTheLocalOnlyVariables(t *testing.T) {
	server, err := servers.StartRedis(context.Background(), t.TempDir(), "cart", contract.StageCacheAccess("local"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	cfg := lambdaenv.Config{CacheEndpoint: server.Addr, CacheName: "local", CacheUser: server.User, CachePassword: server.Password, CacheCAFile: server.CAFile()}
	c, err := Cache(cfg, awsCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := cache.Warm(context.Background(), c, contract.WarmKey(contract.Cart, "local")); err != nil {
		t.Fatalf("with the CA and the password: %v", err)
	}

	cfg.CacheCAFile = ""
	untrusted, err := Cache(cfg, awsCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	if cache.Warm(context.Background(), untrusted, contract.WarmKey(contract.Cart, "local")) == nil {
		t.Fatal("a cache whose certificate no CA vouches for was trusted")
	}

	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.CacheCAFile = notPEM
	if _, err := Cache(cfg, awsCfg, nil); err == nil {
		t.Fatal("a CA file without a certificate was accepted")
	}
}
