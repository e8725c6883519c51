package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
)

// DevNetworkExports name the shared development network's exports. Exports
// are per account and region, like the stack that makes them.
var DevNetworkExports = components.NetworkExports{
	VpcID: "Shop-Account-DevVpcId", SubnetIDs: "Shop-Account-DevSubnetIds", AZs: "Shop-Account-DevAzs",
}

// AccountStack is what every development stage of an account and region
// shares, deployed once (make account-deploy): the development network. Each
// development stage keeps its own cache, security groups and cache user in
// it; prod has a network of its own.
type AccountStack struct {
	awscdk.Stack
	DevNetwork components.Network
}

// NewAccountStack defines the account-level stack.
func NewAccountStack(scope constructs.Construct, account config.Account) *AccountStack {
	var env *awscdk.Environment
	if account.Account != "" || account.Region != "" {
		env = &awscdk.Environment{Account: strOrNil(account.Account), Region: strOrNil(account.Region)}
	}
	stack := awscdk.NewStack(scope, jsii.String(config.AccountStackName), &awscdk.StackProps{
		Env:                   env,
		Description:           jsii.String("Shop: what every development stage of this account and region shares (the development network)"),
		TerminationProtection: jsii.Bool(true),
	})
	s := &AccountStack{Stack: stack}
	s.DevNetwork = components.NewNetwork(stack, "DevNetwork", components.NetworkProps{LogRetentionDays: account.LogRetentionDays, Prod: true})
	components.Export(s.DevNetwork, DevNetworkExports)
	tags := awscdk.Tags_Of(stack)
	tags.Add(jsii.String("project"), jsii.String("shop"), nil)
	tags.Add(jsii.String("stage"), jsii.String("account"), nil)
	awscdk.Aspects_Of(stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	components.OwnFunctionLogs(stack, account.LogRetentionDays, true)
	return s
}
