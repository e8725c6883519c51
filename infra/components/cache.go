package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticache"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// CacheProps configure a serverless cache (carts, sessions, the product
// cache).
type CacheProps struct {
	Network Network
	// Name is the cache's name and its user group's id. ElastiCache needs
	// physical names here; the stage makes them unique.
	Name string
	// Users are the IAM-authenticated users of its group, beside the
	// disabled default user: prod's, one per function. The account's shared
	// development cache has none of its own: each development stage's user
	// joins its group through a custom resource (CacheTenant).
	Users        []CacheUser
	MaxStorageGB float64
	MaxECPU      float64
}

// CacheUser is an IAM-authenticated cache user (id = name) for a function,
// with its ACL (contract.CacheAccess).
type CacheUser struct {
	Function contract.Function
	ID       string
	Access   string
}

// Cache is what a function connects to: ElastiCache Serverless with the
// Valkey engine in the network's isolated subnets (prod's own, or the
// account's shared development cache through a stage's user). TLS is always
// on; users authenticate with IAM (no password to store); the cache's
// security group admits the cache ports only from its client security group.
type Cache interface {
	constructs.Construct
	// Endpoint is host:port of the cache; Name, its name (which IAM auth
	// tokens are signed for).
	Endpoint() *string
	Name() string
	// UserFor is the user fn connects as.
	UserFor(fn contract.Function) string
	// Clients is the security group of the functions that may connect.
	Clients() awsec2.ISecurityGroup
	// GrantConnect lets role connect as fn's user.
	GrantConnect(role awsiam.IRole, fn contract.Function)
}

type valkeyCache struct {
	constructs.Construct
	cache   awselasticache.CfnServerlessCache
	group   awselasticache.CfnUserGroup
	users   map[contract.Function]awselasticache.CfnUser
	clients awsec2.SecurityGroup
	name    string
}

// SharedCache is the account's development cache, as Shop-Account exports it.
type SharedCache interface {
	Cache
	// GroupID is its user group's id; ARN its ARN.
	GroupID() string
	ARN() *string
}

// cacheName: ElastiCache names and user ids are 1 to 40 lower-case letters,
// digits and hyphens, starting with a letter.
var cacheName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// CachePorts are the serverless cache's ports: 6379 for writes, 6380 for reads.
const cachePortLow, cachePortHigh = 6379, 6380

// NewCache defines the cache, its users and user group, and the security groups.
func NewCache(scope constructs.Construct, id string, props CacheProps) SharedCache {
	if !cacheName.MatchString(props.Name) {
		panic(fmt.Sprintf("Cache: name %q must be 1 to 40 of a-z 0-9 -, starting with a letter", props.Name))
	}
	this := constructs.NewConstruct(scope, &id)
	vpc := props.Network.Vpc()
	cacheSG := awsec2.NewSecurityGroup(this, jsii.String("CacheSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: vpc, Description: jsii.String("The cart cache: the cache ports from the cart functions only"), AllowAllOutbound: jsii.Bool(false),
	})
	clients := awsec2.NewSecurityGroup(this, jsii.String("ClientSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: vpc, Description: jsii.String("Functions that use the cart cache: out to the cache, and HTTPS to the gateway endpoints"), AllowAllOutbound: jsii.Bool(false),
	})
	ports := awsec2.Port_TcpRange(jsii.Number(cachePortLow), jsii.Number(cachePortHigh))
	cacheSG.AddIngressRule(clients, ports, jsii.String("cart functions"), nil)
	clients.AddEgressRule(cacheSG, ports, jsii.String("the cart cache"), nil)
	// The subnets have no route to the internet: HTTPS reaches only the
	// DynamoDB and S3 gateway endpoints.
	clients.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)), jsii.String("DynamoDB and S3 through the gateway endpoints"), nil)

	members := []*string{disabledDefaultUser(this, props.Name).Ref()}
	users := map[contract.Function]awselasticache.CfnUser{}
	for _, u := range props.Users {
		users[u.Function] = iamUser(this, strings.ToUpper(string(u.Function)[:1])+string(u.Function)[1:]+"User", u.ID, u.Access)
		members = append(members, users[u.Function].Ref())
	}
	group := awselasticache.NewCfnUserGroup(this, jsii.String("UserGroup"), &awselasticache.CfnUserGroupProps{
		Engine: jsii.String("valkey"), UserGroupId: jsii.String(props.Name), UserIds: &members,
	})
	subnets := vpc.SelectSubnets(props.Network.Subnets()).SubnetIds
	subnetIDs := make([]interface{}, 0, len(*subnets))
	for _, s := range *subnets {
		subnetIDs = append(subnetIDs, s)
	}
	cache := awselasticache.NewCfnServerlessCache(this, jsii.String("Cache"), &awselasticache.CfnServerlessCacheProps{
		ServerlessCacheName: jsii.String(props.Name),
		Description:         jsii.String("Shopping carts"),
		Engine:              jsii.String("valkey"),
		MajorEngineVersion:  jsii.String("8"),
		SubnetIds:           &subnetIDs,
		SecurityGroupIds:    &[]interface{}{cacheSG.SecurityGroupId()},
		UserGroupId:         group.Ref(),
		CacheUsageLimits: &awselasticache.CfnServerlessCache_CacheUsageLimitsProperty{
			DataStorage:   &awselasticache.CfnServerlessCache_DataStorageProperty{Maximum: jsii.Number(props.MaxStorageGB), Unit: jsii.String("GB")},
			EcpuPerSecond: &awselasticache.CfnServerlessCache_ECPUPerSecondProperty{Maximum: jsii.Number(props.MaxECPU)},
		},
	})
	return &valkeyCache{Construct: this, cache: cache, group: group, users: users, clients: clients, name: props.Name}
}

// iamUser is an IAM-authenticated user (its id is its name, as IAM auth
// requires) with access.
func iamUser(scope constructs.Construct, id, userID, access string) awselasticache.CfnUser {
	if !cacheName.MatchString(userID) {
		panic(fmt.Sprintf("Cache: user id %q must be 1 to 40 of a-z 0-9 -", userID))
	}
	return awselasticache.NewCfnUser(scope, jsii.String(id), &awselasticache.CfnUserProps{
		Engine: jsii.String("valkey"), UserId: jsii.String(userID), UserName: jsii.String(userID),
		AccessString: jsii.String(access), AuthenticationMode: map[string]any{"Type": "iam"},
	})
}

// disabledDefaultUser is the user named "default" of the cache's user group.
// AWS::ElastiCache::UserGroup says "a user named default must be included",
// and CreateUserGroup answers DefaultUserRequired without one
// (hashicorp/terraform-provider-aws#25593); whether a valkey group is exempt
// cannot be settled offline, so every group has one, and it is off: no key,
// no command, no sign-in. A valkey group takes only users with an
// authentication mechanism, so it has a password; the user being off, the
// password opens nothing, and it is derived from the cache's name rather
// than kept as a secret.
func disabledDefaultUser(scope constructs.Construct, name string) awselasticache.CfnUser {
	id := name + "-off"
	if !cacheName.MatchString(id) {
		panic(fmt.Sprintf("Cache: the default user's id %q must be 1 to 40 of a-z 0-9 -", id))
	}
	sum := sha256.Sum256([]byte("shop disabled default user " + name))
	return awselasticache.NewCfnUser(scope, jsii.String("DefaultUser"), &awselasticache.CfnUserProps{
		Engine: jsii.String("valkey"), UserId: jsii.String(id), UserName: jsii.String("default"),
		AccessString:       jsii.String(DisabledAccessString),
		AuthenticationMode: map[string]any{"Type": "password", "Passwords": []string{hex.EncodeToString(sum[:16])}},
	})
}

// DisabledAccessString is the default user's ACL: off, no keys, no channels,
// no commands.
const DisabledAccessString = "off resetkeys resetchannels -@all"

func (c *valkeyCache) Endpoint() *string {
	return awscdk.Fn_Join(jsii.String(":"), &[]*string{c.cache.AttrEndpointAddress(), c.cache.AttrEndpointPort()})
}
func (c *valkeyCache) Name() string                   { return c.name }
func (c *valkeyCache) GroupID() string                { return c.name }
func (c *valkeyCache) ARN() *string                   { return c.cache.AttrArn() }
func (c *valkeyCache) Clients() awsec2.ISecurityGroup { return c.clients }

func (c *valkeyCache) UserFor(fn contract.Function) string {
	u, ok := c.users[fn]
	if !ok {
		panic("Cache " + c.name + ": no user for " + string(fn))
	}
	return *u.UserId()
}

func (c *valkeyCache) GrantConnect(role awsiam.IRole, fn contract.Function) {
	c.UserFor(fn)
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("elasticache:Connect"),
		Resources: &[]*string{c.cache.AttrArn(), c.users[fn].AttrArn()},
	}))
}

// CacheTenantProps configure a development stage's place on the account's
// shared cache.
type CacheTenantProps struct {
	// Shared is the account's cache (imported from Shop-Account's exports).
	Shared SharedCache
	// UserID is the stage's user (id = name); Access its ACL
	// (contract.StageCacheAccess: the stage's keys alone).
	UserID, Access string
	// ServiceToken is the cacheusers custom resource's function.
	ServiceToken *string
}

type cacheTenant struct {
	constructs.Construct
	shared SharedCache
	user   awselasticache.CfnUser
}

// CacheMembershipTimeout is how long the membership's function may take to
// join or leave the shared group, and how long CloudFormation waits for its
// answer: Lambda's 15 minutes.
const CacheMembershipTimeout = 15 * time.Minute

// NewCacheTenant defines a development stage's cache user and its
// membership of the shared cache's user group (Custom::CacheUserGroupMembership,
// cmd/cacheusers): joined when the stage is deployed, left when it is
// destroyed, before the user goes.
func NewCacheTenant(scope constructs.Construct, id string, props CacheTenantProps) Cache {
	this := constructs.NewConstruct(scope, &id)
	user := iamUser(this, "User", props.UserID, props.Access)
	awscdk.NewCustomResource(this, jsii.String("Membership"), &awscdk.CustomResourceProps{
		ServiceToken: props.ServiceToken,
		// CloudFormation waits as long as the function may run (its
		// default is an hour, its floor the function's timeout).
		ServiceTimeout: awscdk.Duration_Seconds(jsii.Number(CacheMembershipTimeout.Seconds())),
		ResourceType:   jsii.String("Custom::CacheUserGroupMembership"),
		Properties:     &map[string]interface{}{"UserGroupId": props.Shared.GroupID(), "UserId": user.Ref()},
	})
	return &cacheTenant{Construct: this, shared: props.Shared, user: user}
}

func (t *cacheTenant) Endpoint() *string                { return t.shared.Endpoint() }
func (t *cacheTenant) Name() string                     { return t.shared.Name() }
func (t *cacheTenant) UserFor(contract.Function) string { return *t.user.UserId() }
func (t *cacheTenant) Clients() awsec2.ISecurityGroup   { return t.shared.Clients() }
func (t *cacheTenant) GrantConnect(role awsiam.IRole, _ contract.Function) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("elasticache:Connect"),
		Resources: &[]*string{t.shared.ARN(), t.user.AttrArn()},
	}))
}

// SharedCacheExports name the account's development cache's exports.
type SharedCacheExports struct{ Endpoint, Name, ARN, ClientsSG string }

// ExportShared publishes c under e's names.
func ExportShared(c SharedCache, e SharedCacheExports) {
	stack := awscdk.Stack_Of(c.Node().Scope())
	for _, out := range []struct {
		name  string
		value *string
	}{
		{e.Endpoint, c.Endpoint()}, {e.Name, jsii.String(c.Name())}, {e.ARN, c.ARN()}, {e.ClientsSG, c.Clients().SecurityGroupId()},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(out.name), &awscdk.CfnOutputProps{Value: out.value, ExportName: jsii.String(out.name)})
	}
}

// importedCache is the shared cache as a development stage sees it.
type importedCache struct {
	constructs.Construct
	endpoint, arn *string
	name          string
	clients       awsec2.ISecurityGroup
}

// ImportSharedCache reads the account's development cache from its exports;
// name is its (physical) name, which is also its user group's id.
func ImportSharedCache(scope constructs.Construct, id, name string, e SharedCacheExports) SharedCache {
	this := constructs.NewConstruct(scope, &id)
	imp := func(n string) *string { return awscdk.Fn_ImportValue(jsii.String(n)) }
	return &importedCache{Construct: this, endpoint: imp(e.Endpoint), arn: imp(e.ARN), name: name,
		clients: awsec2.SecurityGroup_FromSecurityGroupId(this, jsii.String("Clients"), imp(e.ClientsSG), &awsec2.SecurityGroupImportOptions{Mutable: jsii.Bool(false)})}
}

func (c *importedCache) Endpoint() *string              { return c.endpoint }
func (c *importedCache) Name() string                   { return c.name }
func (c *importedCache) GroupID() string                { return c.name }
func (c *importedCache) ARN() *string                   { return c.arn }
func (c *importedCache) Clients() awsec2.ISecurityGroup { return c.clients }
func (c *importedCache) UserFor(contract.Function) string {
	panic("the shared cache has no users of its own: NewCacheTenant")
}
func (c *importedCache) GrantConnect(awsiam.IRole, contract.Function) {
	panic("the shared cache has no users of its own: NewCacheTenant")
}
