// Package images links product images to products. A client asks for an
// upload; the answer is a short-lived pre-signed PUT bound to the declared type
// and length, for a new key products/<product_id>/<ulid>.<ext>, so an upload
// never overwrites an image a CDN may have cached. When the object lands, the
// storage's event calls Landed, which checks the bytes and links the newest
// image to the product; anything that fails the checks is deleted.
package images

import (
	"maps"
	"slices"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// MaxBytes is the largest image accepted: 5 MiB.
const MaxBytes = 5 << 20

// URLLifetime is how long an upload URL is valid (the contract allows 15 minutes at most).
const URLLifetime = 10 * time.Minute

// extensions are the accepted types and the extension of their keys.
var extensions = map[string]string{"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

// Upload is the answer to an upload request.
type Upload struct {
	UploadURL string            `json:"upload_url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	Key       string            `json:"key"`
	ExpiresAt string            `json:"expires_at"`
}

// Store is the bucket.
type Store interface {
	// PresignPut returns a URL that accepts one PUT of exactly that type and
	// length to key until ttl has passed, and the headers to send with it.
	PresignPut(ctx context.Context, key, contentType string, length int64, ttl time.Duration) (url string, headers map[string]string, err error)
	// Head returns an object's size and content type, or shop.ErrNotFound.
	Head(ctx context.Context, key string) (size int64, contentType string, err error)
	// Start returns the first n bytes of an object (fewer if it is shorter).
	Start(ctx context.Context, key string, n int64) ([]byte, error)
	// List returns the keys under prefix.
	List(ctx context.Context, prefix string) ([]string, error)
	// ListAfter returns up to limit keys under prefix that sort after
	// after, in order, and the key to go on after ("" at the end).
	ListAfter(ctx context.Context, prefix, after string, limit int) (keys []string, next string, err error)
	// Delete removes objects; absent ones are fine.
	Delete(ctx context.Context, keys ...string) error
}

// Products is what images need of the catalogue.
type Products interface {
	Get(ctx context.Context, id string) (catalog.Product, error)
	// GetManyConsistent returns the products that exist among ids, by id,
	// read strongly consistent: a link acknowledged before shows.
	GetManyConsistent(ctx context.Context, ids []string) (map[string]catalog.Product, error)
	// SetImage links key (at url) to the product unless a newer key is linked
	// already (shop.ErrStale) or the product is gone (shop.ErrNotFound); it
	// returns the key it replaced (key itself when it was linked already,
	// which changes nothing).
	SetImage(ctx context.Context, id, key, url string, at time.Time) (previous string, err error)
	// ClearImage unlinks key if it is the product's image.
	ClearImage(ctx context.Context, id, key string, at time.Time) (bool, error)
}

// Service is the image use cases.
type Service struct {
	storage  Store
	products Products
	baseURL  string // the CDN (or locally the local API) in front of the bucket
	log      *slog.Logger
	now      func() time.Time
	inv      catalog.Invalidator // the product cache, when there is one
	marker   Marker              // where the sweep goes on; nil: from the start
}

// Marker keeps where the sweep stopped, between runs. A marker lost (the
// cache flushed, or down) only makes the next run start from the first key.
type Marker interface {
	Get(ctx context.Context) (string, error)
	// Set records after; "" when the sweep reached the end.
	Set(ctx context.Context, after string) error
}

// Options are the service's optional collaborators, given at construction
// and never set afterwards (docs/design.md).
type Options struct {
	// Invalidator, when set, is the product cache, told of the products an
	// upload changes.
	Invalidator catalog.Invalidator
	// Marker, when set, is where the sweep resumes from run to run.
	Marker Marker
	// Now is the clock (the system's, in UTC, when nil).
	Now func() time.Time
}

// NewService returns the service; image URLs are baseURL + "/" + key.
func NewService(storage Store, products Products, baseURL string, log *slog.Logger, o Options) *Service {
	now := o.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Service{storage: storage, products: products, baseURL: strings.TrimSuffix(baseURL, "/"), log: log,
		now: now, inv: o.Invalidator, marker: o.Marker}
}

// CheckUpload is the rule for an upload request.
func CheckUpload(contentType string, length int64) error {
	var v shop.Violations
	if _, ok := extensions[contentType]; !ok {
		v.Add("content_type", "must be image/jpeg, image/png or image/webp")
	}
	if length < 1 || length > MaxBytes {
		v.Add("content_length", "must be an integer from 1 to "+strconv.Itoa(MaxBytes)+" (5 MiB)")
	}
	return v.Err()
}

// NewUpload grants one upload of an image for an existing product.
func (s *Service) NewUpload(ctx context.Context, productID, contentType string, length int64) (Upload, error) {
	var v shop.Violations
	if !shop.ValidID(productID) {
		v.Add("product_id", shop.IDRule)
	}
	if err := shop.JoinInvalid(v.Err(), CheckUpload(contentType, length)); err != nil {
		return Upload{}, err
	}
	if _, err := s.products.Get(ctx, productID); err != nil {
		return Upload{}, fmt.Errorf("product %q: %w", productID, err)
	}
	now := s.now()
	key := contract.ImagesPrefix + productID + "/" + shop.NewID("", now) + "." + extensions[contentType]
	url, headers, err := s.storage.PresignPut(ctx, key, contentType, length, URLLifetime)
	if err != nil {
		return Upload{}, fmt.Errorf("presign %s: %w", key, err)
	}
	return Upload{UploadURL: url, Method: "PUT", Headers: headers, Key: key, ExpiresAt: now.Add(URLLifetime).Format(time.RFC3339)}, nil
}

// ParseKey splits products/<product_id>/<name>.<ext>.
func ParseKey(key string) (productID, contentType string, ok bool) {
	productID, contentType, _, ok = parseKey(key)
	return productID, contentType, ok
}

// SweepBefore is the sweep's cutoff at now: an upload's key carries when
// its URL was issued; it may land up to URLLifetime later, Lambda retries
// its event for up to contract.ImagesEventMaxAgeHours, and the failure
// queue keeps it for contract.ImagesSweepAfterDays, from which it can be
// redriven. Only an upload older than all three together has no event
// left to come.
func SweepBefore(now time.Time) time.Time {
	return now.Add(-(contract.ImagesSweepAfterDays*24*time.Hour + contract.ImagesEventMaxAgeHours*time.Hour + URLLifetime))
}

// LinkMargin keeps the images function's bound strictly inside the
// sweep's: at now the function acts only on uploads made at
// LinkBefore(now) or later, LinkMargin after the sweep's cutoff. An event
// redriven again and again (each redrive renews its time in the failure
// queue) can come after SweepBefore's premise, so the function refuses what
// the sweep may take: for a key to meet both, the sweep would have to run
// more than LinkMargin after the function checked the key's age, and by
// then the function's link (an invocation of at most 20 s) is done, and the
// sweep's consistent read sees it. An hour covers the invocation and any
// clock skew between the two runs many times over.
const LinkMargin = time.Hour

// LinkBefore is the images function's bound at now: an upload made before
// it is left to the sweep, never linked nor deleted by an event.
func LinkBefore(now time.Time) time.Time { return SweepBefore(now).Add(LinkMargin) }

// sweepPage is how many keys the sweep lists, reads and deletes at a time;
// sweepMargin is the time it leaves itself before its deadline.
const (
	sweepPage   = 1000
	sweepMargin = 3 * time.Second
)

// Sweep deletes the uploads made before before that no product links:
// objects whose event never reached the function or failed every attempt
// (and were not redriven). Linked images, and uploads younger than before,
// whose events may still come, stay. It goes through the bucket a page at
// a time, each page's products read strongly consistent; when its deadline
// nears it records where it stopped (the Marker), and the next run goes on
// from there, so a bucket of any size is swept across runs. It returns how
// many it deleted.
func (s *Service) Sweep(ctx context.Context, before time.Time) (int, error) {
	after := ""
	if s.marker != nil {
		var err error
		if after, err = s.marker.Get(ctx); err != nil {
			s.log.WarnContext(ctx, "sweep marker unreadable: from the start", "error", err.Error())
			after = ""
		}
	}
	deleted := 0
	for {
		if d, ok := ctx.Deadline(); ok && time.Until(d) < sweepMargin {
			s.mark(ctx, after)
			s.log.InfoContext(ctx, "sweep paused", "deleted", deleted, "after", after)
			return deleted, nil
		}
		keys, next, err := s.storage.ListAfter(ctx, contract.ImagesPrefix, after, sweepPage)
		if err != nil {
			s.mark(ctx, after) // the next run goes on from here
			return deleted, fmt.Errorf("list uploads: %w", err)
		}
		n, err := s.sweepKeys(ctx, keys, before)
		deleted += n
		if err != nil {
			s.mark(ctx, after)
			return deleted, err
		}
		if next == "" {
			s.mark(ctx, "")
			if deleted > 0 {
				s.log.InfoContext(ctx, "swept unlinked uploads", "count", deleted, "before", before.UTC().Format(time.RFC3339))
			}
			return deleted, nil
		}
		after = next
	}
}

// mark records where the sweep goes on; best effort.
func (s *Service) mark(ctx context.Context, after string) {
	if s.marker == nil {
		return
	}
	if err := s.marker.Set(ctx, after); err != nil {
		s.log.WarnContext(ctx, "record sweep marker", "error", err.Error())
	}
}

// sweepKeys deletes those of keys that are uploads made before before that
// their product does not link.
func (s *Service) sweepKeys(ctx context.Context, keys []string, before time.Time) (int, error) {
	old := map[string][]string{} // product id -> its uploads made before before
	for _, key := range keys {
		productID, _, id, ok := parseKey(key)
		if made, okTime := shop.IDTime("", id); ok && okTime && made.Before(before) {
			old[productID] = append(old[productID], key)
		}
	}
	if len(old) == 0 {
		return 0, nil
	}
	// Strongly consistent, one batch read per 100 products: a link made
	// just before shows, and a product that is gone links nothing.
	products, err := s.products.GetManyConsistent(ctx, slices.Sorted(maps.Keys(old)))
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	var gone []string
	for productID, uploads := range old {
		for _, key := range uploads {
			if key != products[productID].ImageKey {
				gone = append(gone, key)
			}
		}
	}
	if err := s.storage.Delete(ctx, gone...); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return len(gone), nil
}

// parseKey also returns the upload's id, the ULID of its name.
func parseKey(key string) (productID, contentType, id string, ok bool) {
	rest, found := strings.CutPrefix(key, contract.ImagesPrefix)
	productID, name, found2 := strings.Cut(rest, "/")
	if !found || !found2 || !shop.ValidID(productID) || strings.Contains(name, "/") {
		return "", "", "", false
	}
	base, ext, found := strings.Cut(name, ".")
	if !found || !shop.ValidID(base) {
		return "", "", "", false
	}
	for ct, e := range extensions {
		if e == ext {
			return productID, ct, base, true
		}
	}
	return "", "", "", false
}

// Sniff tells an image type by its first bytes, or "".
func Sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return "image/webp"
	}
	return ""
}

// Outcome is what Landed did with an object.
type Outcome string

const (
	Linked   Outcome = "linked"   // the product shows it
	Rejected Outcome = "rejected" // it failed a check and was deleted
	Orphaned Outcome = "orphaned" // its product is gone, or a newer image is linked: deleted
	Ignored  Outcome = "ignored"  // not a product image, or already gone
	TooLate  Outcome = "too-late" // made before LinkBefore: left as it is, for the sweep
)

// Landed handles the storage's "object created" event for key. An error means
// a backend failed and the event should be retried.
func (s *Service) Landed(ctx context.Context, key string) (Outcome, error) {
	productID, declared, id, ok := parseKey(key)
	if !ok {
		return Ignored, nil
	}
	if made, ok := shop.IDTime("", id); !ok || made.Before(LinkBefore(s.now())) {
		// An event later than every event should be (redriven past the
		// sweep's premise): the sweep's to take, never this function's.
		s.log.WarnContext(ctx, "image event too late: left for the sweep", "key", key)
		return TooLate, nil
	}
	size, contentType, err := s.storage.Head(ctx, key)
	if errors.Is(err, shop.ErrNotFound) {
		return Ignored, nil
	}
	if err != nil {
		return "", fmt.Errorf("head %s: %w", key, err)
	}
	reason := ""
	switch {
	case size < 1 || size > MaxBytes:
		reason = fmt.Sprintf("size %d outside 1..%d", size, MaxBytes)
	case contentType != declared:
		reason = fmt.Sprintf("content type %q, key says %q", contentType, declared)
	}
	if reason == "" {
		head, err := s.storage.Start(ctx, key, 12)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", key, err)
		}
		if sniffed := Sniff(head); sniffed != declared {
			reason = fmt.Sprintf("bytes are %q, declared %q", sniffed, declared)
		}
	}
	if reason != "" {
		s.log.WarnContext(ctx, "image rejected", "key", key, "reason", reason)
		// A repeated PUT on a linked image's URL may have replaced good bytes
		// with bad: the product must not point at what is about to go.
		cleared, err := s.products.ClearImage(ctx, productID, key, s.now())
		if err != nil {
			return "", fmt.Errorf("unlink %s: %w", key, err)
		}
		if cleared {
			s.invalidate(ctx, productID)
		}
		return Rejected, s.delete(ctx, key)
	}
	previous, err := s.products.SetImage(ctx, productID, key, s.baseURL+"/"+key, s.now())
	if err == nil && previous != key {
		s.invalidate(ctx, productID)
	}
	switch {
	case errors.Is(err, shop.ErrNotFound), errors.Is(err, shop.ErrStale):
		s.log.InfoContext(ctx, "image orphaned", "key", key, "reason", err.Error())
		return Orphaned, s.delete(ctx, key)
	case err != nil:
		return "", fmt.Errorf("link %s: %w", key, err)
	}
	if previous != "" && previous != key {
		if err := s.delete(ctx, previous); err != nil {
			s.log.WarnContext(ctx, "delete the replaced image", "key", previous, "error", err.Error())
		}
	}
	return Linked, nil
}

func (s *Service) delete(ctx context.Context, keys ...string) error {
	if err := s.storage.Delete(ctx, keys...); err != nil {
		return fmt.Errorf("delete %v: %w", keys, err)
	}
	return nil
}

// RemoveAll deletes every image of a product (after the product was deleted).
func (s *Service) RemoveAll(ctx context.Context, productID string) error {
	if !shop.ValidID(productID) {
		return shop.Invalid("product_id", shop.IDRule)
	}
	keys, err := s.storage.List(ctx, contract.ImagesPrefix+productID+"/")
	if err != nil {
		return fmt.Errorf("list images of %s: %w", productID, err)
	}
	if len(keys) == 0 {
		return nil
	}
	return s.delete(ctx, keys...)
}

func (s *Service) invalidate(ctx context.Context, id string) {
	if s.inv != nil {
		s.inv.Invalidate(ctx, id)
	}
}
