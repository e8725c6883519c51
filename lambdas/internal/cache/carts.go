// A cart is one hash, product id to quantity, under the key {cart:<owner>};
// the hash tag keeps every key of one owner in one slot, so each operation is
// one Lua script, atomic on the server.

package cache

import (
	"github.com/go-cdk-shop/shop/lambdas/contract"

	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

var _ cart.Store = (*Carts)(nil)

// Carts is a cart.Store over a Redis cluster client.
type Carts struct {
	rdb   redis.Cmdable
	scope string
}

// NewCarts returns the carts of scope (the stage) over rdb.
func NewCarts(rdb redis.Cmdable, scope string) *Carts { return &Carts{rdb: rdb, scope: scope} }

// cartKey and mergesKey share the hash tag {cart:<scope>:<owner>}: one slot
// per owner, within the scope's keys (contract.CartKeys).
func cartKey(scope string, o cart.Owner) string { return contract.CartKeys(scope) + o.Key() + "}" }
func mergesKey(scope string, o cart.Owner) string {
	return contract.CartKeys(scope) + o.Key() + "}:merges"
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

var getScript = redis.NewScript(`
local v = redis.call('HGETALL', KEYS[1])
if #v > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`)

func (s *Carts) Get(ctx context.Context, o cart.Owner, ttl time.Duration) (cart.Lines, error) {
	v, err := getScript.Run(ctx, s.rdb, []string{cartKey(s.scope, o)}, ms(ttl)).StringSlice()
	if err != nil {
		return nil, classify("get cart", err)
	}
	return decodeLines(v)
}

// setScript refuses a new line beyond the limit: returns 0; and, with a
// guest's session key as KEYS[2], a line of a session no longer open: -1.
var setScript = redis.NewScript(`
if #KEYS > 1 and redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

func (s *Carts) Set(ctx context.Context, o cart.Owner, id string, q int, ttl time.Duration) error {
	keys := []string{cartKey(s.scope, o)}
	if o.Guest {
		// Checked in the same step: a request validated just before its
		// session was closed or taken cannot recreate the cart.
		keys = append(keys, sessionKey(s.scope, o.ID))
	}
	ok, err := setScript.Run(ctx, s.rdb, keys, id, q, ms(ttl), cart.MaxLines).Int()
	switch {
	case err != nil:
		return classify("set line", err)
	case ok == -1:
		return cart.ErrInvalidSession
	case ok == 0:
		return cart.ErrFull
	}
	return nil
}

var removeScript = redis.NewScript(`
for i = 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`)

func (s *Carts) Remove(ctx context.Context, o cart.Owner, ttl time.Duration, ids ...string) error {
	args := make([]any, 0, len(ids)+1)
	args = append(args, ms(ttl))
	for _, id := range ids {
		args = append(args, id)
	}
	return classify("remove lines", removeScript.Run(ctx, s.rdb, []string{cartKey(s.scope, o)}, args...).Err())
}

func (s *Carts) Clear(ctx context.Context, o cart.Owner) error {
	return classify("clear cart", s.rdb.Del(ctx, cartKey(s.scope, o)).Err())
}

// clearIfScript: ARGV are id, quantity pairs; delete only on an exact match.
var clearIfScript = redis.NewScript(`
if redis.call('HLEN', KEYS[1]) ~= #ARGV / 2 then return 0 end
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('DEL', KEYS[1])
return 1`)

func (s *Carts) ClearIf(ctx context.Context, o cart.Owner, want cart.Lines) (bool, error) {
	n, err := clearIfScript.Run(ctx, s.rdb, []string{cartKey(s.scope, o)}, pairs(want)...).Int()
	if err != nil {
		return false, classify("clear cart if unchanged", err)
	}
	return n == 1, nil
}

// mergeScript: KEYS cart, merges; ARGV mergeID, ttl, maxLines, maxQuantity,
// then id, quantity, cap triples. The merges hash keeps, per mergeID, what the
// merge added ("id=n;id=n"): a repeated mergeID changes nothing and answers
// the same. A line only grows; one the user holds more of than the cap stays.
var mergeScript = redis.NewScript(`
local done = redis.call('HGET', KEYS[2], ARGV[1])
if not done then
  local parts = {}
  for i = 5, #ARGV, 3 do
    local id, q, cap = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    local cur = redis.call('HGET', KEYS[1], id)
    local n = 0
    if cap > 0 and (cur or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3])) then
      local before = tonumber(cur) or 0
      local after = math.min(before + q, cap, tonumber(ARGV[4]))
      if after > before then
        redis.call('HSET', KEYS[1], id, after)
        n = after - before
      end
    end
    parts[#parts + 1] = id .. '=' .. n
  end
  done = table.concat(parts, ';')
  redis.call('HSET', KEYS[2], ARGV[1], done)
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {redis.call('HGETALL', KEYS[1]), done}`)

func (s *Carts) Merge(ctx context.Context, o cart.Owner, mergeID string, lines cart.Lines, caps map[string]int, ttl time.Duration) (cart.Lines, cart.Lines, error) {
	args := make([]any, 0, 4+3*len(lines))
	args = append(args, mergeID, ms(ttl), cart.MaxLines, cart.MaxQuantity)
	for id, q := range lines {
		args = append(args, id, q, caps[id])
	}
	v, err := mergeScript.Run(ctx, s.rdb, []string{cartKey(s.scope, o), mergesKey(s.scope, o)}, args...).Slice()
	if err != nil {
		return nil, nil, classify("merge cart", err)
	}
	if len(v) != 2 {
		return nil, nil, fmt.Errorf("merge cart: answer of %d parts", len(v))
	}
	flat, _ := v[0].([]any)
	pairs := make([]string, len(flat))
	for i, x := range flat {
		pairs[i] = fmt.Sprint(x)
	}
	after, err := decodeLines(pairs)
	if err != nil {
		return nil, nil, err
	}
	done, _ := v[1].(string)
	added, err := parseRecord("merge record", done)
	if err != nil {
		return nil, nil, err
	}
	maps.DeleteFunc(added, func(_ string, q int) bool { return q <= 0 })
	return after, added, nil
}

// parseRecord reads lines that a script recorded as "id=n;id=n".
func parseRecord(what, rec string) (cart.Lines, error) {
	lines := cart.Lines{}
	for _, part := range strings.Split(rec, ";") {
		id, n, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		q, err := strconv.Atoi(n)
		if err != nil {
			return nil, fmt.Errorf("%s %q", what, part)
		}
		lines[id] = q
	}
	return lines, nil
}

func pairs(l cart.Lines) []any {
	out := make([]any, 0, 2*len(l))
	for id, q := range l {
		out = append(out, id, strconv.Itoa(q))
	}
	return out
}

func decodeLines(v []string) (cart.Lines, error) {
	l := make(cart.Lines, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		q, err := strconv.Atoi(v[i+1])
		if err != nil {
			return nil, fmt.Errorf("cart line %q holds %q", v[i], v[i+1])
		}
		l[v[i]] = q
	}
	return l, nil
}

// classify turns a client failure into the shop's vocabulary. A server that
// cannot be reached, times out or is busy is shop.ErrUnavailable (a 503 with
// Retry-After); a refusal such as NOPERM is a fault of ours and stays a 500.
func classify(op string, err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	var reply redis.Error
	if errors.As(err, &reply) && !transient(reply.Error()) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, shop.ErrCacheUnavailable, err)
}

func transient(msg string) bool {
	for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "MOVED", "ASK"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
