package cache

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
)

var _ cart.Sessions = (*Sessions)(nil)

// Sessions keeps guest sessions as keys {cart:g:<id>}:session, in the slot of
// the guest's cart, so that revoking drops both in one command.
type Sessions struct {
	rdb   redis.Cmdable
	scope string
}

// NewSessions returns the session store over rdb.
func NewSessions(rdb redis.Cmdable, scope string) *Sessions { return &Sessions{rdb: rdb, scope: scope} }

func sessionKey(scope, id string) string { return contract.CartKeys(scope) + "g:" + id + "}:session" }

func (s *Sessions) Open(ctx context.Context, id string, ttl time.Duration) error {
	return classify("open session", s.rdb.SetNX(ctx, sessionKey(s.scope, id), "1", ttl).Err())
}

func (s *Sessions) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.PExpire(ctx, sessionKey(s.scope, id), ttl).Result()
	if err != nil {
		return false, classify("touch session", err)
	}
	return ok, nil
}

func (s *Sessions) Close(ctx context.Context, id string) error {
	guest := cart.Owner{Guest: true, ID: id}
	return classify("close session", s.rdb.Del(ctx, sessionKey(s.scope, id), cartKey(s.scope, guest), mergesKey(s.scope, guest)).Err())
}
