package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Shop is one stage of the shop: its stacks, tagged for cost allocation and
// checked by cdk-nag's AwsSolutions pack on every synth. Tags and checks attach
// to the stage's own stacks, so one app may hold several stages (the tests do).
type Shop struct {
	Data    *DataStack
	Network *NetworkStack
	Media   *MediaStack
	Api     *ApiStack
	Edge    *EdgeStack // with the edge profile
}

// NewShop adds the stacks of stage to app. Stack ids carry the stage, and no
// resource has a physical name, so any number of stages share an account.
func NewShop(app awscdk.App, stage config.Stage, distDir string) *Shop {
	var env *awscdk.Environment
	if stage.Account != "" || stage.Region != "" {
		env = &awscdk.Environment{Account: strOrNil(stage.Account), Region: strOrNil(stage.Region)}
	}
	prefix := "Shop-" + stage.Name + "-"
	// Tags on the stacks themselves (with @aws-cdk/core:explicitStackTags,
	// Tags.Of(stack) tags only the resources): they reach the cloud
	// assembly, CloudFormation gives them to every resource it can, and the
	// reaper and its role's policy read them from the stacks.
	base := awscdk.StackProps{Env: env, TerminationProtection: jsii.Bool(stage.Prod), Tags: StackTags(stage)}
	dataProps := base
	dataProps.Description = jsii.String("Shop " + stage.Name + ": tables, user pool and secrets (stateful)")
	data := NewDataStack(app, prefix+"Data", &dataProps, stage)
	netProps := base
	netProps.Description = jsii.String("Shop " + stage.Name + ": the cart cache" + map[bool]string{true: " and its VPC", false: " (in the account's shared development network)"}[stage.OwnNetwork])
	network := NewNetworkStack(app, prefix+"Network", &netProps, stage)
	mediaProps := base
	mediaProps.Description = jsii.String("Shop " + stage.Name + ": product images bucket, CDN and upload checks")
	media := NewMediaStack(app, prefix+"Media", MediaStackProps{StackProps: mediaProps, Stage: stage, Data: data, Network: network, DistDir: distDir})
	media.AddStackDependency(data.Stack, jsii.String("the images function links images to products"))
	media.AddStackDependency(network.Stack, jsii.String("the images function runs in the VPC and tells the product cache"))
	var edge *EdgeStack
	if stage.Edge != nil {
		edgeProps := base
		edgeProps.Env = &awscdk.Environment{Account: strOrNil(stage.Account), Region: jsii.String(config.EdgeRegion)}
		edgeProps.Description = jsii.String("Shop " + stage.Name + ": the web ACL of the API's CDN (us-east-1, where CloudFront's web ACLs live)")
		edge = NewEdgeStack(app, prefix+"Edge", &edgeProps, stage)
	}
	apiProps := base
	apiProps.Description = jsii.String("Shop " + stage.Name + ": functions and REST API (stateless)")
	api := NewApiStack(app, prefix+"Api", ApiStackProps{StackProps: apiProps, Stage: stage, Data: data, Network: network, Media: media, Edge: edge, DistDir: distDir})
	api.AddStackDependency(data.Stack, jsii.String("the API reads the tables and the user pool"))
	api.AddStackDependency(network.Stack, jsii.String("the functions run in the VPC and use the cache"))
	api.AddStackDependency(media.Stack, jsii.String("the catalogue signs image uploads"))

	stacks := []awscdk.Stack{data.Stack, network.Stack, media.Stack, api.Stack}
	if edge != nil {
		api.AddStackDependency(edge.Stack, jsii.String("the API's CDN uses the web ACL"))
		stacks = append(stacks, edge.Stack)
	}
	for _, stack := range stacks {
		tags := awscdk.Tags_Of(stack)
		for k, v := range *StackTags(stage) {
			tags.Add(jsii.String(k), v, nil)
		}
		components.OwnFunctionLogs(stack, stage.LogRetentionDays, stage.Prod)
	}
	return &Shop{Data: data, Network: network, Media: media, Api: api, Edge: edge}
}

// StackTags are the tags of every stack of stage: make deploy passes the
// same to the CLI (whose --tags replace the assembly's), with expires-at.
func StackTags(stage config.Stage) *map[string]*string {
	return &map[string]*string{
		contract.TagProject: jsii.String(contract.Project),
		contract.TagStage:   jsii.String(stage.Name),
		contract.TagOwner:   jsii.String(stage.Owner),
	}
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
