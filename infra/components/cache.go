package components

import (
	"fmt"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticache"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CartCacheProps configure the cart's cache.
type CartCacheProps struct {
	Network Network
	// Name is the cache's name, and its user's and user group's id. ElastiCache
	// needs physical names here; the stage makes them unique.
	Name string
	// AccessString is the ACL of the functions' cache user (contract.CacheAccessString).
	AccessString string
	MaxStorageGB float64
	MaxECPU      float64
}

// CartCache is ElastiCache Serverless with the Valkey engine in the network's
// isolated subnets. TLS is always on; the only user authenticates with IAM
// (no password to store), and the cache's security group admits the cache
// ports only from the client security group the cart functions run in.
type CartCache interface {
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

type cartCache struct {
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

// NewCartCache defines the cache, its user and user group, and the security groups.
func NewCartCache(scope constructs.Construct, id string, props CartCacheProps) CartCache {
	if !cacheName.MatchString(props.Name) {
		panic(fmt.Sprintf("CartCache: name %q must be 1 to 40 of a-z 0-9 -, starting with a letter", props.Name))
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
		Engine: jsii.String("valkey"), UserGroupId: jsii.String(props.Name), UserIds: &[]*string{user.Ref()},
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
	return &cartCache{Construct: this, cache: cache, user: user, clients: clients, name: props.Name}
}

func (c *cartCache) Endpoint() *string {
	return awscdk.Fn_Join(jsii.String(":"), &[]*string{c.cache.AttrEndpointAddress(), c.cache.AttrEndpointPort()})
}
func (c *cartCache) Name() string                  { return c.name }
func (c *cartCache) UserID() string                { return c.name }
func (c *cartCache) Clients() awsec2.SecurityGroup { return c.clients }

func (c *cartCache) GrantConnect(role awsiam.IRole) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("elasticache:Connect"),
		Resources: &[]*string{c.cache.AttrArn(), c.user.AttrArn()},
	}))
}
