//go:build tools

// Package versitygw pins VersityGW, the S3 server `make local` and the image
// tests run: it verifies SigV4 signatures, so tampered, expired, wrong-type and
// wrong-length pre-signed uploads fail as they do in AWS. It lives in its own
// module so that its dependencies stay out of the Lambdas' graph.
package versitygw

import _ "github.com/versity/versitygw/cmd/versitygw"
