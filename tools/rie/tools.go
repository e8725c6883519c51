//go:build tools

// Package rie pins the Lambda Runtime Interface Emulator, which `make bench`
// starts each function under to measure its cold path the way Lambda runs it
// (INIT REPORT, first and second invoke). It lives in its own module so that
// its dependencies stay out of the Lambdas' graph.
package rie

import _ "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
