package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// S3Events accepts VersityGW's bucket notifications (the JSON of an S3 event)
// and hands them to handle in the background, as S3 invokes a function
// asynchronously: the webhook is answered at once. Failed events are retried
// twice, as Lambda does for asynchronous invocations.
func S3Events(ctx context.Context, log *slog.Logger, pending *sync.WaitGroup, handle func(context.Context, events.S3Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		ev, err := decodeS3Event(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			log.Warn("S3 event not understood", "error", err.Error())
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		pending.Add(1)
		go func() {
			defer pending.Done()
			for attempt := 1; attempt <= 3; attempt++ {
				err := handle(context.WithoutCancel(ctx), ev)
				if err == nil {
					return
				}
				log.Warn("S3 event failed", "attempt", attempt, "error", err.Error())
			}
		}()
	})
}

// Opener reads an object of the bucket.
type Opener interface {
	Open(ctx context.Context, key string) (io.ReadCloser, string, error)
}

// Objects serves the bucket's objects under prefix, as the CDN does in AWS:
// GET only, immutable caching, 404 for anything else.
func Objects(prefix string, bucket Opener) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, prefix)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		body, contentType, err := bucket.Open(r.Context(), key)
		switch {
		case errors.Is(err, shop.ErrNotFound):
			http.NotFound(w, r)
			return
		case err != nil:
			http.Error(w, "bucket unavailable", http.StatusServiceUnavailable)
			return
		}
		defer body.Close()
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = io.Copy(w, body)
	})
}

// decodeS3Event reads VersityGW's notification into the event S3 sends to
// Lambda. Only the members the images function reads are taken: VersityGW
// leaves some empty (eventTime) that Lambda's type would refuse.
func decodeS3Event(r io.Reader) (events.S3Event, error) {
	var in struct {
		Records []struct {
			EventName string `json:"eventName"`
			AwsRegion string `json:"awsRegion"`
			S3        struct {
				Bucket struct {
					Name string `json:"name"`
				} `json:"bucket"`
				Object struct {
					Key  string `json:"key"`
					Size int64  `json:"size"`
				} `json:"object"`
			} `json:"s3"`
		}
	}
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return events.S3Event{}, err
	}
	var ev events.S3Event
	for _, rec := range in.Records {
		var out events.S3EventRecord
		out.EventSource, out.EventName, out.AWSRegion = "aws:s3", rec.EventName, rec.AwsRegion
		out.S3.Bucket.Name = rec.S3.Bucket.Name
		out.S3.Object.Key, out.S3.Object.Size = rec.S3.Object.Key, rec.S3.Object.Size
		ev.Records = append(ev.Records, out)
	}
	return ev, nil
}
