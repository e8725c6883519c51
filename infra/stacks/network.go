package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
)

// NetworkStack holds the cart cache, in the stage's own VPC (prod) or in the
// account's shared development network. Carts are temporary: the
// cache is not kept when the stack goes.
type NetworkStack struct {
	awscdk.Stack
	Network components.Network
	Cache   components.Cache
}

// NewNetworkStack defines the network stack of stage.
func NewNetworkStack(scope constructs.Construct, id string, props *awscdk.StackProps, stage config.Stage) *NetworkStack {
	stack := awscdk.NewStack(scope, &id, props)
	s := &NetworkStack{Stack: stack}
	if stage.OwnNetwork {
		s.Network = components.NewNetwork(stack, "Network", components.NetworkProps{LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod})
	} else {
		// The account's shared development network (Shop-Account).
		s.Network = components.ImportNetwork(stack, "Network", DevNetworkExports, components.Zones)
	}
	s.Cache = components.NewCache(stack, "CartCache", components.CacheProps{
		Network: s.Network, Name: stage.CacheName(), AccessString: contract.CacheAccessString,
		MaxStorageGB: stage.CacheMaxStorageGB, MaxECPU: stage.CacheMaxECPU,
	})
	return s
}
