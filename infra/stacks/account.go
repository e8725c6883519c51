package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// DevNetworkExports name the shared development network's exports. Exports
// are per account and region, like the stack that makes them.
var DevNetworkExports = components.NetworkExports{
	VpcID: "Shop-Account-DevVpcId", SubnetIDs: "Shop-Account-DevSubnetIds", AZs: "Shop-Account-DevAzs",
}

// The account's shared development cache: every development stage has a
// user of its own in its group (NewCacheTenant), added and removed by the
// cacheusers custom resource, whose function's ARN is exported too.
const (
	DevCacheName              = "shop-dev"
	DevCacheUsersServiceToken = "Shop-Account-DevCacheUsersServiceToken"
)

// DevCacheExports name the shared development cache's exports.
var DevCacheExports = components.SharedCacheExports{
	Endpoint: "Shop-Account-DevCacheEndpoint", Name: "Shop-Account-DevCacheName", ARN: "Shop-Account-DevCacheArn", ClientsSG: "Shop-Account-DevCacheClients",
}

// DevImagesOacExport names the origin access control every development
// stage's images CDN signs with (an account holds 100).
const DevImagesOacExport = "Shop-Account-DevImagesOac"

// DevCursorSecretExport names the page-token key development stages share.
const DevCursorSecretExport = "Shop-Account-DevCursorSecretArn"

// DevEventBusExports name the development stages' shared event bus. An
// account holds 100 event buses a region: development stages share this one,
// and each event names its stage.
var DevEventBusExports = struct{ Name, Arn string }{Name: "Shop-Account-DevEventBusName", Arn: "Shop-Account-DevEventBusArn"}

// AccountStack is what every development stage of an account and region
// shares, deployed once (make account-deploy): the development network (each
// development stage keeps its own cache, security groups and cache user in
// it; prod has a network of its own) and the stack reaper, which tells owners
// of expiring development stages and deletes expired ones.
type AccountStack struct {
	awscdk.Stack
	DevNetwork components.Network
	// DevCache is the development stages' shared cache; CacheUsers the
	// custom resource's function that puts their users in its group.
	DevCache   components.SharedCache
	CacheUsers components.GoFunction
	// DevMonitoring watches the shared cache: the development stages' one
	// alarm topic and dashboard.
	DevMonitoring components.Monitoring
	// DevEvents is the development stages' event bus; DevEventsQueue, an
	// example consumer of it a developer can read (aws sqs receive-message).
	DevEvents      awsevents.EventBus
	DevEventsQueue awssqs.Queue
	Reaper         components.GoFunction
	Notices        awssns.Topic
}

// NewAccountStack defines the account-level stack; distDir holds the
// reaper's binary.
func NewAccountStack(scope constructs.Construct, account config.Account, distDir string) *AccountStack {
	var env *awscdk.Environment
	if account.Account != "" || account.Region != "" {
		env = &awscdk.Environment{Account: strOrNil(account.Account), Region: strOrNil(account.Region)}
	}
	stack := awscdk.NewStack(scope, jsii.String(config.AccountStackName), &awscdk.StackProps{
		Env:                   env,
		Description:           jsii.String("Shop: what every development stage of this account and region shares (the development network)"),
		TerminationProtection: jsii.Bool(true),
		Tags:                  AccountStackTags(),
	})
	s := &AccountStack{Stack: stack}
	s.DevNetwork = components.NewNetwork(stack, "DevNetwork", components.NetworkProps{LogRetentionDays: account.LogRetentionDays, Prod: true})
	components.Export(s.DevNetwork, DevNetworkExports)
	s.DevEvents, s.DevEventsQueue = newDevEvents(stack)
	s.DevCache = components.NewCache(stack, "DevCache", components.CacheProps{
		Network: s.DevNetwork, Name: DevCacheName, MaxStorageGB: account.DevCacheMaxStorageGB, MaxECPU: account.DevCacheMaxECPU,
	})
	components.ExportShared(s.DevCache, DevCacheExports)
	// The shared cache is watched here, once, where someone acts on it (raise
	// its limits, or add a second cache: docs/stages.md): the one development
	// alarm topic and dashboard of the account.
	s.DevMonitoring = components.NewMonitoring(stack, "DevMonitoring", components.MonitoringProps{
		Stage: "dev", Full: true, AlarmEmail: account.NotifyEmail, Thresholds: thresholds(config.DefaultMonitoring),
	})
	s.DevMonitoring.Cache(DevCacheName, account.DevCacheMaxECPU, account.DevCacheMaxStorageGB)
	s.CacheUsers = newCacheUsers(stack, account, distDir, s.DevCache)
	newDevShared(stack)
	newApiGatewayLogging(stack)
	s.Notices, s.Reaper = newReaper(stack, account, distDir)
	tags := awscdk.Tags_Of(stack)
	tags.Add(jsii.String(contract.TagProject), jsii.String(contract.Project), nil)
	tags.Add(jsii.String(contract.TagStage), jsii.String(contract.AccountStage), nil)
	components.OwnFunctionLogs(stack, account.LogRetentionDays, true)
	return s
}

// AccountStackTags are the account stack's tags: make account-deploy passes
// the same to the CLI.
func AccountStackTags() *map[string]*string {
	return &map[string]*string{contract.TagProject: jsii.String(contract.Project), contract.TagStage: jsii.String(contract.AccountStage)}
}

// newReaper defines the reaper: a Go function on an hourly schedule, its
// topic for notices and reports, and a role that may delete only the shop's
// stacks of a development stage.
func newReaper(stack awscdk.Stack, account config.Account, distDir string) (awssns.Topic, components.GoFunction) {
	topic := awssns.NewTopic(stack, jsii.String("ReaperNotices"), &awssns.TopicProps{
		DisplayName: jsii.String("Shop development stages: expiry notices and reaper reports"),
		MasterKey:   awskms.Alias_FromAliasName(stack, jsii.String("SnsKey"), jsii.String("alias/aws/sns")),
		EnforceSSL:  jsii.Bool(true),
	})
	if account.NotifyEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(account.NotifyEmail), nil))
	}
	fn := components.NewGoFunction(stack, "Reaper", components.GoFunctionProps{
		Name: contract.Reaper, DistDir: distDir, Description: "Deletes expired development stages of the shop (mode " + account.ReaperMode + ")",
		Environment: map[string]string{contract.EnvReaperTopic: *topic.TopicArn(), contract.EnvReaperMode: account.ReaperMode},
		MemoryMB:    256, TimeoutSeconds: 28, LogRetentionDays: account.LogRetentionDays, Prod: true,
	})
	role := fn.Role()
	// Publish only: the topic's key is the AWS managed aws/sns key, whose key
	// policy lets any principal of the account use it through SNS, so no KMS
	// grant (topic.GrantPublish would add kms actions on key/*).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("sns:Publish"), Resources: &[]*string{topic.TopicArn()},
	}))
	// Listing stacks takes no resource.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("cloudformation:DescribeStacks"), Resources: jsii.Strings("*"),
	}))
	// Deleting: only the shop's stacks, and never a protected stage's (prod,
	// staging, this one), by their tags. CloudFormation deletes the
	// resources with the role the stack was deployed with (CDK's cfn-exec
	// role): DeleteStack without RoleARN reuses it, so the reaper passes no
	// role and needs no iam:PassRole.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("cloudformation:DeleteStack"),
		Resources: &[]*string{awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/Shop-*/*"), nil)},
		Conditions: &map[string]interface{}{
			"StringEquals":    map[string]interface{}{"aws:ResourceTag/" + contract.TagProject: contract.Project},
			"StringNotEquals": map[string]interface{}{"aws:ResourceTag/" + contract.TagStage: contract.ProtectedStages},
		},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("DescribeStacks lists all stacks and takes no resource; DeleteStack is limited to Shop-* stacks tagged project=shop and not a protected stage (prod, staging, account)"),
		AppliesTo: &[]interface{}{"Resource::*", "Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/Shop-*/*"},
	}}, jsii.Bool(true))
	awsevents.NewRule(stack, jsii.String("ReaperSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the stage reaper every hour"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Hours(jsii.Number(1))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn.Function(), &awseventstargets.LambdaFunctionProps{RetryAttempts: jsii.Number(0)})},
	})
	return topic, fn
}

// newDevEvents defines the development stages' event bus and an example
// consumer: every order event of every development stage lands in a queue
// (a day's retention), at no cost at idle.
func newDevEvents(stack awscdk.Stack) (awsevents.EventBus, awssqs.Queue) {
	bus := awsevents.NewEventBus(stack, jsii.String("DevOrderEvents"), &awsevents.EventBusProps{
		Description: jsii.String("Order events of every development stage of this account and region (each names its stage)"),
	})
	queue := awssqs.NewQueue(stack, jsii.String("DevOrderEventsSample"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(1)), RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(queue, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String("An example consumer for developers to watch events arrive; nothing processes it"),
	}}, jsii.Bool(false))
	awsevents.NewRule(stack, jsii.String("DevOrderEventsToSample"), &awsevents.RuleProps{
		EventBus:     bus,
		Description:  jsii.String("Every order event of the development stages, into the sample queue"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(contract.OrderEventSource)},
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewSqsQueue(queue, nil)},
	})
	for _, out := range []struct {
		id, export string
		value      *string
	}{
		{"DevEventBusName", DevEventBusExports.Name, bus.EventBusName()}, {"DevEventBusArn", DevEventBusExports.Arn, bus.EventBusArn()},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(out.id), &awscdk.CfnOutputProps{Value: out.value, ExportName: jsii.String(out.export)})
	}
	awscdk.NewCfnOutput(stack, jsii.String("DevOrderEventsSampleQueueUrl"), &awscdk.CfnOutputProps{Value: queue.QueueUrl(),
		Description: jsii.String("aws sqs receive-message --queue-url <this>: the development stages' order events")})
	return bus, queue
}

// newCacheUsers defines the custom resource's function: outside the VPC (it
// calls ElastiCache's API and answers CloudFormation's pre-signed URL), and
// allowed to change the shared cache's user group alone.
func newCacheUsers(stack awscdk.Stack, account config.Account, distDir string, cache components.SharedCache) components.GoFunction {
	fn := components.NewGoFunction(stack, "CacheUsers", components.GoFunctionProps{
		Name: contract.CacheUsers, DistDir: distDir, Description: "Adds development stages' cache users to the shared cache's user group, and removes them",
		Environment: map[string]string{contract.EnvCacheUserGroup: cache.GroupID()},
		// Minutes: a user group stays "modifying" for a while after each
		// change and refuses others meanwhile (InvalidUserGroupState), and
		// several stages may join or leave at once; the function waits
		// with backoff within its invocation (components.CacheMembershipTimeout).
		MemoryMB: 128, TimeoutSeconds: components.CacheMembershipTimeout.Seconds(), LogRetentionDays: account.LogRetentionDays, Prod: true,
	})
	arn := func(kind, name string) *string {
		return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:elasticache:${AWS::Region}:${AWS::AccountId}:"+kind+":"+name), nil)
	}
	fn.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("elasticache:ModifyUserGroup"),
		Resources: &[]*string{arn("usergroup", cache.GroupID()), arn("user", "shop-*")},
	}))
	// Read-only, on every group and user: whether DescribeUserGroups and
	// DescribeUsers take a resource cannot be settled offline, and a denial
	// would fail every stage's deploy. DescribeUsers reads back a joining
	// user's access string (cacheusers.Membership).
	fn.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("elasticache:DescribeUserGroups", "elasticache:DescribeUsers"), Resources: jsii.Strings("*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("ModifyUserGroup names the users it adds: any development stage's (shop-*), only into the shared cache's group; DescribeUserGroups and DescribeUsers are read-only"),
		AppliesTo: &[]interface{}{"Resource::arn:<AWS::Partition>:elasticache:<AWS::Region>:<AWS::AccountId>:user:shop-*", "Resource::*"},
	}}, jsii.Bool(true))
	awscdk.NewCfnOutput(stack, jsii.String("DevCacheUsersServiceTokenOutput"), &awscdk.CfnOutputProps{
		Value: fn.Function().FunctionArn(), ExportName: jsii.String(DevCacheUsersServiceToken)})
	return fn
}

// newDevShared defines what development stages share instead of keeping
// their own: the images CDN's origin access control (100 an account) and
// the page-token key (a secret costs $0.40 a month each).
func newDevShared(stack awscdk.Stack) {
	// Origin access control names are unique in the account, every region
	// alike (winglang/wing#3748: a second region's account stack failed on
	// OriginAccessControlAlreadyExists): the name carries the region.
	oac := awscloudfront.NewS3OriginAccessControl(stack, jsii.String("DevImagesOac"), &awscloudfront.S3OriginAccessControlProps{
		OriginAccessControlName: awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String("shop-dev-images"), awscdk.Aws_REGION()}),
		Description:             jsii.String("Signs every development stage's images CDN's requests to its own private bucket"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("DevImagesOacId"), &awscdk.CfnOutputProps{Value: oac.OriginAccessControlId(), ExportName: jsii.String(DevImagesOacExport)})
	secret := awssecretsmanager.NewSecret(stack, jsii.String("DevCursorSecret"), &awssecretsmanager.SecretProps{
		Description:          jsii.String("Seals the page tokens of every development stage (each stage's tokens name its own tables)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{PasswordLength: jsii.Number(64), ExcludePunctuation: jsii.Bool(true)},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(secret, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SMG4"), Reason: jsii.String("A page-token key of development stages: rotating it only invalidates open pages"),
	}}, jsii.Bool(false))
	awscdk.NewCfnOutput(stack, jsii.String("DevCursorSecretArn"), &awscdk.CfnOutputProps{Value: secret.SecretArn(), ExportName: jsii.String(DevCursorSecretExport)})
}

// newApiGatewayLogging sets the account's API Gateway CloudWatch role, a
// setting of the account and region that every REST API stage with access
// logs needs: without it, creating such a stage fails ("CloudWatch Logs
// role ARN must be set in account settings to enable logging", API Gateway
// Developer Guide, "Set up CloudWatch logging for REST APIs"). One account
// setting, so one stack sets it: this one; make preflight checks it before
// a stage's deploy.
func newApiGatewayLogging(stack awscdk.Stack) {
	role := awsiam.NewRole(stack, jsii.String("ApiGatewayLogsRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AmazonAPIGatewayPushToCloudWatchLogs")),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("AWS's own policy for the API Gateway account's logging role, which API Gateway documents"),
	}}, jsii.Bool(false))
	account := awsapigateway.NewCfnAccount(stack, jsii.String("ApiGatewayAccount"), &awsapigateway.CfnAccountProps{
		CloudWatchRoleArn: role.RoleArn(),
	})
	// The setting and its role outlive the stack: the stages' access logs
	// keep working after the account stack is gone.
	account.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	role.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
}
