package stacks

import (
	"fmt"
	"github.com/go-cdk-shop/shop/lambdas/contract"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
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

// CatalogRoutes are the routes of the catalogue function; the OpenAPI document
// and the function's router list the same ones (tests hold them together).
var CatalogRoutes = []components.Route{
	{Method: "GET", Path: "/products", Public: true},
	{Method: "POST", Path: "/products", Staff: true},
	{Method: "GET", Path: "/products/{product_id}", Public: true},
	{Method: "PATCH", Path: "/products/{product_id}", Staff: true},
	{Method: "DELETE", Path: "/products/{product_id}", Staff: true},
	{Method: "POST", Path: "/products/{product_id}/image", Staff: true},
	{Method: "GET", Path: "/trending", Public: true},
}

// CartRoutes go to the cart function: guest sessions, and the cart, which a
// guest (X-Session-Id from POST /sessions) or a signed-in user may call, all
// but merge.
var CartRoutes = []components.Route{
	{Method: "POST", Path: "/sessions", Public: true},
	{Method: "DELETE", Path: "/sessions/current", Guest: true},
	{Method: "GET", Path: "/cart", Guest: true},
	{Method: "DELETE", Path: "/cart", Guest: true},
	{Method: "PUT", Path: "/cart/items/{product_id}", Guest: true},
	{Method: "DELETE", Path: "/cart/items/{product_id}", Guest: true},
	{Method: "POST", Path: "/cart/merge"},
}

// OrderRoutes go to the orders function: a signed-in caller's, but confirm,
// which is the payment integration's (a client-credentials token with the
// confirm scope).
var OrderRoutes = []components.Route{
	{Method: "POST", Path: "/orders"},
	{Method: "GET", Path: "/orders"},
	{Method: "GET", Path: "/orders/{order_id}"},
	{Method: "POST", Path: "/orders/{order_id}/cancel"},
	{Method: "POST", Path: "/orders/{order_id}/confirm", Scope: contract.ScopeConfirmOrders},
	{Method: "GET", Path: "/me"},
	{Method: "PATCH", Path: "/me"},
}

// ApiStack holds the functions and the HTTP API.
type ApiStack struct {
	awscdk.Stack
	Api        components.ShopApi
	Catalog    components.GoFunction
	Cart       components.GoFunction
	Orders     components.GoFunction
	Authorizer components.GoFunction
	Expiry     components.GoFunction
	Cdn        awscloudfront.Distribution // with the edge profile
	Monitoring components.Monitoring
}

// NewApiStack defines the stateless stack of a stage.
func NewApiStack(scope constructs.Construct, id string, props ApiStackProps) *ApiStack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	stage := props.Stage
	s := &ApiStack{Stack: stack}
	common := func(name contract.Function, description string, env map[string]string, inputs ...constructs.IConstruct) components.GoFunctionProps {
		return components.GoFunctionProps{
			Name: name, DistDir: props.DistDir, Description: description, Environment: env, Inputs: inputs,
			ReservedConcurrency: stage.ReservedConcurrency[string(name)],
			MemoryMB:            stage.LambdaMemoryMB, TimeoutSeconds: 10, LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod,
		}
	}
	products := props.Data.Products.Table()
	origin := "" // no CDN in front: the functions check nothing
	if props.Data.OriginSecret != nil {
		origin = *props.Data.OriginSecret.SecretValue().UnsafeUnwrap()
	}
	// Every function that reads or writes products runs in the VPC next to
	// the cache: the product cache must hear of every write.
	s.Catalog = newFunctionNextToCache(stack, "Catalog", props.Network, common(contract.Catalog, "The product catalogue: /products, /trending", map[string]string{
		contract.EnvProductsTable: *products.TableName(),
		contract.EnvCursorSecret:  *props.Data.CursorSecret.SecretValue().UnsafeUnwrap(),
		contract.EnvCurrency:      stage.Currency,
		contract.EnvImagesBucket:  *props.Media.Images.Bucket().BucketName(),
		contract.EnvImagesBaseURL: *props.Media.Images.BaseURL(),
		contract.EnvOriginVerify:  origin,
	}, props.Data.Products, props.Data.CursorSecret, props.Media.Images, props.Network.Cache))
	grant(s.Catalog, contract.Catalog, props.Data, props.Media)
	allowImageKeys(s.Catalog.Role())
	allowIndexes(s.Catalog.Role(), "Listing a category queries the table's by-category index")

	pool, client := props.Data.Identity.UserPool(), props.Data.Identity.Client()
	s.Authorizer = components.NewGoFunction(stack, "Authorizer", common(contract.Authorizer, "Lets guests and signed-in users call the cart routes", map[string]string{
		contract.EnvUserPoolID: *pool.UserPoolId(), contract.EnvUserPoolClient: *client.UserPoolClientId(),
	}, props.Data.Identity))

	// The cart and orders functions keep carts in the cache.
	withCarts := func(p components.GoFunctionProps) components.GoFunctionProps {
		p.Environment[contract.EnvCartTTLUser] = fmt.Sprintf("%dh", stage.CartTTLUserHours)
		p.Environment[contract.EnvCartTTLGuest] = fmt.Sprintf("%dh", stage.CartTTLGuestHours)
		return p
	}
	s.Cart = newFunctionNextToCache(stack, "Cart", props.Network, withCarts(common(contract.Cart, "Shopping carts: /cart", map[string]string{
		contract.EnvProductsTable: *products.TableName(),
		contract.EnvCurrency:      stage.Currency,
		contract.EnvOriginVerify:  origin,
	}, props.Data.Products, props.Network.Cache)))
	// Pricing a cart reads products by key; nothing else.
	grant(s.Cart, contract.Cart, props.Data, props.Media)
	allowIndexes(s.Cart.Role(), "Table.Grant names the table's indexes too; the actions are key reads, which indexes do not serve")

	orders, customers := props.Data.Orders.Orders(), props.Data.Orders.Customers()
	s.Orders = newFunctionNextToCache(stack, "Orders", props.Network, withCarts(common(contract.Orders, "Checkout, order history and profile: /orders, /me", map[string]string{
		contract.EnvProductsTable:  *products.TableName(),
		contract.EnvOrdersTable:    *orders.TableName(),
		contract.EnvCustomersTable: *customers.TableName(),
		contract.EnvCursorSecret:   *props.Data.CursorSecret.SecretValue().UnsafeUnwrap(),
		contract.EnvCurrency:       stage.Currency,
		contract.EnvOrderHold:      stage.OrderHold().String(),
		contract.EnvMaxPending:     strconv.Itoa(stage.MaxPending()),
		contract.EnvOriginVerify:   origin,
	}, props.Data.Products, props.Data.Orders, props.Data.CursorSecret, props.Network.Cache)))
	// Checkout reads products and takes stock in its transaction; nothing else.
	grant(s.Orders, contract.Orders, props.Data, props.Media)
	allowIndexes(s.Orders.Role(), "Table.Grant names the table's indexes too; the actions are key reads and updates, which indexes do not serve")

	// The scheduled job that expires unpaid orders, every minute: units are
	// back within two minutes of a hold's end.
	s.Expiry = newFunctionNextToCache(stack, "Expiry", props.Network, common(contract.Expiry, "Expires pending orders past their hold, every minute", map[string]string{
		contract.EnvProductsTable:  *products.TableName(),
		contract.EnvOrdersTable:    *orders.TableName(),
		contract.EnvCustomersTable: *customers.TableName(),
	}, props.Data.Products, props.Data.Orders, props.Network.Cache))
	grant(s.Expiry, contract.Expiry, props.Data, props.Media)
	allowIndexes(s.Expiry.Role(), "The job queries the Orders table's sparse index of pending orders")
	awsevents.NewRule(stack, jsii.String("ExpirySchedule"), &awsevents.RuleProps{
		Description: jsii.String("Expires pending orders past their hold"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Expiry.Function(), &awseventstargets.LambdaFunctionProps{RetryAttempts: jsii.Number(0)})},
	})

	s.Api = components.NewShopApi(stack, "Http", components.ShopApiProps{
		UserPool: pool, Client: client, StaffPool: props.Data.Identity.StaffPool(), StaffClient: props.Data.Identity.StaffClient(),
		ThrottleRate: stage.ThrottleRate, ThrottleBurst: stage.ThrottleBurst,
		LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod, CorsOrigins: stage.CorsOrigins,
		GuestAuthorizer: s.Authorizer.Function(),
		PaymentsClient:  props.Data.Identity.PaymentsClient(),
		// The routes that move stock get less than the catalogue's reads.
		// Route metrics for checkout's SLO (custom metrics: prod only).
		DetailedMetrics: map[bool][]string{true: {"POST /orders"}}[stage.Prod],
		RouteThrottles: map[string]components.Throttle{
			"POST /orders":                    {Rate: stage.CheckoutThrottleRate, Burst: stage.CheckoutThrottleBurst},
			"POST /orders/{order_id}/cancel":  {Rate: stage.CheckoutThrottleRate, Burst: stage.CheckoutThrottleBurst},
			"POST /orders/{order_id}/confirm": {Rate: stage.CheckoutThrottleRate, Burst: stage.CheckoutThrottleBurst},
		},
	})
	s.Api.AddRoutes(s.Catalog.Function(), CatalogRoutes...)
	s.Api.AddRoutes(s.Cart.Function(), CartRoutes...)
	s.Api.AddRoutes(s.Orders.Function(), OrderRoutes...)
	s.Api.SetDefault(s.Catalog.Function())

	s.Monitoring = newMonitoring(stack, s, props)

	if props.Edge != nil {
		s.Cdn = newApiCdn(stack, s.Api, props.Edge, origin)
	}

	out := func(id, value, description string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(description)})
	}
	out("ApiUrl", *s.Api.Api().ApiEndpoint(), "Base URL of the HTTP API")
	out("UserPoolId", *props.Data.Identity.UserPool().UserPoolId(), "Cognito user pool")
	out("UserPoolClientId", *props.Data.Identity.Client().UserPoolClientId(), "App client for sign-in")
	out("PaymentsClientId", *props.Data.Identity.PaymentsClient().UserPoolClientId(), "Confidential client of the payment integration (client credentials, scope "+contract.ScopeConfirmOrders+"; its secret is in the Cognito console)")
	out("StaffPoolId", *props.Data.Identity.StaffPool().UserPoolId(), "Cognito user pool of administrators (MFA required)")
	out("StaffPoolClientId", *props.Data.Identity.StaffClient().UserPoolClientId(), "App client for administrators' sign-in")
	return s
}

// newMonitoring declares the stage's signals: the API, every function, the
// tables, the cache, the images failure queue, the shop's own metrics and,
// in prod, the checkout SLO.
func newMonitoring(stack awscdk.Stack, s *ApiStack, props ApiStackProps) components.Monitoring {
	stage, alarms := props.Stage, props.Stage.Alarms()
	m := components.NewMonitoring(stack, "Monitoring", components.MonitoringProps{
		Stage: stage.Name, Full: stage.Prod, AlarmEmail: alarms.AlarmEmail,
		Thresholds: components.Thresholds{Api5xxPercent: alarms.Api5xxPercent, ApiLatencyP99Ms: alarms.ApiLatencyP99Ms,
			DurationPercentOfTimeout: alarms.DurationPercentOfTimeout, CacheUsePercent: alarms.CacheUsePercent,
			PeriodMinutes: alarms.PeriodMinutes, EvaluationPeriods: alarms.EvaluationPeriods},
	})
	apiID := s.Api.Api().ApiId()
	m.Api(apiID)
	for _, f := range []struct {
		name    contract.Function
		fn      components.GoFunction
		timeout float64
	}{{contract.Catalog, s.Catalog, 10}, {contract.Cart, s.Cart, 10}, {contract.Orders, s.Orders, 10},
		{contract.Authorizer, s.Authorizer, 10}, {contract.Expiry, s.Expiry, 10}, {contract.Images, props.Media.Linker, 20}} {
		m.Function(string(f.name), f.fn.Function(), f.timeout)
	}
	m.Table("products", props.Data.Products.Table())
	m.Table("orders", props.Data.Orders.Orders())
	m.Table("customers", props.Data.Orders.Customers())
	m.Cache(stage.CacheName(), stage.CacheMaxECPU, stage.CacheMaxStorageGB)
	m.FailureQueue("images", props.Media.Failures)
	business := map[string][]string{}
	for name, fns := range contract.Metrics {
		for _, fn := range fns {
			business[name] = append(business[name], string(fn))
		}
	}
	m.Business(contract.MetricsNamespace, business)
	// Checkout's availability from its route's own metrics (detailed
	// metrics on POST /orders: see ShopApiProps.DetailedMetrics).
	checkout := map[string]*string{"ApiId": apiID, "Stage": jsii.String("$default"), "Method": jsii.String("POST"), "Resource": jsii.String("/orders")}
	metric := func(name, statistic string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/ApiGateway"), MetricName: jsii.String(name),
			Statistic: jsii.String(statistic), DimensionsMap: &checkout, Period: awscdk.Duration_Minutes(jsii.Number(alarms.PeriodMinutes))})
	}
	m.Slo("Checkout", metric("5xx", "Sum"), metric("Count", "Sum"), alarms.CheckoutAvailability)
	m.LatencySlo("Checkout", metric("Latency", "p99"), alarms.ApiLatencyP99Ms)
	return m
}

// newFunctionNextToCache defines a function in the VPC next to the cache,
// with what it needs to connect as the cache's user, and the right to.
func newFunctionNextToCache(scope constructs.Construct, id string, network *NetworkStack, p components.GoFunctionProps) components.GoFunction {
	cache := network.Cache
	p.Network, p.SecurityGroup = network.Network, cache.Clients()
	p.Environment[contract.EnvCacheEndpoint] = *cache.Endpoint()
	p.Environment[contract.EnvCacheName] = cache.Name()
	p.Environment[contract.EnvCacheUser] = cache.UserID()
	f := components.NewGoFunction(scope, id, p)
	cache.GrantConnect(f.Role())
	return f
}

// grant gives fn's role exactly the actions its code calls (contract.Grants).
func grant(f components.GoFunction, fn contract.Function, data *DataStack, media *MediaStack) {
	role := f.Role()
	grants := contract.Grants(fn)
	// In a fixed order: the policy's statements, and the template, stay the same from synth to synth.
	for _, resource := range slices.Sorted(maps.Keys(grants)) {
		actions := grants[resource]
		switch resource {
		case contract.ResourceProducts:
			data.Products.Table().Grant(role, *jsii.Strings(actions...)...)
		case contract.ResourceOrders:
			data.Orders.Orders().Grant(role, *jsii.Strings(actions...)...)
		case contract.ResourceCustomers:
			data.Orders.Customers().Grant(role, *jsii.Strings(actions...)...)
		case contract.ResourceImages:
			media.Images.GrantImages(role, actions...)
		case contract.ResourceImagesIndex:
			media.Images.GrantList(role)
		default:
			panic("grant: no resource " + resource)
		}
	}
}

// allowIndexes records why a role may act on a table's /index/* ARNs.
func allowIndexes(role awsiam.IRole, why string) {
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String(why + "; the grant names this table's own indexes, not other tables"),
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.*\/index\/\*$/g`)}},
	}}, jsii.Bool(true))
}

// allowImageKeys records why a role may act on products/* of the images bucket.
func allowImageKeys(role awsiam.IRole) {
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Objects under products/ only: every product image key is products/<product_id>/<ulid>.<ext>"),
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.*ProductImagesBucket.*\/products\/\*$/g`)}},
	}}, jsii.Bool(true))
}

// newApiCdn puts CloudFront in front of the API, with the edge stack's web
// ACL: nothing cached, every viewer header but Host forwarded, and the
// origin-verification header added, which the functions require.
func newApiCdn(stack awscdk.Stack, api components.ShopApi, edge *EdgeStack, origin string) awscloudfront.Distribution {
	domain := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), api.Api().ApiEndpoint(), nil))
	cdn := awscloudfront.NewDistribution(stack, jsii.String("ApiCdn"), &awscloudfront.DistributionProps{
		Comment: jsii.String("The shop's API behind AWS WAF"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin: awscloudfrontorigins.NewHttpOrigin(domain, &awscloudfrontorigins.HttpOriginProps{
				ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
				CustomHeaders:  &map[string]*string{contract.HeaderOriginVerify: jsii.String(origin)},
			}),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
			CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
			OriginRequestPolicy:  awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
		},
		HttpVersion: awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:  awscloudfront.PriceClass_PRICE_CLASS_100,
		WebAclId:    edge.WebACL.AttrArn(),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(cdn, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-CFR1"), Reason: jsii.String("The shop sells everywhere; no geo restriction")},
		{Id: jsii.String("AwsSolutions-CFR3"), Reason: jsii.String("The API's own access log records every request, with the caller; CloudFront logs would repeat it")},
		{Id: jsii.String("AwsSolutions-CFR4"), Reason: jsii.String("CloudFront's default certificate on its cloudfront.net name; a custom domain with TLS 1.2 is a stage option for the images CDN and can be added here the same way")},
	}, jsii.Bool(false))
	awscdk.NewCfnOutput(stack, jsii.String("CdnApiUrl"), &awscdk.CfnOutputProps{
		Value:       awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), cdn.DistributionDomainName()}),
		Description: jsii.String("Base URL of the API through its CDN and web ACL: clients use this one"),
	})
	return cdn
}
