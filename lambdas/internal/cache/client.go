package cache

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Options says where the cache is and how to sign in.
type Options struct {
	Addr     string // host:port of the cluster's configuration endpoint
	Username string
	// Password returns the password of a new connection: the IAM auth token in
	// AWS, a fixed password locally.
	Password func(ctx context.Context) (string, error)
	TLS      *tls.Config
	// Log receives the client's own messages (failed dials, mostly) as
	// JSON lines, not bare lines on stderr. go-redis has one logger per
	// process, and a function has one client.
	Log *slog.Logger
}

// Timeouts keep a cart request well under a second when the cache is gone: one
// dial attempt of 300 ms, reads and writes of 250 ms, one retry.
const (
	dialTimeout = 300 * time.Millisecond
	ioTimeout   = 250 * time.Millisecond
	poolTimeout = 200 * time.Millisecond
)

// NewClient returns one cluster client for the execution environment. A Lambda
// serves one request at a time, so a pool of 4 connections per node is plenty.
func NewClient(o Options) *redis.ClusterClient {
	if o.Log != nil {
		redis.SetLogger(logger{o.Log})
	}
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:     []string{o.Addr},
		TLSConfig: o.TLS,
		CredentialsProviderContext: func(ctx context.Context) (string, string, error) {
			pw, err := o.Password(ctx)
			return o.Username, pw, err
		},
		DialTimeout:           dialTimeout,
		DialerRetries:         1,
		ReadTimeout:           ioTimeout,
		WriteTimeout:          ioTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              4,
		MinIdleConns:          0,
		PoolTimeout:           poolTimeout,
		MaxRetries:            1,
		MaxRedirects:          2,
		DisableIdentity:       true, // CLIENT SETINFO is not needed and not in the ACL
		// Maintenance push notifications need RESP3 and a server that sends them.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// IAMToken mints ElastiCache IAM authentication tokens: a SigV4 pre-signed
// "connect" request for the user and cache, valid 15 minutes. A token is only
// checked when a connection authenticates, so one is reused for 10 minutes.
type IAMToken struct {
	CacheName   string
	UserID      string
	Region      string
	Credentials aws.CredentialsProvider

	mu      sync.Mutex
	token   string
	expires time.Time
	now     func() time.Time
}

// tokenLife is how long a token is valid; tokenReuse how long one is handed out.
const (
	tokenLife  = 15 * time.Minute
	tokenReuse = 10 * time.Minute
)

// emptyPayload is the SHA-256 of an empty body, which a GET presign signs.
var emptyPayload = func() string { h := sha256.Sum256(nil); return hex.EncodeToString(h[:]) }()

// Token returns a valid token, minting one when the last is 10 minutes old.
func (t *IAMToken) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.now != nil {
		now = t.now()
	}
	if t.token != "" && now.Before(t.expires) {
		return t.token, nil
	}
	creds, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("credentials for the cache token: %w", err)
	}
	q := url.Values{"Action": {"connect"}, "User": {t.UserID}, "ResourceType": {"ServerlessCache"}, "X-Amz-Expires": {fmt.Sprint(int(tokenLife.Seconds()))}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.CacheName+"/?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, emptyPayload, "elasticache", t.Region, now)
	if err != nil {
		return "", fmt.Errorf("sign the cache token: %w", err)
	}
	t.token, t.expires = strings.TrimPrefix(signed, "http://"), now.Add(tokenReuse)
	return t.token, nil
}

// logger sends the client's own messages (failed dials, mostly) to the
// function's JSON log instead of bare lines on stderr.
type logger struct{ log *slog.Logger }

func (l logger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}

// Warm connects to every node of the cluster before the first request needs
// it: the cluster's slots, and per node TLS, AUTH (with the IAM token) and a
// PING; then one keyed read (of key, which no one writes, among those its
// user may read: contract.WarmKey), which loads the
// client's table of commands (COMMAND, about 2 ms and 240 entries), without
// which it cannot route a command to its slot.
func Warm(ctx context.Context, c *redis.ClusterClient, key string) error {
	err := c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
		return node.Ping(ctx).Err()
	})
	if err != nil {
		return err
	}
	return c.Exists(ctx, key).Err()
}
