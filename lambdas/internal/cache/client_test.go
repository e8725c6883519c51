package cache

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The IAM token is a SigV4 pre-signed "connect" request for the user and the
// serverless cache, valid 15 minutes, without the scheme; one is reused for 10
// minutes, then renewed.
func TestIAMToken(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tok := &IAMToken{CacheName: "shop-dev-x-cart", UserID: "shop-dev-x-cart", Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "SESSION"), now: func() time.Time { return now }}
	first, err := tok.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	host, query, ok := strings.Cut(first, "/?")
	if !ok || host != "shop-dev-x-cart" || strings.Contains(first, "://") {
		t.Fatalf("token %q: want <cache name>/?<signed query>", first)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Action": "connect", "User": "shop-dev-x-cart", "ResourceType": "ServerlessCache", "X-Amz-Expires": "900",
		"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Security-Token": "SESSION", "X-Amz-Date": "20261127T120000Z",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if !strings.HasPrefix(q.Get("X-Amz-Credential"), "AKID/20261127/eu-west-1/elasticache/aws4_request") || len(q.Get("X-Amz-Signature")) != 64 {
		t.Errorf("credential %q signature %q", q.Get("X-Amz-Credential"), q.Get("X-Amz-Signature"))
	}
	now = now.Add(9 * time.Minute)
	if again, _ := tok.Token(context.Background()); again != first {
		t.Error("token not reused within 10 minutes")
	}
	now = now.Add(2 * time.Minute)
	if renewed, _ := tok.Token(context.Background()); renewed == first {
		t.Error("token not renewed after 10 minutes")
	}
}
