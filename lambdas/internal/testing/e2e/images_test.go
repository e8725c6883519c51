//go:build integration

package e2e

import (
	"github.com/go-cdk-shop/shop/lambdas/contract"

	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// The image flow against VersityGW, which verifies SigV4: the pre-signed PUT
// is bound to type, length and expiry, and its notification links the image.

var (
	png  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 200)...)
	jpeg = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{1}, 300)...)
)

var admin = who{sub: "admin-1", groups: "admin"} // as the Cognito authorizer joins groups

// askUpload asks the API for an upload URL as an admin.
func (e *shopEnv) askUpload(t testing.TB, productID, contentType string, length int) images.Upload {
	t.Helper()
	resp := e.call(t, admin, "POST", "/products/"+productID+"/image", fmt.Sprintf(`{"content_type":%q,"content_length":%d}`, contentType, length))
	expect(t, resp, 201, "upload request")
	return decode[images.Upload](t, resp)
}

// put sends the upload as a client would, with the headers it was given,
// optionally changed.
func put(t testing.TB, u images.Upload, body []byte, change func(*http.Request)) int {
	t.Helper()
	req, err := http.NewRequest(u.Method, u.UploadURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range u.Headers {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(body))
	if change != nil {
		change(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (e *shopEnv) product(t testing.TB, id string) catalog.Product {
	t.Helper()
	p, err := dynamo.NewProducts(db, e.cfg.ProductsTable).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFor polls until cond holds, for at most 10 s (the event is asynchronous).
func waitFor(t testing.TB, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: not after 10 s", what)
	return 0
}

func objects(t testing.TB, productID string) []string {
	t.Helper()
	keys, err := dev.Bucket.List(context.Background(), contract.ImagesPrefix+productID+"/")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

func TestUploadLinksTheImage(t *testing.T) {
	e := newShop(t)
	id := "IMG" + shop.NewID("", time.Now())
	e.addProduct(t, id, 100, 1)
	expect(t, e.call(t, who{}, "GET", "/products/"+id, ""), 200, "a read, which fills the cache")
	u := e.askUpload(t, id, "image/png", len(png))
	if !strings.HasPrefix(u.Key, "products/"+id+"/") || !strings.HasSuffix(u.Key, ".png") || u.Method != "PUT" {
		t.Fatalf("upload = %+v", u)
	}
	exp, _ := time.Parse(time.RFC3339, u.ExpiresAt)
	if d := time.Until(exp); d <= 0 || d > 15*time.Minute {
		t.Fatalf("URL lives %v, want at most 15 minutes", d)
	}
	if code := put(t, u, png, nil); code != 200 {
		t.Fatalf("upload = %d", code)
	}
	// Through the API, so through the cache, which the event handler told.
	waitFor(t, "image_url set", func() bool {
		return decode[catalog.Product](t, e.call(t, who{}, "GET", "/products/"+id, "")).ImageURL != nil
	})
	p := e.product(t, id)
	if *p.ImageURL != "https://cdn.test/"+u.Key || p.Version != 2 {
		t.Fatalf("image_url %q version %d", *p.ImageURL, p.Version)
	}

	// A second upload replaces the first, whose object goes.
	u2 := e.askUpload(t, id, "image/jpeg", len(jpeg))
	if code := put(t, u2, jpeg, nil); code != 200 {
		t.Fatalf("second upload = %d", code)
	}
	waitFor(t, "second image linked", func() bool { return *e.product(t, id).ImageURL == "https://cdn.test/"+u2.Key })
	waitFor(t, "first image deleted", func() bool { return slices.Equal(objects(t, id), []string{u2.Key}) })

	// Deleting the product deletes its images.
	expect(t, e.call(t, admin, "DELETE", "/products/"+id, ""), 204, "delete product")
	if keys := objects(t, id); len(keys) != 0 {
		t.Fatalf("images left after the product was deleted: %v", keys)
	}
}

// S3 delivers at least once and Lambda retries asynchronous invocations: the
// same event for the linked key again links nothing new and deletes nothing.
// A client may also PUT twice on one pre-signed URL: the second lands on the
// linked key and the image stays.
func TestRepeatedUploadEventsKeepTheImage(t *testing.T) {
	e := newShop(t)
	id := "IMG" + shop.NewID("", time.Now())
	e.addProduct(t, id, 100, 1)
	u := e.askUpload(t, id, "image/png", len(png))
	if code := put(t, u, png, nil); code != 200 {
		t.Fatalf("upload = %d", code)
	}
	// Through the API, so through the cache, which the event handler told.
	waitFor(t, "image_url set", func() bool {
		return decode[catalog.Product](t, e.call(t, who{}, "GET", "/products/"+id, "")).ImageURL != nil
	})
	linked := e.product(t, id)

	// The same notification delivered again, twice, straight to the handler.
	ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put"}}}
	ev.Records[0].S3.Object.Key = u.Key
	handle := *onS3Event.Load()
	for range 2 {
		if err := handle(context.Background(), ev); err != nil {
			t.Fatalf("repeated event: %v", err)
		}
	}
	// And a second PUT on the same URL, with its own notification.
	if code := put(t, u, png, nil); code != 200 {
		t.Fatalf("second PUT on the URL = %d", code)
	}
	time.Sleep(300 * time.Millisecond) // let the webhook's event land
	p := e.product(t, id)
	if p.ImageURL == nil || *p.ImageURL != *linked.ImageURL || p.Version != linked.Version {
		t.Fatalf("after repeats: image_url %v version %d, want %s version %d", p.ImageURL, p.Version, *linked.ImageURL, linked.Version)
	}
	if keys := objects(t, id); !slices.Equal(keys, []string{u.Key}) {
		t.Fatalf("objects %v, want the linked image %s", keys, u.Key)
	}
}

// Uploads that break the URL's binding are refused by the S3 server itself.
func TestUploadBindingIsEnforced(t *testing.T) {
	e := newShop(t)
	id := "IMG" + shop.NewID("", time.Now())
	e.addProduct(t, id, 100, 1)
	u := e.askUpload(t, id, "image/png", len(png))
	for _, tc := range []struct {
		name   string
		body   []byte
		change func(*http.Request)
	}{
		{"tampered signature", png, func(r *http.Request) {
			q := r.URL.Query()
			sig := []byte(q.Get("X-Amz-Signature"))
			sig[0] ^= 1
			q.Set("X-Amz-Signature", string(sig))
			r.URL.RawQuery = q.Encode()
		}},
		{"another key", png, func(r *http.Request) { r.URL.Path = strings.Replace(r.URL.Path, ".png", "x.png", 1) }},
		{"wrong type", png, func(r *http.Request) { r.Header.Set("Content-Type", "image/jpeg") }},
		{"too long", append(png, 0), nil},
		{"too short", png[:len(png)-1], nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := put(t, u, tc.body, tc.change); code != 403 {
				t.Fatalf("status %d, want 403", code)
			}
		})
	}
	if keys := objects(t, id); len(keys) != 0 {
		t.Fatalf("refused uploads stored %v", keys)
	}
}

func TestExpiredUploadIsRefused(t *testing.T) {
	id := "IMG" + shop.NewID("", time.Now())
	key := contract.ImagesPrefix + id + "/x.png"
	raw, headers, err := dev.Bucket.PresignPut(context.Background(), key, "image/png", int64(len(png)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if code := put(t, images.Upload{UploadURL: raw, Method: "PUT", Headers: headers}, png, nil); code != 403 {
		t.Fatalf("expired upload: %d, want 403", code)
	}
	u, _ := url.Parse(raw)
	if u.Query().Get("X-Amz-Expires") != "1" {
		t.Fatalf("presign did not carry the expiry: %s", raw)
	}
}

// An object whose bytes are not the declared type is deleted and never linked;
// so is one whose product is gone.
func TestBadObjectsAreDeleted(t *testing.T) {
	e := newShop(t)
	id := "IMG" + shop.NewID("", time.Now())
	e.addProduct(t, id, 100, 1)
	text := []byte("this is not a png at all, only text")
	u := e.askUpload(t, id, "image/png", len(text))
	if code := put(t, u, text, nil); code != 200 {
		t.Fatalf("upload = %d (the S3 server cannot know the bytes are wrong)", code)
	}
	waitFor(t, "fake PNG deleted", func() bool { return len(objects(t, id)) == 0 })
	if p := e.product(t, id); p.ImageURL != nil {
		t.Fatalf("fake PNG linked: %v", *p.ImageURL)
	}

	u = e.askUpload(t, id, "image/png", len(png))
	if _, err := dynamo.NewProducts(db, e.cfg.ProductsTable).Delete(context.Background(), id, nil); err != nil {
		t.Fatal(err)
	}
	if code := put(t, u, png, nil); code != 200 {
		t.Fatalf("upload = %d", code)
	}
	waitFor(t, "orphan deleted", func() bool { return len(objects(t, id)) == 0 })
}

// Bad upload requests: a 4xx problem each, and no URL.
func TestUploadRequestBadInput(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "P1", 100, 1)
	for _, tc := range []struct {
		name, path, body string
		status           int
	}{
		{"gif", "/products/P1/image", `{"content_type":"image/gif","content_length":10}`, 400},
		{"too large", "/products/P1/image", `{"content_type":"image/png","content_length":5242881}`, 400},
		{"zero", "/products/P1/image", `{"content_type":"image/png","content_length":0}`, 400},
		{"missing length", "/products/P1/image", `{"content_type":"image/png"}`, 400},
		{"unknown product", "/products/NOPE/image", `{"content_type":"image/png","content_length":10}`, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, e.call(t, admin, "POST", tc.path, tc.body), tc.status, tc.name)
		})
	}
	expect(t, e.call(t, user("u1"), "POST", "/products/P1/image", `{"content_type":"image/png","content_length":10}`), 403, "not an admin")
}

// BenchmarkUploadToLinked measures the time from the end of an upload (the
// S3 server's 200) to image_url being set, through VersityGW's notification.
func BenchmarkUploadToLinked(b *testing.B) {
	e := newShop(b)
	id := "IMG" + shop.NewID("", time.Now())
	e.addProduct(b, id, 100, 1)
	var lat latencies
	for b.Loop() {
		b.StopTimer()
		u := e.askUpload(b, id, "image/png", len(png))
		b.StartTimer()
		if code := put(b, u, png, nil); code != 200 {
			b.Fatal(code)
		}
		lat = append(lat, waitFor(b, "linked", func() bool {
			p := e.product(b, id)
			return p.ImageURL != nil && strings.HasSuffix(*p.ImageURL, u.Key)
		}))
	}
	lat.report(b)
}

// The daily sweep against VersityGW and DynamoDB Local: an old upload that
// no product links goes; the linked image and a recent upload stay.
func TestSweepUnlinkedUploads(t *testing.T) {
	e := newShop(t)
	id := "SWP" + shop.NewID("", time.Now())
	e.addProduct(t, id, 100, 1)
	u := e.askUpload(t, id, "image/png", len(png))
	if code := put(t, u, png, nil); code != 200 {
		t.Fatalf("upload = %d", code)
	}
	waitFor(t, "image linked", func() bool { return e.product(t, id).ImageKey == u.Key })
	recent := e.askUpload(t, id, "image/png", len(png)) // asked for, put, its event lost
	old := contract.ImagesPrefix + id + "/" + shop.NewID("", time.Now().Add(-30*24*time.Hour)) + ".png"
	onS3Event.Store(nil) // the events of these two never reach the function
	for _, k := range []string{recent.Key, old} {
		if _, err := dev.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(localdev.BucketName), Key: aws.String(k),
			Body: bytes.NewReader(png), ContentType: aws.String("image/png")}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.images.Sweep(context.Background(), time.Now().Add(-contract.ImagesSweepAfterDays*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	want := []string{u.Key, recent.Key}
	sort.Strings(want)
	if got := objects(t, id); !slices.Equal(got, want) {
		t.Fatalf("after the sweep: %v, want %v", got, want)
	}
}

// The sweep's listing against VersityGW: pages in key order, each going on
// after the last key of the one before, the last one saying so.
func TestListAfterPagesThroughTheBucket(t *testing.T) {
	ctx := context.Background()
	prefix := contract.ImagesPrefix + "LST" + shop.NewID("", time.Now()) + "/"
	var want []string
	for i := range 5 {
		k := fmt.Sprintf("%s%02d.png", prefix, i)
		if _, err := dev.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(localdev.BucketName), Key: aws.String(k),
			Body: bytes.NewReader(png), ContentType: aws.String("image/png")}); err != nil {
			t.Fatal(err)
		}
		want = append(want, k)
	}
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		keys, next, err := dev.Bucket.ListAfter(ctx, prefix, after, 2)
		if err != nil || pages > 3 {
			t.Fatalf("page %d: %v, %v", pages, keys, err)
		}
		got = append(got, keys...)
		if next == "" {
			if pages != 2 {
				t.Errorf("%d pages of 2 for 5 keys, want 3", pages+1)
			}
			break
		}
		if next != keys[len(keys)-1] {
			t.Errorf("next %q, want the page's last key %q", next, keys[len(keys)-1])
		}
		after = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
}
