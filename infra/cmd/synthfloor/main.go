// Command synthfloor is the synth's floor: an empty Go CDK app, one stack
// with one bucket. Its synth time is what jsii and the CDK cost any Go app;
// `make bench` reports the shop's synth beside it (tools/bench/synth-times.sh).
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Floor"), nil)
	awss3.NewBucket(stack, jsii.String("Bucket"), nil)
	app.Synth(nil)
}
