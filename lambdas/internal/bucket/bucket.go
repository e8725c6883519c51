// Package bucket keeps product images in S3 (VersityGW locally): pre-signed
// uploads, and the reads and deletes the image checks need.
package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

var _ images.Store = (*Bucket)(nil)

// NewClient returns an S3 client. endpoint, when set, is a local S3 server
// (path-style addressing). Checksums are computed only where S3 requires
// them: a pre-signed PUT must not carry a checksum of a body it has not seen.
func NewClient(cfg aws.Config, endpoint string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		// Each attempt bounded: the images function reads 12 bytes and heads
		// objects; the catalogue only signs (no call). A hung bucket fails
		// in seconds, and the event is retried.
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(2 * time.Second).WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = 500 * time.Millisecond
		})
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = 3 })
	})
}

// Bucket is one bucket of images.
type Bucket struct {
	client  *s3.Client
	presign *s3.PresignClient
	name    string
}

// New returns the bucket name through client.
func New(client *s3.Client, name string) *Bucket {
	return &Bucket{client: client, presign: s3.NewPresignClient(client), name: name}
}

func (b *Bucket) PresignPut(ctx context.Context, key, contentType string, length int64, ttl time.Duration) (string, map[string]string, error) {
	req, err := b.presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: &b.name, Key: &key, ContentType: &contentType, ContentLength: &length,
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", nil, err
	}
	headers := map[string]string{}
	for name, vs := range req.SignedHeader {
		if !strings.EqualFold(name, "host") && len(vs) > 0 {
			headers[http.CanonicalHeaderKey(name)] = vs[0]
		}
	}
	return req.URL, headers, nil
}

func (b *Bucket) Head(ctx context.Context, key string) (int64, string, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return 0, "", classify("head object", err)
	}
	return aws.ToInt64(out.ContentLength), aws.ToString(out.ContentType), nil
}

func (b *Bucket) Start(ctx context.Context, key string, n int64) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key, Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1))})
	if err != nil {
		return nil, classify("get object", err)
	}
	defer out.Body.Close()
	return io.ReadAll(io.LimitReader(out.Body, n))
}

// Open streams an object (the local API serves image_url with it).
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, string, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return nil, "", classify("get object", err)
	}
	return out.Body, aws.ToString(out.ContentType), nil
}

func (b *Bucket) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.name, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("list objects", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

func (b *Bucket) ListAfter(ctx context.Context, prefix, after string, limit int) ([]string, string, error) {
	in := &s3.ListObjectsV2Input{Bucket: &b.name, Prefix: &prefix, MaxKeys: aws.Int32(int32(limit))}
	if after != "" {
		in.StartAfter = &after
	}
	page, err := b.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, "", classify("list objects", err)
	}
	keys := make([]string, 0, len(page.Contents))
	for _, o := range page.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if !aws.ToBool(page.IsTruncated) || len(keys) == 0 {
		return keys, "", nil
	}
	return keys, keys[len(keys)-1], nil
}

func (b *Bucket) Delete(ctx context.Context, keys ...string) error {
	for start := 0; start < len(keys); start += 1000 {
		ids := make([]types.ObjectIdentifier, 0, min(1000, len(keys)-start))
		for _, k := range keys[start:min(start+1000, len(keys))] {
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
		}
		out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b.name, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return classify("delete objects", err)
		}
		if len(out.Errors) > 0 {
			return fmt.Errorf("delete objects: %s: %s", aws.ToString(out.Errors[0].Key), aws.ToString(out.Errors[0].Message))
		}
	}
	return nil
}

func classify(op string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%s: %w", op, shop.ErrNotFound)
		case "SlowDown", "ServiceUnavailable", "InternalError":
			return fmt.Errorf("%s: %w: %w", op, shop.ErrUnavailable, err)
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w", op, shop.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
