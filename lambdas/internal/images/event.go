package images

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
)

// HandleS3Event handles an S3 notification (in AWS, the images function's
// invocation; locally, VersityGW's webhook). Object keys arrive URL-encoded.
// It returns an error when a backend failed, so that the event is retried;
// objects that fail the checks are dealt with and are not errors.
func (s *Service) HandleS3Event(ctx context.Context, ev events.S3Event) error {
	ctx, counts := metrics.With(ctx)
	defer counts.Emit(ctx, s.log, string(contract.Images)) // one metrics line per event
	var errs []error
	for _, r := range ev.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") && !strings.HasPrefix(r.EventName, "s3:ObjectCreated:") {
			continue
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			s.log.WarnContext(ctx, "undecodable object key", "key", r.S3.Object.Key)
			continue
		}
		outcome, err := s.Landed(ctx, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.InfoContext(ctx, "image event", "key", key, "outcome", string(outcome))
		if outcome == Rejected {
			metrics.Add(ctx, metrics.ImagesRejected, 1)
		}
	}
	return errors.Join(errs...)
}
