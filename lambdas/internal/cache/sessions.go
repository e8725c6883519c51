package cache

import (
	"context"
	"fmt"
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
	return classify("close session", s.rdb.Del(ctx, sessionKey(s.scope, id), cartKey(s.scope, guest), mergesKey(s.scope, guest), takenKey(s.scope, id)).Err())
}

// takenKey keeps a session's cart taken by a merge ("id=q;id=q"), in the
// guest's slot, until the merge is applied.
func takenKey(scope, id string) string { return contract.CartKeys(scope) + "g:" + id + "}:taken" }

// takeScript: KEYS session, cart, taken; ARGV ttl. One step in the guest's
// slot: revoke, and keep the lines; a second take answers them again.
var takeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  local v = redis.call('HGETALL', KEYS[2])
  local parts = {}
  for i = 1, #v, 2 do parts[#parts + 1] = v[i] .. '=' .. v[i + 1] end
  local s = table.concat(parts, ';')
  redis.call('SET', KEYS[3], s, 'PX', ARGV[1])
  redis.call('DEL', KEYS[1], KEYS[2])
  return {1, s}
end
local t = redis.call('GET', KEYS[3])
if t then return {1, t} end
return {0, ''}`)

func (s *Sessions) Take(ctx context.Context, id string, ttl time.Duration) (cart.Lines, bool, error) {
	guest := cart.Owner{Guest: true, ID: id}
	v, err := takeScript.Run(ctx, s.rdb, []string{sessionKey(s.scope, id), cartKey(s.scope, guest), takenKey(s.scope, id)}, ms(ttl)).Slice()
	if err != nil {
		return nil, false, classify("take session", err)
	}
	if len(v) != 2 {
		return nil, false, fmt.Errorf("take session: answer of %d parts", len(v))
	}
	if n, _ := v[0].(int64); n != 1 {
		return nil, false, nil
	}
	flat, _ := v[1].(string)
	lines, err := parseRecord("taken line", flat)
	if err != nil {
		return nil, false, err
	}
	return lines, true, nil
}

func (s *Sessions) Forget(ctx context.Context, id string) error {
	return classify("forget taken session", s.rdb.Del(ctx, takenKey(s.scope, id)).Err())
}
