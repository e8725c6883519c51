package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3notifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
)

// MediaStackProps are what the media stack takes.
type MediaStackProps struct {
	awscdk.StackProps
	Stage   config.Stage
	Data    *DataStack
	Network *NetworkStack // the images function tells the product cache of the images it links
	DistDir string
}

// MediaStack holds product images: the bucket, its CDN, and the function the
// bucket invokes when an upload lands. They share a stack because S3 needs the
// function to exist when it sets the notification, and the function needs the
// bucket's name.
type MediaStack struct {
	awscdk.Stack
	Images components.ProductImages
	Linker components.GoFunction
	// Failures holds the upload events that the images function failed
	// three times (once and two retries): nothing is lost silently.
	Failures awssqs.Queue
}

// NewMediaStack defines the media stack of stage.
func NewMediaStack(scope constructs.Construct, id string, props MediaStackProps) *MediaStack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	stage := props.Stage
	s := &MediaStack{Stack: stack}
	s.Images = components.NewProductImages(stack, "ProductImages", components.ProductImagesProps{
		Prod: stage.Prod, CorsOrigins: stage.CorsOrigins, DomainName: stage.CdnDomainName, CertificateArn: stage.CdnCertificateArn,
		OriginAccessControlID: sharedOac(stage),
	})
	bucket := s.Images.Bucket()
	env := newStageEnv(stage, props.Data, props.Network, s.Images)
	s.Linker = newShopFunction(stack, imagesFunction, stage, props.DistDir, env, props.Data, props.Network, s.Images)
	s.Failures = awssqs.NewQueue(stack, jsii.String("ImagesFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(contract.ImagesSweepAfterDays)),
		RemovalPolicy:   components.StatefulRemoval(stage.Prod),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.Failures, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String("This queue is itself the failure destination of the images function"),
	}}, jsii.Bool(false))
	if stage.Deployment != nil {
		components.NewShifts(stack, "Shifts").Add(s.Linker, shiftOf(imagesFunction, stage), components.Guards{})
	}
	s.Linker.Target().ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		OnFailure:     awslambdadestinations.NewSqsDestination(s.Failures),
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(contract.ImagesEventMaxAgeHours)),
	})
	// Daily, the same function deletes uploads that no product links and
	// whose events can no longer be redriven.
	awsevents.NewRule(stack, jsii.String("ImagesSweep"), &awsevents.RuleProps{
		Description: jsii.String("Deletes unlinked product image uploads older than the failure queue keeps their events"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Days(jsii.Number(1))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Linker.Target(), &awseventstargets.LambdaFunctionProps{RetryAttempts: jsii.Number(2)})},
	})
	bucket.AddEventNotification(awss3.EventType_OBJECT_CREATED, awss3notifications.NewLambdaDestination(s.Linker.Target()),
		&awss3.NotificationKeyFilter{Prefix: jsii.String(contract.ImagesPrefix)})

	// CDK's own custom resources: the bucket notification handler and, in
	// development stages, the handler that empties buckets on deletion.
	cdknag.NagSuppressions_AddStackSuppressions(stack, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("CDK's BucketNotificationsHandler and AutoDeleteObjects provider use AWSLambdaBasicExecutionRole"),
			AppliesTo: &[]interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
		{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("CDK's BucketNotificationsHandler sets bucket notifications, an action without resource-level permissions"),
			AppliesTo: &[]interface{}{"Resource::*"}},
		{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("CDK's own custom resource handlers pin their runtime; the shop's functions run on provided.al2023")},
	}, jsii.Bool(true))

	out := func(id string, value *string, description string) { output(stack, id, value, description) }
	out("ImagesBucketName", bucket.BucketName(), "Private bucket of product images")
	out("ImagesBaseUrl", s.Images.BaseURL(), "CDN in front of the images bucket")
	out("ImagesFailuresQueueUrl", s.Failures.QueueUrl(), "Upload events the images function failed: redrive with tools/ops/redrive-images.sh")
	return s
}

// sharedOac is the account's origin access control for a development stage
// (Shop-Account), none for a stage with a network of its own.
func sharedOac(stage config.Stage) *string {
	if stage.OwnNetwork {
		return nil
	}
	return awscdk.Fn_ImportValue(jsii.String(DevImagesOacExport))
}
