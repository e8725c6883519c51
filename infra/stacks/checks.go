package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Checks puts cdk-nag's AWS Solutions pack on every stack of app: each
// finding not suppressed with a reason is an error. The tests and `make
// synth` run it on every synth; `make review` skips it on the base side
// only, which was checked when it landed (-c checks=false).
func Checks(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}
