package images_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/memory"
)

func TestSniff(t *testing.T) {
	for in, want := range map[string]string{
		"\xFF\xD8\xFF\xE0rest":         "image/jpeg",
		"\x89PNG\r\n\x1a\nrest":        "image/png",
		"RIFF\x00\x00\x00\x00WEBPVP8 ": "image/webp",
		"RIFF\x00\x00\x00\x00WAVE":     "",
		"GIF89a":                       "",
		"\x89PNG":                      "",
		"":                             "",
	} {
		if got := images.Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		key, id, ct string
		ok          bool
	}{
		{"products/P1/01ABC.png", "P1", "image/png", true},
		{"products/P1/01ABC.jpg", "P1", "image/jpeg", true},
		{"products/P1/01ABC.webp", "P1", "image/webp", true},
		{"products/P1/01ABC.gif", "", "", false},
		{"products/P1/a/b.png", "", "", false},
		{"products/../x.png", "", "", false},
		{"other/P1/01ABC.png", "", "", false},
		{"products/P1/.png", "", "", false},
		{"products/P1", "", "", false},
	} {
		id, ct, ok := images.ParseKey(tc.key)
		if id != tc.id || ct != tc.ct || ok != tc.ok {
			t.Errorf("ParseKey(%q) = %q %q %v", tc.key, id, ct, ok)
		}
	}
}

func TestCheckUpload(t *testing.T) {
	for _, tc := range []struct {
		ct string
		n  int64
		ok bool
	}{
		{"image/png", 1, true}, {"image/jpeg", images.MaxBytes, true}, {"image/webp", 100, true},
		{"image/png", 0, false}, {"image/png", images.MaxBytes + 1, false}, {"image/gif", 10, false},
		{"IMAGE/PNG", 10, false}, {"", 10, false},
	} {
		if err := images.CheckUpload(tc.ct, tc.n); (err == nil) != tc.ok {
			t.Errorf("CheckUpload(%q, %d) = %v", tc.ct, tc.n, err)
		}
	}
}

// Landed against the in-memory bucket: every outcome, and what stays stored.
func TestLanded(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n....")
	// Keys as the shop makes them: a ULID of when the URL was issued.
	at := time.Now().Add(-time.Hour)
	id := func(minutes int) string { return shop.NewID("", at.Add(time.Duration(minutes)*time.Minute)) }
	k1, k2, k3 := id(1), id(2), id(3)
	for _, tc := range []struct {
		name, key, contentType string
		body                   []byte
		productExists          bool
		linkedKey              string // already linked before the event
		want                   images.Outcome
		kept                   bool
	}{
		{"good", "products/P1/" + k2 + ".png", "image/png", png, true, "", images.Linked, true},
		{"text as png", "products/P1/" + k2 + ".png", "image/png", []byte("hello world!"), true, "", images.Rejected, false},
		{"type differs from key", "products/P1/" + k2 + ".jpg", "image/png", png, true, "", images.Rejected, false},
		{"empty", "products/P1/" + k2 + ".png", "image/png", nil, true, "", images.Rejected, false},
		{"product gone", "products/P1/" + k2 + ".png", "image/png", png, false, "", images.Orphaned, false},
		{"older than the linked one", "products/P1/" + k1 + ".png", "image/png", png, true, "products/P1/" + k3 + ".png", images.Orphaned, false},
		{"not a product image", "elsewhere/x.png", "image/png", png, true, "", images.Ignored, true},
		{"the linked upload again", "products/P1/" + k2 + ".png", "image/png", png, true, "products/P1/" + k2 + ".png", images.Linked, true},
		{"the linked key now holds text", "products/P1/" + k2 + ".png", "image/png", []byte("hello world!"), true, "products/P1/" + k2 + ".png", images.Rejected, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket, products := memory.NewBucket(), memory.NewProducts()
			if tc.productExists {
				_ = products.Create(context.Background(), catalog.Product{ProductID: "P1", Version: 1})
				if tc.linkedKey != "" {
					_, _ = products.SetImage(context.Background(), "P1", tc.linkedKey, "https://cdn.test/"+tc.linkedKey, time.Now())
				}
			}
			bucket.Put(tc.key, tc.contentType, tc.body)
			svc := images.NewService(bucket, products, "https://cdn.test", slog.New(slog.NewJSONHandler(io.Discard, nil)), images.Options{})
			got, err := svc.Landed(context.Background(), tc.key)
			if err != nil || got != tc.want {
				t.Fatalf("Landed = %v %v, want %v", got, err, tc.want)
			}
			if _, _, err := bucket.Head(context.Background(), tc.key); (err == nil) != tc.kept {
				t.Fatalf("object kept = %v, want %v", err == nil, tc.kept)
			}
			p, _ := products.Get(context.Background(), "P1")
			switch {
			case tc.want == images.Linked && (p.ImageURL == nil || *p.ImageURL != "https://cdn.test/"+tc.key):
				t.Fatalf("image_url = %v", p.ImageURL)
			case tc.want == images.Rejected && p.ImageKey == tc.key:
				t.Fatalf("the product still points at the deleted object %s", tc.key)
			}
		})
	}
}

// The sweep deletes old uploads that no product links, and nothing else.
func TestSweep(t *testing.T) {
	now := time.Now()
	old, young := now.Add(-15*24*time.Hour), now.Add(-time.Hour)
	key := func(product string, at time.Time) string {
		return "products/" + product + "/" + shop.NewID("", at) + ".png"
	}
	bucket, products := memory.NewBucket(), memory.NewProducts()
	ctx := context.Background()
	_ = products.Create(ctx, catalog.Product{ProductID: "P1", Version: 1})
	linked, oldUnlinked, youngUnlinked := key("P1", old), key("P1", old.Add(time.Second)), key("P1", young)
	_, _ = products.SetImage(ctx, "P1", linked, "https://cdn.test/"+linked, now)
	ofGone := key("GONE", old) // its product was deleted
	for _, k := range []string{linked, oldUnlinked, youngUnlinked, ofGone, "products/P1/not-an-upload", "elsewhere/x.png"} {
		bucket.Put(k, "image/png", []byte("x"))
	}
	svc := images.NewService(bucket, products, "https://cdn.test", slog.New(slog.NewJSONHandler(io.Discard, nil)), images.Options{})
	n, err := svc.Sweep(ctx, now.Add(-14*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2", n, err)
	}
	for k, kept := range map[string]bool{linked: true, oldUnlinked: false, youngUnlinked: true, ofGone: false, "products/P1/not-an-upload": true} {
		if _, _, err := bucket.Head(ctx, k); (err == nil) != kept {
			t.Errorf("%s kept = %v, want %v", k, err == nil, kept)
		}
	}
}

// marker is a sweep marker in memory.
type marker struct{ after string }

func (m *marker) Get(context.Context) (string, error)       { return m.after, nil }
func (m *marker) Set(_ context.Context, after string) error { m.after = after; return nil }

// failingList fails its listing after ok pages, and records where each
// listing started.
type failingList struct {
	*memory.Bucket
	ok     int
	starts []string
}

func (f *failingList) ListAfter(ctx context.Context, prefix, after string, limit int) ([]string, string, error) {
	f.starts = append(f.starts, after)
	if f.ok == 0 {
		return nil, "", errors.New("throttled")
	}
	f.ok--
	return f.Bucket.ListAfter(ctx, prefix, after, limit)
}

// A sweep that stops part-way (its deadline, a failure) records where, and
// the next run goes on from there instead of listing the whole bucket again
// (issue 26, item 7): a bucket of any size is swept across runs.
func TestSweepResumesAcrossRuns(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	bucket, products := memory.NewBucket(), memory.NewProducts()
	old := now.Add(-30 * 24 * time.Hour)
	var keys []string
	for i := range 2500 { // three pages
		k := "products/P" + strconv.Itoa(i) + "/" + shop.NewID("", old) + ".png"
		bucket.Put(k, "image/png", []byte("x"))
		keys = append(keys, k)
	}
	slices.Sort(keys)
	store := &failingList{Bucket: bucket, ok: 1}
	m := &marker{}
	svc := images.NewService(store, products, "https://cdn.test", slog.New(slog.NewJSONHandler(io.Discard, nil)), images.Options{Marker: m})
	before := images.SweepBefore(now)
	n, err := svc.Sweep(ctx, before)
	if err == nil || n != 1000 || m.after != keys[999] {
		t.Fatalf("first run = %d, %v, marker %q; want a page swept, the failure, and the marker at %q", n, err, m.after, keys[999])
	}
	store.ok = 10
	n, err = svc.Sweep(ctx, before)
	if err != nil || n != 1500 {
		t.Fatalf("second run = %d, %v; want the other 1500", n, err)
	}
	if store.starts[2] != keys[999] {
		t.Errorf("the second run started after %q, want %q", store.starts[2], keys[999])
	}
	if m.after != "" {
		t.Errorf("marker %q after the end, want cleared", m.after)
	}
}

// The cutoff leaves every upload whose event can still come: issued up to
// the URL's lifetime before it landed, retried by Lambda for hours, then
// kept in the failure queue for days.
func TestSweepBeforeCoversEveryWayAnEventCanStillCome(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	want := now.Add(-contract.ImagesSweepAfterDays*24*time.Hour - contract.ImagesEventMaxAgeHours*time.Hour - images.URLLifetime)
	if got := images.SweepBefore(now); !got.Equal(want) {
		t.Errorf("SweepBefore = %v, want %v", got, want)
	}
	if images.URLLifetime <= 0 || contract.ImagesEventMaxAgeHours <= 0 {
		t.Error("a part of the cutoff is missing")
	}
}

// The images function acts only on uploads made at LinkBefore(now) or
// later, strictly inside the sweep's cutoff: an event at exactly the
// bound links; one a millisecond older is left, untouched, for the sweep;
// and the sweep never takes what the function may still link (issue 43: a
// redriven event could link a key the sweep was deleting).
func TestAnEventAndTheSweepNeverActOnOneKey(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	png := []byte("\x89PNG\r\n\x1a\n....")
	bound := images.LinkBefore(now)
	if !bound.After(images.SweepBefore(now)) {
		t.Fatalf("LinkBefore %v is not inside SweepBefore %v", bound, images.SweepBefore(now))
	}
	keyAt := func(made time.Time) string { return "products/P1/" + shop.NewID("", made) + ".png" }
	for _, c := range []struct {
		name string
		made time.Time
		want images.Outcome
	}{
		{"made exactly at the bound: linked", bound, images.Linked},
		{"a millisecond before the bound: left for the sweep", bound.Add(-time.Millisecond), images.TooLate},
		{"exactly at the sweep's cutoff: left (the sweep takes it later)", images.SweepBefore(now), images.TooLate},
		{"long before: left", now.Add(-60 * 24 * time.Hour), images.TooLate},
	} {
		t.Run(c.name, func(t *testing.T) {
			bucket, products := memory.NewBucket(), memory.NewProducts()
			_ = products.Create(context.Background(), catalog.Product{ProductID: "P1", Version: 1})
			key := keyAt(c.made)
			bucket.Put(key, "image/png", png)
			svc := images.NewService(bucket, products, "https://cdn.test", slog.New(slog.NewJSONHandler(io.Discard, nil)), images.Options{Now: func() time.Time { return now }})
			got, err := svc.Landed(context.Background(), key)
			if err != nil || got != c.want {
				t.Fatalf("Landed = %v %v, want %v", got, err, c.want)
			}
			if _, _, err := bucket.Head(context.Background(), key); err != nil {
				t.Errorf("the event removed the upload: %v", err)
			}
			// What the event linked, no sweep ever takes; what it left, the
			// sweep takes within LinkMargin.
			before := images.SweepBefore(now.Add(images.LinkMargin))
			if got == images.Linked {
				before = now.Add(365 * 24 * time.Hour)
			}
			n, err := svc.Sweep(context.Background(), before)
			if want := map[bool]int{true: 0, false: 1}[got == images.Linked]; err != nil || n != want {
				t.Errorf("the sweep before %v took %d (%v), want %d", before, n, err, want)
			}
		})
	}
}
