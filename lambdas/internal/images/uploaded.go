package images

import (
	"context"
	"errors"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
)

// Uploaded handles the objects an upload notification names (in AWS, the
// bucket's event to the images function; locally, VersityGW's webhook; the
// bucket package decodes either). It returns an error when a backend failed,
// so that the event is retried; objects that fail the checks are dealt with
// and are not errors.
func (s *Service) Uploaded(ctx context.Context, keys ...string) error {
	ctx, counts := metrics.With(ctx)
	defer counts.Emit(ctx, s.log, string(contract.Images)) // one metrics line per event
	var errs []error
	for _, key := range keys {
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
