package components

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ShopApiProps configure the REST API.
type ShopApiProps struct {
	// Name is the API's name: the ApiName dimension of its metrics.
	Name     string
	UserPool awscognito.IUserPool
	// StaffPool issues the tokens of Staff routes.
	StaffPool awscognito.IUserPool
	// StockThrottle is the limit of the routes that move stock
	// (contract.StockThrottle), below the stage's default.
	StockThrottle Throttle
	// DetailedMetrics: the routes with an SLO (contract.Route.SLO) publish
	// their own metrics (ApiName, Stage, Method, Resource).
	DetailedMetrics  bool
	ThrottleRate     float64
	ThrottleBurst    float64
	LogRetentionDays int
	Prod             bool
	CorsOrigins      []string
	// GuestAuthorizer, when set, is the Lambda authorizer of the routes a
	// guest or a signed-in caller may call (Route.Guest).
	GuestAuthorizer awslambda.IFunction
	// PoolInputs are the constructs of other stacks that hold the user
	// pools: their fingerprint goes into each Cognito authorizer's name, so
	// a replaced pool reaches the authorizer on the next deploy (the pools'
	// ARNs are weak references, which CloudFormation re-reads only when the
	// authorizer itself changes: InputsFingerprint).
	PoolInputs []constructs.IConstruct
}

// Throttle is a steady rate (requests per second) and a burst.
type Throttle struct {
	Rate, Burst float64
}

// ApiStageName is the REST API's one stage: the first segment of its
// execute-api URLs, and the Stage dimension of its metrics.
const ApiStageName = "shop"

// ShopApi is the shop's REST API (API Gateway v1, regional): one stage with
// throttling and JSON access logs, a Cognito authorizer on every route that
// is not public, and problem+json for the answers API Gateway gives itself.
// A REST API because only a REST API stage can be
// associated with an AWS WAF web ACL (docs/design.md, "The edge").
type ShopApi interface {
	constructs.Construct
	Api() awsapigateway.RestApi
	// StageArn is the ARN of the stage, as a web ACL association names it.
	StageArn() *string
	// AddRoutes sends routes of the table (contract.Routes) to fn, each
	// behind the authorizer its Access names, with its throttle and, for an
	// SLO, its detailed metrics.
	AddRoutes(fn awslambda.IFunction, routes ...contract.Route)
	// SetDefault sends every request that matches no route to fn, so that the
	// function answers unknown paths with a problem+json 404 and known paths
	// with another method 405. Call it after the routes.
	SetDefault(fn awslambda.IFunction)
}

type shopApi struct {
	constructs.Construct
	api      awsapigateway.RestApi
	users    awsapigateway.IAuthorizer
	staff    awsapigateway.IAuthorizer
	guests   awsapigateway.IAuthorizer
	seen     map[string]bool
	settings []interface{} // the stage's MethodSettings: the stage-wide one, then the routes' own
	props    ShopApiProps
	defaults bool
}

// accessLogFormat is one JSON object per request; the keys are stable for log queries.
var accessLogFormat = func() string {
	fields := map[string]string{
		"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "requestTime": "$context.requestTime",
		"httpMethod": "$context.httpMethod", "resourcePath": "$context.resourcePath", "status": "$context.status",
		"protocol": "$context.protocol", "responseLength": "$context.responseLength",
		"integrationLatency": "$context.integrationLatency", "responseLatency": "$context.responseLatency",
		"integrationError": "$context.integrationErrorMessage", "authorizerError": "$context.authorizer.error",
		"userAgent": "$context.identity.userAgent", "wafResponse": "$context.wafResponseCode",
		// Who called: the sub of the Cognito authorizers' token, or the
		// principal of the guest-or-user Lambda authorizer ("guest" for a guest).
		"sub": "$context.authorizer.claims.sub", "principal": "$context.authorizer.principalId",
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a stable template: same source, same bytes
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(`"%s":"%s"`, k, fields[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}()

// NewShopApi defines the API, its stage, its access logs and its authorizers.
func NewShopApi(scope constructs.Construct, id string, props ShopApiProps) ShopApi {
	this := constructs.NewConstruct(scope, &id)
	retention, ok := retentionDays[props.LogRetentionDays]
	if !ok {
		panic(fmt.Sprintf("ShopApi %s: CloudWatch has no retention of %d days", id, props.LogRetentionDays))
	}
	var cors *awsapigateway.CorsOptions
	if len(props.CorsOrigins) > 0 {
		cors = &awsapigateway.CorsOptions{
			AllowOrigins:  jsii.Strings(props.CorsOrigins...),
			AllowMethods:  jsii.Strings(contract.CORSAllowMethods()...),
			AllowHeaders:  jsii.Strings(contract.CORSAllowHeaders()...),
			ExposeHeaders: jsii.Strings(contract.CORSExposeHeaders()...),
			MaxAge:        awscdk.Duration_Seconds(jsii.Number(contract.CORSMaxAgeSeconds)),
			StatusCode:    jsii.Number(204),
		}
	}
	accessLogs := awslogs.NewLogGroup(this, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: StatefulRemoval(props.Prod),
	})
	a := &shopApi{Construct: this, seen: map[string]bool{}, props: props}
	// "RestApi", not "Api": the earlier API had that id (docs/design.md), and CloudFormation
	// refuses to change a logical id's type. The access logs keep theirs.
	a.api = awsapigateway.NewRestApi(this, jsii.String("RestApi"), &awsapigateway.RestApiProps{
		RestApiName:   jsii.String(props.Name),
		Description:   jsii.String("The shop's REST API"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// The account's API Gateway CloudWatch role (access logs need it) is
		// the account stack's: one per account and region, never a stage's.
		CloudWatchRole:              jsii.Bool(false),
		DefaultCorsPreflightOptions: cors,
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(ApiStageName),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat)),
		},
	})
	var usersName, staffName *string
	if len(props.PoolInputs) > 0 {
		fp := *InputsFingerprint(props.PoolInputs...)
		usersName, staffName = jsii.String("Users-inputs-"+fp), jsii.String("Staff-inputs-"+fp)
	}
	a.users = awsapigateway.NewCognitoUserPoolsAuthorizer(this, jsii.String("Cognito"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{props.UserPool}, AuthorizerName: usersName,
	})
	a.staff = awsapigateway.NewCognitoUserPoolsAuthorizer(this, jsii.String("Staff"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{props.StaffPool}, AuthorizerName: staffName,
	})
	if props.GuestAuthorizer != nil {
		// No identity source and no cache: the authorizer runs for every
		// request, with or without an Authorization header (API Gateway
		// requires the identity sources to be present only when it caches).
		a.guests = awsapigateway.NewRequestAuthorizer(this, jsii.String("GuestOrUser"), &awsapigateway.RequestAuthorizerProps{
			Handler:         props.GuestAuthorizer,
			IdentitySources: &[]*string{},
			ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(0)),
		})
	}
	// The stage's throttle for every method ("/*" and "*"), then the
	// routes' own settings (addSetting).
	a.settings = []interface{}{&awsapigateway.CfnStage_MethodSettingProperty{
		ResourcePath: jsii.String("/*"), HttpMethod: jsii.String("*"),
		ThrottlingRateLimit: jsii.Number(props.ThrottleRate), ThrottlingBurstLimit: jsii.Number(props.ThrottleBurst),
	}}
	a.stage().SetMethodSettings(&a.settings)
	a.addProblems()
	cdknag.NagSuppressions_AddResourceSuppressions(a.api, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-APIG2"), Reason: jsii.String("The functions validate every body and answer a problem+json that names each field (docs/contract.md); a request validator would answer in another format")},
		{Id: jsii.String("AwsSolutions-APIG6"), Reason: jsii.String("JSON access logs record every request with its status, latencies and errors; execution logs would go to a log group API Gateway makes with no retention, which outlives the stack")},
	}, jsii.Bool(true))
	return a
}

func (s *shopApi) Api() awsapigateway.RestApi { return s.api }

func (s *shopApi) StageArn() *string { return s.api.DeploymentStage().StageArn() }

func (s *shopApi) AddRoutes(fn awslambda.IFunction, routes ...contract.Route) {
	if s.defaults {
		panic("ShopApi: routes added after SetDefault")
	}
	integration := lambdaIntegration(fn)
	for _, r := range routes {
		key := r.Key()
		if s.seen[key] {
			panic("ShopApi: route " + key + " added twice")
		}
		s.seen[key] = true
		opts := &awsapigateway.MethodOptions{}
		switch r.Access {
		case contract.Guest:
			if s.guests == nil {
				panic("ShopApi: guest route " + key + " needs ShopApiProps.GuestAuthorizer")
			}
			opts.Authorizer, opts.AuthorizationType = s.guests, awsapigateway.AuthorizationType_CUSTOM
		case contract.Staff:
			opts.Authorizer, opts.AuthorizationType = s.staff, awsapigateway.AuthorizationType_COGNITO
		case contract.Payment:
			opts.Authorizer, opts.AuthorizationType = s.users, awsapigateway.AuthorizationType_COGNITO
			opts.AuthorizationScopes = jsii.Strings(r.Scopes()...)
		case contract.User:
			opts.Authorizer, opts.AuthorizationType = s.users, awsapigateway.AuthorizationType_COGNITO
		case contract.Public:
			opts.AuthorizationType = awsapigateway.AuthorizationType_NONE
		default:
			panic("ShopApi: route " + key + " has no access " + string(r.Access))
		}
		method := s.api.Root().ResourceForPath(jsii.String(r.Path)).AddMethod(jsii.String(r.Method), integration, opts)
		switch r.Access {
		case contract.Public:
			allowPublic(method)
		case contract.Guest:
			cdknag.NagSuppressions_AddResourceSuppressions(method, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-COG4"),
				Reason: jsii.String("A guest route (docs/contract.md): a guest has a session, not a Cognito token; the shop's Lambda authorizer verifies the Cognito ID token when there is one")}}, jsii.Bool(true))
		}
		s.addSetting(r)
	}
}

// addSetting gives r its own stage settings when it has a throttle or an
// SLO of its own; the stage's default covers the rest.
func (s *shopApi) addSetting(r contract.Route) {
	setting := &awsapigateway.CfnStage_MethodSettingProperty{}
	if r.Throttle == contract.StockThrottle {
		setting.ThrottlingRateLimit, setting.ThrottlingBurstLimit = jsii.Number(s.props.StockThrottle.Rate), jsii.Number(s.props.StockThrottle.Burst)
	}
	if r.SLO != "" && s.props.DetailedMetrics {
		setting.MetricsEnabled = jsii.Bool(true)
	}
	if *setting == (awsapigateway.CfnStage_MethodSettingProperty{}) {
		return
	}
	setting.ResourcePath = jsii.String(MethodSettingPath(r.Path))
	setting.HttpMethod = jsii.String(r.Method)
	s.settings = append(s.settings, setting)
	s.stage().SetMethodSettings(&s.settings)
}

// MethodSettingPath is a resource path as a stage's MethodSetting names it:
// every slash written "~1", the first one too ("/resource/subresource must
// be encoded as /~1resource~1subresource": AWS::ApiGateway::Stage
// MethodSetting, ResourcePath), as the CDK's methodOptions render it
// (aws-apigateway's parseMethodOptionsPath). "/orders" written as is is
// accepted by CloudFormation and matches no method: the setting would never
// act. The root is "/".
func MethodSettingPath(path string) string {
	if path == "/" {
		return "/"
	}
	return "/" + strings.ReplaceAll(path, "/", "~1")
}

// stage is the L1 stage: the L2 one reads its method options once, when it
// is made, and the routes come later.
func (s *shopApi) stage() awsapigateway.CfnStage {
	return s.api.DeploymentStage().Node().DefaultChild().(awsapigateway.CfnStage)
}

func (s *shopApi) SetDefault(fn awslambda.IFunction) {
	s.defaults = true
	integration := lambdaIntegration(fn)
	// ANY on every resource, and on a greedy catch-all at the root: a
	// method a resource does not have, and a path no resource has, reach
	// fn (a route's own method outranks ANY). Without them API Gateway
	// answers 403 "Missing Authentication Token" for both.
	var walk func(r awsapigateway.IResource)
	walk = func(r awsapigateway.IResource) {
		allowPublic(r.AddMethod(jsii.String("ANY"), integration, &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_NONE}))
		for _, child := range *r.Node().Children() {
			if res, ok := child.(awsapigateway.Resource); ok {
				walk(res)
			}
		}
	}
	walk(s.api.Root())
	allowPublic(s.api.Root().AddResource(jsii.String("{proxy+}"), nil).AddMethod(jsii.String("ANY"), integration,
		&awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_NONE}))
}

// lambdaIntegration is a proxy integration whose permissions name the
// methods of the deployed stage only (no test-invoke permission: half the
// function policy, which has a 20 KB quota).
func lambdaIntegration(fn awslambda.IFunction) awsapigateway.LambdaIntegration {
	return awsapigateway.NewLambdaIntegration(fn, &awsapigateway.LambdaIntegrationOptions{
		Proxy: jsii.Bool(true), AllowTestInvoke: jsii.Bool(false),
	})
}

// gatewayProblems are the answers API Gateway gives without calling a
// function, written as the contract's problem+json; $context.requestId is
// the X-Request-Id a function would have sent. The defaults cover several
// statuses, so their problems name none (status is advisory in RFC 9457).
var gatewayProblems = []struct {
	typ    func() awsapigateway.ResponseType
	status int // 0: the default of its class
	name   string
	detail string
}{
	{awsapigateway.ResponseType_UNAUTHORIZED, 401, "unauthenticated", "Send a valid, unexpired bearer token."},
	{awsapigateway.ResponseType_ACCESS_DENIED, 403, "forbidden", "The token does not allow this request."},
	{awsapigateway.ResponseType_WAF_FILTERED, 403, "blocked", "The request was blocked by the API's web ACL."},
	{awsapigateway.ResponseType_THROTTLED, 429, "throttled", "Too many requests; retry later."},
	{awsapigateway.ResponseType_REQUEST_TOO_LARGE, 413, "too-large", "The body is too large."},
	{awsapigateway.ResponseType_DEFAULT_4XX, 0, "bad-request", "The request was refused before it reached the shop."},
	{awsapigateway.ResponseType_DEFAULT_5XX, 0, "unavailable", "The API could not answer; retry later."},
}

func (s *shopApi) addProblems() {
	for _, p := range gatewayProblems {
		opts := &awsapigateway.GatewayResponseOptions{Type: p.typ()}
		status := ""
		if p.status != 0 {
			opts.StatusCode = jsii.String(fmt.Sprint(p.status))
			status = fmt.Sprintf(`"status":%d,`, p.status)
		}
		opts.ResponseHeaders = &map[string]*string{"Content-Type": jsii.String("'application/problem+json'")}
		if p.status == 429 || p.name == "unavailable" {
			(*opts.ResponseHeaders)[contract.HeaderRetryAfter] = jsii.String("'1'")
		}
		// $context.error.messageString is the message already quoted.
		body := fmt.Sprintf(`{"type":"/problems/%s","title":$context.error.messageString,%s"detail":"%s","request_id":"$context.requestId"}`,
			p.name, status, p.detail)
		opts.Templates = &map[string]*string{"application/json": jsii.String(body)}
		s.api.AddGatewayResponse(jsii.String("Problem"+strings.ReplaceAll(*p.typ().ResponseType(), "_", "")), opts)
	}
}

// allowPublic records on a public route why it has no authorizer.
func allowPublic(method constructs.IConstruct) {
	reason := jsii.String("Public by contract (docs/contract.md): catalogue reads, POST /sessions, and the catch-all methods that answer unknown paths and methods with a 404 or 405 problem; the stage throttles them")
	cdknag.NagSuppressions_AddResourceSuppressions(method, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-APIG4"), Reason: reason}, {Id: jsii.String("AwsSolutions-COG4"), Reason: reason},
	}, jsii.Bool(true))
}
