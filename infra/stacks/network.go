package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/go-cdk-shop/shop/infra/config"
	shopcx "github.com/go-cdk-shop/shop/infra/constructs"
)

// CartAccessString is the ACL of the cart functions' cache user. It must equal
// rediscart.AccessString in the lambdas module, which the local redis-server
// tests run under; an assertion test compares the two.
const CartAccessString = "on ~{cart:* resetchannels -@all +@read +@write +@scripting +@connection -@dangerous +cluster|slots +cluster|shards +cluster|nodes +cluster|info +cluster|myid"

// NetworkStack holds the VPC and the cart cache. Carts are temporary: the
// cache is not kept when the stack goes.
type NetworkStack struct {
	awscdk.Stack
	Network shopcx.Network
	Cache   shopcx.CartCache
}

// NewNetworkStack defines the network stack of stage.
func NewNetworkStack(scope constructs.Construct, id string, props *awscdk.StackProps, stage config.Stage) *NetworkStack {
	stack := awscdk.NewStack(scope, &id, props)
	s := &NetworkStack{Stack: stack}
	s.Network = shopcx.NewNetwork(stack, "Network", shopcx.NetworkProps{LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod})
	s.Cache = shopcx.NewCartCache(stack, "CartCache", shopcx.CartCacheProps{
		Network: s.Network, Name: "shop-" + stage.Name + "-cart", AccessString: CartAccessString,
		MaxStorageGB: stage.CacheMaxStorageGB, MaxECPU: stage.CacheMaxECPU,
	})
	return s
}
