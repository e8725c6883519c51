package components

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ShopApiProps configure the HTTP API.
type ShopApiProps struct {
	UserPool awscognito.IUserPool
	Client   awscognito.IUserPoolClient
	// StaffPool and StaffClient issue the tokens of Staff routes.
	StaffPool   awscognito.IUserPool
	StaffClient awscognito.IUserPoolClient
	// PaymentsClient's client-credentials tokens (of UserPool) may call
	// routes with a Scope, holding it.
	PaymentsClient awscognito.IUserPoolClient
	// StockThrottle is the limit of the routes that move stock
	// (contract.StockThrottle), below the stage's default.
	StockThrottle Throttle
	// DetailedMetrics: the routes with an SLO (contract.Route.SLO) publish
	// their own metrics (ApiId, Stage, Method, Resource).
	DetailedMetrics  bool
	ThrottleRate     float64
	ThrottleBurst    float64
	LogRetentionDays int
	Prod             bool
	CorsOrigins      []string
	// GuestAuthorizer, when set, is the Lambda authorizer of the routes a
	// guest or a signed-in caller may call (Route.Guest).
	GuestAuthorizer awslambda.IFunction
}

// Throttle is a steady rate (requests per second) and a burst.
type Throttle struct {
	Rate, Burst float64
}

// ShopApi is the shop's HTTP API (API Gateway v2): a $default stage with
// throttling and JSON access logs, and a Cognito JWT authorizer on every route
// that is not public.
type ShopApi interface {
	constructs.Construct
	Api() awsapigatewayv2.HttpApi
	// AddRoutes sends routes of the table (contract.Routes) to fn, each
	// behind the authorizer its Access names, with its throttle and, for an
	// SLO, its detailed metrics.
	AddRoutes(fn awslambda.IFunction, routes ...contract.Route)
	// SetDefault sends every request that matches no route to fn, so that the
	// function answers unknown paths with a problem+json 404 or 405.
	SetDefault(fn awslambda.IFunction)
}

type shopApi struct {
	constructs.Construct
	api        awsapigatewayv2.HttpApi
	authorizer awsapigatewayv2authorizers.HttpUserPoolAuthorizer
	staff      awsapigatewayv2authorizers.HttpUserPoolAuthorizer
	payments   awsapigatewayv2authorizers.HttpUserPoolAuthorizer
	guests     awsapigatewayv2authorizers.HttpLambdaAuthorizer
	seen       map[string]bool
	cors       bool // the API has a CORS configuration
	stage      awsapigatewayv2.HttpStage
	settings   map[string]interface{} // the stage's RouteSettings, by route key
	routes     map[string][]awsapigatewayv2.HttpRoute
	props      ShopApiProps
}

// accessLogFormat is one JSON object per request; the keys are stable for log queries.
var accessLogFormat = func() string {
	fields := map[string]string{
		"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "requestTime": "$context.requestTime",
		"httpMethod": "$context.httpMethod", "routeKey": "$context.routeKey", "status": "$context.status",
		"protocol": "$context.protocol", "responseLength": "$context.responseLength",
		"integrationLatency": "$context.integrationLatency", "responseLatency": "$context.responseLatency",
		"integrationError": "$context.integrationErrorMessage", "authorizerError": "$context.authorizer.error",
		"userAgent": "$context.identity.userAgent",
		// Who called: the sub of the JWT authorizers' token, or of the guest-or-user
		// Lambda authorizer's context (empty for a guest).
		"sub": "$context.authorizer.claims.sub", "authorizerSub": "$context.authorizer.sub",
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

// NewShopApi defines the API, its stage, its access logs and its authorizer.
func NewShopApi(scope constructs.Construct, id string, props ShopApiProps) ShopApi {
	this := constructs.NewConstruct(scope, &id)
	retention, ok := retentionDays[props.LogRetentionDays]
	if !ok {
		panic(fmt.Sprintf("ShopApi %s: CloudWatch has no retention of %d days", id, props.LogRetentionDays))
	}
	origins := make([]*string, len(props.CorsOrigins))
	for i, o := range props.CorsOrigins {
		origins[i] = jsii.String(o)
	}
	var cors *awsapigatewayv2.CorsPreflightOptions
	if len(origins) > 0 {
		cors = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins:  &origins,
			AllowMethods:  corsMethods(),
			AllowHeaders:  lowerStrings(contract.CORSAllowHeaders()),
			ExposeHeaders: lowerStrings(contract.CORSExposeHeaders()),
			MaxAge:        awscdk.Duration_Seconds(jsii.Number(contract.CORSMaxAgeSeconds)),
		}
	}
	api := awsapigatewayv2.NewHttpApi(this, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("The shop's HTTP API"),
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight:      cors,
	})
	accessLogs := awslogs.NewLogGroup(this, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: StatefulRemoval(props.Prod),
	})
	stage := awsapigatewayv2.NewHttpStage(this, jsii.String("Stage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(props.ThrottleRate),
			BurstLimit: jsii.Number(props.ThrottleBurst),
		},
	})
	// The L2 stage takes access log settings only through a jsii interface; the L1
	// property says the same in one line.
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})
	authorizer := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("Cognito"), props.UserPool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			UserPoolClients: &[]awscognito.IUserPoolClient{props.Client},
		})
	staff := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("Staff"), props.StaffPool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			UserPoolClients: &[]awscognito.IUserPoolClient{props.StaffClient},
		})
	payments := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("Payments"), props.UserPool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			UserPoolClients: &[]awscognito.IUserPoolClient{props.PaymentsClient},
		})
	a := &shopApi{Construct: this, api: api, authorizer: authorizer, staff: staff, payments: payments, seen: map[string]bool{}, cors: cors != nil,
		stage: stage, settings: map[string]interface{}{}, routes: map[string][]awsapigatewayv2.HttpRoute{}, props: props}
	if props.GuestAuthorizer != nil {
		// No identity source and no cache: the authorizer runs for every
		// request, with or without an Authorization header.
		a.guests = awsapigatewayv2authorizers.NewHttpLambdaAuthorizer(jsii.String("GuestOrUser"), props.GuestAuthorizer,
			&awsapigatewayv2authorizers.HttpLambdaAuthorizerProps{
				ResponseTypes:   &[]awsapigatewayv2authorizers.HttpLambdaResponseType{awsapigatewayv2authorizers.HttpLambdaResponseType_SIMPLE},
				IdentitySource:  &[]*string{},
				ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(0)),
			})
	}
	return a
}

func (s *shopApi) Api() awsapigatewayv2.HttpApi { return s.api }

func (s *shopApi) AddRoutes(fn awslambda.IFunction, routes ...contract.Route) {
	// One id for every function's integration (each lands under its own
	// route's scope): the logical ids stay those of before the live alias.
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("FunctionIntegration"), fn, nil)
	for _, r := range routes {
		key := r.Key()
		if s.seen[key] {
			panic("ShopApi: route " + key + " added twice")
		}
		s.seen[key] = true
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration,
		}
		switch r.Access {
		case contract.Guest:
			if s.guests == nil {
				panic("ShopApi: guest route " + key + " needs ShopApiProps.GuestAuthorizer")
			}
			opts.Authorizer = s.guests
		case contract.Staff:
			opts.Authorizer = s.staff
		case contract.Payment:
			opts.Authorizer = s.payments
			opts.AuthorizationScopes = jsii.Strings(r.Scopes()...)
		case contract.User:
			opts.Authorizer = s.authorizer
		case contract.Public:
		default:
			panic("ShopApi: route " + key + " has no access " + string(r.Access))
		}
		added := *s.api.AddRoutes(opts)
		for _, route := range added {
			if r.Access == contract.Public {
				allowPublic(route)
			}
		}
		s.routes[key] = added
		s.addSetting(r)
	}
}

// addSetting gives r its own stage settings when it has a throttle or an
// SLO of its own; the stage's default covers the rest.
func (s *shopApi) addSetting(r contract.Route) {
	setting := map[string]interface{}{}
	if r.Throttle == contract.StockThrottle {
		setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"] = s.props.StockThrottle.Rate, s.props.StockThrottle.Burst
	}
	if r.SLO != "" && s.props.DetailedMetrics {
		setting["DetailedMetricsEnabled"] = true
	}
	if len(setting) == 0 {
		return
	}
	s.settings[r.Key()] = setting
	// The L2 stage has no per-route settings; the L1 property does.
	s.stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetRouteSettings(s.settings)
	// API Gateway refuses a stage whose RouteSettings name a route that does
	// not exist yet ("Unable to find Route by key ... within the provided
	// RouteSettings", aws/serverless-application-model#2479), and nothing
	// else orders the stage after the routes: they wait on integrations,
	// which wait on functions in the VPC, so CloudFormation would create the
	// stage first and roll the first deploy back.
	for _, route := range s.routes[r.Key()] {
		s.stage.Node().AddDependency(route)
	}
}

func (s *shopApi) SetDefault(fn awslambda.IFunction) {
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("DefaultIntegration"), fn, nil)
	route := awsapigatewayv2.NewHttpRoute(s.Construct, jsii.String("DefaultRoute"), &awsapigatewayv2.HttpRouteProps{
		HttpApi:     s.api,
		RouteKey:    awsapigatewayv2.HttpRouteKey_DEFAULT(),
		Integration: integration,
	})
	allowPublic(route)
	if s.cors {
		// With a $default route, API Gateway hands CORS preflights to it
		// instead of answering them from the CORS configuration; an
		// unauthenticated OPTIONS /{proxy+} route outranks $default, so
		// browsers' preflights (which carry no token) pass, and API Gateway
		// answers them with the configured headers (the function, if it is
		// reached, answers 204).
		preflight := awsapigatewayv2.NewHttpRoute(s.Construct, jsii.String("PreflightRoute"), &awsapigatewayv2.HttpRouteProps{
			HttpApi:     s.api,
			RouteKey:    awsapigatewayv2.HttpRouteKey_With(jsii.String("/{proxy+}"), awsapigatewayv2.HttpMethod_OPTIONS),
			Integration: integration,
		})
		allowPublic(preflight)
	}
}

// allowPublic records on a public route why it has no authorizer.
func allowPublic(route constructs.IConstruct) {
	cdknag.NagSuppressions_AddResourceSuppressions(route, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-APIG4"),
		Reason: jsii.String("Public by contract (API.md): catalogue reads, and the $default route that answers unknown paths with a 404 problem; the stage throttles them"),
	}}, jsii.Bool(true))
}

func corsMethods() *[]awsapigatewayv2.CorsHttpMethod {
	var out []awsapigatewayv2.CorsHttpMethod
	for _, m := range contract.CORSAllowMethods() {
		out = append(out, awsapigatewayv2.CorsHttpMethod(m))
	}
	return &out
}

// lowerStrings are names as API Gateway's CORS configuration keeps them: in lower case.
func lowerStrings(names []string) *[]*string {
	out := make([]*string, len(names))
	for i, n := range names {
		out[i] = jsii.String(strings.ToLower(n))
	}
	return &out
}
