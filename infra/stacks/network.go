package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
)

// NetworkStack holds what the stage's functions connect to: in prod its own
// VPC and cache, with a cache user per function; in a development stage its
// user of the account's shared cache (in the account's shared network),
// which sees the stage's keys alone. Carts are temporary: nothing here is
// kept when the stack goes.
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
	if !stage.OwnNetwork {
		// Development stages share the account's cache (Shop-Account): a user
		// per stage, whose ACL is the stage's keys, joins its group.
		s.Cache = components.NewCacheTenant(stack, "DevCache", components.CacheTenantProps{
			Shared:       components.ImportSharedCache(stack, "SharedCache", DevCacheName, DevCacheExports),
			UserID:       stage.CacheName(),
			Access:       contract.StageCacheAccess(stage.Name),
			ServiceToken: awscdk.Fn_ImportValue(jsii.String(DevCacheUsersServiceToken)),
		})
		return s
	}
	var users []components.CacheUser
	for _, fn := range contract.Functions() {
		if contract.UsesCache(fn) {
			users = append(users, components.CacheUser{Function: fn, ID: stage.CacheUserID(fn), Access: contract.CacheAccess(fn, stage.Name)})
		}
	}
	s.Cache = components.NewCache(stack, "CartCache", components.CacheProps{
		Network: s.Network, Name: stage.CacheName(), Users: users,
		MaxStorageGB: stage.CacheMaxStorageGB, MaxECPU: stage.CacheMaxECPU,
	})
	return s
}
