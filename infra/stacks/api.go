package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/config"
	shopcx "github.com/go-cdk-shop/shop/infra/constructs"
)

// ApiStackProps are what the stateless stack takes from the stateful one.
type ApiStackProps struct {
	awscdk.StackProps
	Stage   config.Stage
	Data    *DataStack
	DistDir string // where `make build` put the function binaries
}

// CatalogRoutes are the routes of the catalogue function; the OpenAPI document
// and the function's router list the same ones (tests hold them together).
var CatalogRoutes = []shopcx.Route{
	{Method: "GET", Path: "/products", Public: true},
	{Method: "POST", Path: "/products"},
	{Method: "GET", Path: "/products/{product_id}", Public: true},
	{Method: "PATCH", Path: "/products/{product_id}"},
	{Method: "DELETE", Path: "/products/{product_id}"},
}

// ApiStack holds the functions and the HTTP API.
type ApiStack struct {
	awscdk.Stack
	Api     shopcx.ShopApi
	Catalog shopcx.GoFunction
}

// NewApiStack defines the stateless stack of a stage.
func NewApiStack(scope constructs.Construct, id string, props ApiStackProps) *ApiStack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	stage := props.Stage
	s := &ApiStack{Stack: stack}
	common := func(name, description string, env map[string]string) shopcx.GoFunctionProps {
		return shopcx.GoFunctionProps{
			Name: name, DistDir: props.DistDir, Description: description, Environment: env,
			MemoryMB: stage.LambdaMemoryMB, TimeoutSeconds: 10, LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod,
		}
	}
	products := props.Data.Products.Table()
	s.Catalog = shopcx.NewGoFunction(stack, "Catalog", common("catalog", "The product catalogue: /products", map[string]string{
		"PRODUCTS_TABLE": *products.TableName(),
		"CURSOR_SECRET":  *props.Data.CursorSecret.SecretValue().UnsafeUnwrap(),
		"CURRENCY":       stage.Currency,
	}))
	products.GrantReadWriteData(s.Catalog.Role())
	cdknag.NagSuppressions_AddResourceSuppressions(s.Catalog.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Listing a category queries the table's by-category index; the grant names the table's own indexes, not other tables"),
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.*\/index\/\*$/g`)}},
	}}, jsii.Bool(true))

	s.Api = shopcx.NewShopApi(stack, "Http", shopcx.ShopApiProps{
		UserPool: props.Data.Identity.UserPool(), Client: props.Data.Identity.Client(),
		ThrottleRate: stage.ThrottleRate, ThrottleBurst: stage.ThrottleBurst,
		LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod, CorsOrigins: stage.CorsOrigins,
	})
	s.Api.AddRoutes(s.Catalog.Function(), CatalogRoutes...)
	s.Api.SetDefault(s.Catalog.Function())

	out := func(id, value, description string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(description)})
	}
	out("ApiUrl", *s.Api.Api().ApiEndpoint(), "Base URL of the HTTP API")
	out("UserPoolId", *props.Data.Identity.UserPool().UserPoolId(), "Cognito user pool")
	out("UserPoolClientId", *props.Data.Identity.Client().UserPoolClientId(), "App client for sign-in")
	return s
}
