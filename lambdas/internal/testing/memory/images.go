package memory

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

var _ images.Store = (*Bucket)(nil)

// Bucket is an images.Store in a map. Its upload URLs are not signed; the
// signature checks are tested against VersityGW.
type Bucket struct {
	mu      sync.Mutex
	objects map[string]Object
}

// Object is a stored object.
type Object struct {
	ContentType string
	Body        []byte
}

// NewBucket returns an empty bucket.
func NewBucket() *Bucket { return &Bucket{objects: map[string]Object{}} }

// Put stores an object, as an upload would.
func (b *Bucket) Put(key, contentType string, body []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[key] = Object{contentType, body}
}

func (b *Bucket) PresignPut(_ context.Context, key, contentType string, length int64, ttl time.Duration) (string, map[string]string, error) {
	return "https://bucket.invalid/" + url.PathEscape(key) + "?expires=" + ttl.String(),
		map[string]string{"Content-Type": contentType, "Content-Length": strconv.FormatInt(length, 10)}, nil
}

func (b *Bucket) Head(_ context.Context, key string) (int64, string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[key]
	if !ok {
		return 0, "", shop.ErrNotFound
	}
	return int64(len(o.Body)), o.ContentType, nil
}

func (b *Bucket) Start(_ context.Context, key string, n int64) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[key]
	if !ok {
		return nil, shop.ErrNotFound
	}
	return o.Body[:min(int64(len(o.Body)), n)], nil
}

func (b *Bucket) List(_ context.Context, prefix string) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (b *Bucket) ListAfter(ctx context.Context, prefix, after string, limit int) ([]string, string, error) {
	all, _ := b.List(ctx, prefix)
	i, _ := slices.BinarySearch(all, after)
	if i < len(all) && all[i] == after {
		i++
	}
	page := all[i:min(i+limit, len(all))]
	if i+limit >= len(all) || len(page) == 0 {
		return page, "", nil
	}
	return page, page[len(page)-1], nil
}

func (b *Bucket) Delete(_ context.Context, keys ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		delete(b.objects, k)
	}
	return nil
}
