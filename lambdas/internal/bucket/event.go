package bucket

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// CreatedKeys are the keys of the objects an S3 notification says were
// created, decoded (S3 sends them URL-encoded); a key that does not decode
// is logged and skipped.
func CreatedKeys(ctx context.Context, log *slog.Logger, ev events.S3Event) []string {
	var keys []string
	for _, r := range ev.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") && !strings.HasPrefix(r.EventName, "s3:ObjectCreated:") {
			continue
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			log.WarnContext(ctx, "undecodable object key", "key", r.S3.Object.Key)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// OnCreated is an S3 notification handler that hands the created objects'
// keys to handle.
func OnCreated(log *slog.Logger, handle func(ctx context.Context, keys ...string) error) func(context.Context, events.S3Event) error {
	return func(ctx context.Context, ev events.S3Event) error {
		return handle(ctx, CreatedKeys(ctx, log, ev)...)
	}
}
