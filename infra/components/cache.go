package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticache"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CacheProps configure the stage's cache (carts, sessions, the product cache).
type CacheProps struct {
	Network Network
	// Name is the cache's name, and its user's and user group's id. ElastiCache
	// needs physical names here; the stage makes them unique.
	Name string
	// AccessString is the ACL of the functions' cache user (contract.CacheAccessString).
	AccessString string
	MaxStorageGB float64
	MaxECPU      float64
}

// Cache is ElastiCache Serverless with the Valkey engine in the network's
// isolated subnets, keeping carts, guest sessions and the product cache
// (the construct id stays CartCache: a new id would replace the cache). TLS
// is always on; the functions' user authenticates with IAM
// (no password to store), and the cache's security group admits the cache
// ports only from the client security group the cart functions run in.
type Cache interface {
	constructs.Construct
	// Endpoint is host:port of the cache.
	Endpoint() *string
	Name() string
	UserID() string
	// Clients is the security group of the functions that may connect.
	Clients() awsec2.SecurityGroup
	// GrantConnect lets role connect as the cache's user.
	GrantConnect(role awsiam.IRole)
}

type valkeyCache struct {
	constructs.Construct
	cache   awselasticache.CfnServerlessCache
	user    awselasticache.CfnUser
	clients awsec2.SecurityGroup
	name    string
}

// cacheName: ElastiCache names and user ids are 1 to 40 lower-case letters,
// digits and hyphens, starting with a letter.
var cacheName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// CachePorts are the serverless cache's ports: 6379 for writes, 6380 for reads.
const cachePortLow, cachePortHigh = 6379, 6380

// NewCache defines the cache, its user and user group, and the security groups.
func NewCache(scope constructs.Construct, id string, props CacheProps) Cache {
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

	user := awselasticache.NewCfnUser(this, jsii.String("User"), &awselasticache.CfnUserProps{
		Engine: jsii.String("valkey"), UserId: jsii.String(props.Name), UserName: jsii.String(props.Name), // IAM auth: id = name
		AccessString:       jsii.String(props.AccessString),
		AuthenticationMode: map[string]any{"Type": "iam"},
	})
	group := awselasticache.NewCfnUserGroup(this, jsii.String("UserGroup"), &awselasticache.CfnUserGroupProps{
		Engine: jsii.String("valkey"), UserGroupId: jsii.String(props.Name), UserIds: &[]*string{disabledDefaultUser(this, props.Name).Ref(), user.Ref()},
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
	return &valkeyCache{Construct: this, cache: cache, user: user, clients: clients, name: props.Name}
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
func (c *valkeyCache) Name() string                  { return c.name }
func (c *valkeyCache) UserID() string                { return c.name }
func (c *valkeyCache) Clients() awsec2.SecurityGroup { return c.clients }

func (c *valkeyCache) GrantConnect(role awsiam.IRole) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("elasticache:Connect"),
		Resources: &[]*string{c.cache.AttrArn(), c.user.AttrArn()},
	}))
}
