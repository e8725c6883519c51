package cache

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
)

var _ images.Marker = (*SweepMarker)(nil)

// SweepMarker keeps where the images sweep stopped, under the scope's
// product keys (the images function's own key kind), in a key no product
// id can name ('#' is not in an id).
type SweepMarker struct {
	rdb redis.Cmdable
	key string
}

// NewSweepMarker returns scope's marker over rdb.
func NewSweepMarker(rdb redis.Cmdable, scope string) *SweepMarker {
	return &SweepMarker{rdb: rdb, key: contract.ProductKeys(scope) + "#sweep}"}
}

// sweepMarkerTTL outlives the daily runs between which a marker matters.
const sweepMarkerTTL = 7 * 24 * time.Hour

func (m *SweepMarker) Get(ctx context.Context) (string, error) {
	v, err := m.rdb.Get(ctx, m.key).Result()
	if err != nil {
		return "", classify("get sweep marker", err)
	}
	return v, nil
}

func (m *SweepMarker) Set(ctx context.Context, after string) error {
	if after == "" {
		return classify("clear sweep marker", m.rdb.Del(ctx, m.key).Err())
	}
	return classify("set sweep marker", m.rdb.Set(ctx, m.key, after, sweepMarkerTTL).Err())
}
