package stacks

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// ApiStackProps are what the stateless stack takes from the stateful one.
type ApiStackProps struct {
	awscdk.StackProps
	Stage   config.Stage
	Data    *DataStack
	Network *NetworkStack
	Media   *MediaStack
	Edge    *EdgeStack // nil without the edge profile
	DistDir string     // where `make build` put the function binaries
}

// ApiStack holds the functions and the REST API.
type ApiStack struct {
	awscdk.Stack
	Api Api
	// Functions are the stack's functions (apiFunctions), by name.
	Functions map[contract.Function]components.GoFunction
	Cdn       awscloudfront.Distribution // with the edge profile
	// EventsFailures keeps the change records the events function failed
	// past its retries.
	EventsFailures awssqs.Queue
	Monitoring     components.Monitoring
}

// Api is the REST API of a stage.
type Api = components.ShopApi

// NewApiStack defines the stateless stack of a stage: the functions of
// apiFunctions, the REST API with every route of contract.Routes, the expiry
// schedule, the monitoring and, with the edge profile, the CDN.
func NewApiStack(scope constructs.Construct, id string, props ApiStackProps) *ApiStack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	stage := props.Stage
	s := &ApiStack{Stack: stack, Functions: map[contract.Function]components.GoFunction{}}
	env := newStageEnv(stage, props.Data, props.Network, props.Media.Images)
	for _, spec := range apiFunctions {
		s.Functions[spec.fn] = newShopFunction(stack, spec, stage, props.DistDir, env, props.Data, props.Network, props.Media.Images)
	}

	// The scheduled job that expires unpaid orders, every minute: units are
	// back within two minutes of a hold's end.
	awsevents.NewRule(stack, jsii.String("ExpirySchedule"), &awsevents.RuleProps{
		Description: jsii.String("Expires pending orders past their hold"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Functions[contract.Expiry].Target(),
			&awseventstargets.LambdaFunctionProps{RetryAttempts: jsii.Number(0)})},
	})

	s.EventsFailures = newOrderEvents(stack, stage, s.Functions[contract.Events], props.Data)

	identity := props.Data.Identity
	// "Http" is the scope the API's constructs have always had: renaming it
	// would give every API resource a new logical id (a new API, stage and
	// access log group in prod). It names no API type.
	s.Api = components.NewShopApi(stack, "Http", components.ShopApiProps{
		Name:     "shop-" + stage.Name,
		UserPool: identity.UserPool(), StaffPool: identity.StaffPool(), GuestAuthorizer: s.Functions[contract.Authorizer].Target(),
		PoolInputs:   []constructs.IConstruct{identity},
		ThrottleRate: stage.ThrottleRate, ThrottleBurst: stage.ThrottleBurst,
		StockThrottle:    components.Throttle{Rate: stage.CheckoutThrottleRate, Burst: stage.CheckoutThrottleBurst},
		DetailedMetrics:  stage.Prod, // custom metrics: prod only
		LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod, CorsOrigins: stage.CorsOrigins,
	})
	for _, fn := range contract.HTTPFunctions() {
		s.Api.AddRoutes(s.Functions[fn].Target(), contract.RoutesOf(fn)...)
	}
	s.Api.SetDefault(s.Functions[contract.DefaultRouteFunction].Target())

	// Monitoring where someone acts on it: prod, and long-lived stages
	// (staging). An expiring development stage (dev-<you>, pr-<n>) has no
	// dashboard ($3 a month each beyond three) and no alarms: its developer
	// watches it, and the account's shared parts are watched once.
	if stage.Prod || stage.LongLived {
		s.Monitoring = newMonitoring(stack, s, props)
	}
	if stage.Deployment != nil {
		shifts := components.NewShifts(stack, "Shifts")
		for _, spec := range apiFunctions {
			var guards components.Guards
			if spec.guardsCheckout {
				guards.Alarms = s.Monitoring.RollbackAlarms()
			}
			if slices.Contains(contract.PreTrafficChecked(), spec.fn) {
				guards.PreTraffic = newPreTrafficHook(stack, spec, stage, props.DistDir, s.Functions[spec.fn]).Function()
				guards.Answers = spec.fn != contract.Authorizer
				guards.Denials = spec.fn == contract.Authorizer
			}
			shifts.Add(s.Functions[spec.fn], shiftOf(spec, stage), guards)
		}
	}
	if props.Edge == nil {
		cdknag.NagSuppressions_AddResourceSuppressions(s.Api.Api().DeploymentStage(), &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-APIG3"),
			Reason: jsii.String("A stage without the edge profile (development): no CDN and no web ACL, $11 a month or more each; its throttles are its limits. Prod has both (docs/design.md, The edge)"),
		}}, jsii.Bool(true))
	} else {
		origin := props.Data.OriginSecrets
		gate := newOriginGate(stack, s.Api, stage, origin)
		s.Cdn = newApiCdn(stack, s.Api, props.Edge, origin[stage.Edge.Origin.Send].SecretValue().UnsafeUnwrap())
		// CloudFront sends a new value only once the gate accepts it: in
		// one deploy, the web ACL is updated before the distribution.
		s.Cdn.Node().AddDependency(gate)
	}

	output(stack, "ApiUrl", s.Api.Api().Url(), "Base URL of the REST API's stage")
	output(stack, "UserPoolId", identity.UserPool().UserPoolId(), "Cognito user pool")
	output(stack, "UserPoolClientId", identity.Client().UserPoolClientId(), "App client for sign-in")
	output(stack, "PaymentsClientId", identity.PaymentsClient().UserPoolClientId(), "Confidential client of the payment integration (client credentials, scope "+contract.ScopeConfirmOrders+"; its secret is in the Cognito console)")
	output(stack, "StaffPoolId", identity.StaffPool().UserPoolId(), "Cognito user pool of administrators (MFA required)")
	output(stack, "TokenUrl", identity.TokenURL(), "OAuth 2.0 token endpoint of the payment integration's client credentials")
	output(stack, "StaffPoolClientId", identity.StaffClient().UserPoolClientId(), "App client for administrators' sign-in")
	return s
}

// newOrderEvents wires the events function: the Orders table's change
// stream in (only order items' inserts and updates), the stage's bus out
// (events:PutEvents on that bus alone), and a queue for the records it fails
// past its retries.
func newOrderEvents(stack awscdk.Stack, stage config.Stage, fn components.GoFunction, data *DataStack) awssqs.Queue {
	busArn := awscdk.Fn_ImportValue(jsii.String(DevEventBusExports.Arn))
	if data.EventBus != nil {
		busArn = data.EventBus.EventBusArn()
	}
	fn.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("events:PutEvents"), Resources: &[]*string{busArn},
	}))
	failures := awssqs.NewQueue(stack, jsii.String("EventsFailures"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)), RemovalPolicy: components.StatefulRemoval(stage.Prod),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(failures, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String("This queue is itself the failure destination of the order events' stream reader"),
	}}, jsii.Bool(false))
	filter := awslambda.FilterCriteria_Filter(&map[string]interface{}{
		"eventName": awslambda.FilterRule_IsEqual(jsii.String("INSERT")),
		"dynamodb":  map[string]interface{}{"NewImage": map[string]interface{}{contract.SortKey: map[string]interface{}{"S": awslambda.FilterRule_BeginsWith(jsii.String("ORDER#"))}}},
	})
	modified := awslambda.FilterCriteria_Filter(&map[string]interface{}{
		"eventName": awslambda.FilterRule_IsEqual(jsii.String("MODIFY")),
		"dynamodb":  map[string]interface{}{"NewImage": map[string]interface{}{contract.SortKey: map[string]interface{}{"S": awslambda.FilterRule_BeginsWith(jsii.String("ORDER#"))}}},
	})
	fn.Target().AddEventSource(awslambdaeventsources.NewDynamoEventSource(data.Orders.Orders(), &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(10),
		BisectBatchOnError:      jsii.Bool(true),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(10),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(24)),
		OnFailure:               awslambdaeventsources.NewSqsDlq(failures),
		Filters:                 &[]*map[string]interface{}{filter, modified},
	}))
	// The stream's ARN is a weak reference: the Orders table's fingerprint,
	// in a tag, makes the mapping change (and re-read it) when the table is
	// replaced (components.InputsFingerprint).
	for _, c := range *fn.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if m, ok := c.(awslambda.CfnEventSourceMapping); ok {
			awscdk.Tags_Of(m).Add(jsii.String("inputs"), components.InputsFingerprint(data.Orders), nil)
		}
	}
	return failures
}
