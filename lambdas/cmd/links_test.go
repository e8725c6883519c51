package cmd_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// services are the AWS SDK service clients a function's code calls: the
// tables and the bucket of its grants (contract.Grants), the reaper's
// CloudFormation and SNS, and the events function's EventBridge.
func services(fn contract.Function) []string {
	var out []string
	for resource := range contract.Grants(fn) {
		switch resource {
		case contract.ResourceProducts, contract.ResourceOrders, contract.ResourceCustomers:
			out = append(out, "dynamodb")
		case contract.ResourceImages, contract.ResourceImagesIndex:
			out = append(out, "s3")
		}
	}
	switch fn {
	case contract.Reaper:
		out = append(out, "cloudformation", "sns")
	case contract.Events:
		out = append(out, "eventbridge")
	case contract.CacheUsers:
		out = append(out, "elasticache")
	case contract.PreTraffic:
		out = append(out, "codedeploy", "lambda")
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var servicePackage = regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/([a-z0-9]+)$`)

// Each function's binary links only the AWS service clients its code calls:
// no S3 client in the cart, orders and expiry functions, no DynamoDB client
// in the authorizer. A package that imports a client it does not need (a
// builder in wire that every function links, say) fails here. The package
// graph is read as `make build` builds it.
func TestEachFunctionLinksOnlyTheClientsItCalls(t *testing.T) {
	for _, fn := range contract.Functions() {
		t.Run(string(fn), func(t *testing.T) {
			cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "./"+string(fn))
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOWORK=off")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			var got []string
			for _, pkg := range strings.Fields(string(out)) {
				if m := servicePackage.FindStringSubmatch(pkg); m != nil && m[1] != "internal" {
					got = append(got, m[1])
				}
			}
			slices.Sort(got)
			if want := services(fn); !slices.Equal(got, want) {
				t.Errorf("links the clients %v, want %v", got, want)
			}
		})
	}
}
