package components

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Zones is how many availability zones a network spans.
const Zones = 2

// NetworkProps configure the VPC.
type NetworkProps struct {
	LogRetentionDays int
	Prod             bool
}

// Network is the VPC of the functions that talk to the cache: two availability
// zones of private isolated subnets, no NAT gateway and no internet gateway,
// gateway endpoints (free) for DynamoDB and S3, and flow logs of all traffic
// to CloudWatch Logs.
type Network interface {
	constructs.Construct
	Vpc() awsec2.IVpc
	// Subnets are the isolated subnets the cache and the functions use.
	Subnets() *awsec2.SubnetSelection
}

type network struct {
	constructs.Construct
	vpc awsec2.IVpc
}

// NewNetwork defines the VPC.
func NewNetwork(scope constructs.Construct, id string, props NetworkProps) Network {
	retention, ok := retentionDays[props.LogRetentionDays]
	if !ok {
		panic("Network: CloudWatch has no retention of the stage's logRetentionDays")
	}
	this := constructs.NewConstruct(scope, &id)
	vpc := awsec2.NewVpc(this, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(Zones),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name: jsii.String("isolated"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: jsii.Number(24),
		}},
	})
	for _, ep := range []struct {
		id      string
		service awsec2.IGatewayVpcEndpointService
	}{{"DynamoDb", awsec2.GatewayVpcEndpointAwsService_DYNAMODB()}, {"S3", awsec2.GatewayVpcEndpointAwsService_S3()}} {
		endpoint := vpc.AddGatewayEndpoint(jsii.String(ep.id), &awsec2.GatewayVpcEndpointOptions{Service: ep.service})
		// Only this account's tables and buckets: code in the VPC cannot
		// carry data to another account's resources through the endpoint.
		endpoint.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings("*"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:ResourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}))
	}
	logs := awslogs.NewLogGroup(this, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention: retention, RemovalPolicy: StatefulRemoval(props.Prod),
	})
	vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(logs, nil),
		TrafficType: awsec2.FlowLogTrafficType_ALL,
	})
	return &network{Construct: this, vpc: vpc}
}

// NetworkExports are the export names under which a shared network is
// published to the stacks of other stages, in the same account and region.
type NetworkExports struct {
	VpcID, SubnetIDs, AZs string
}

// Export publishes n under the names in e (the subnets and their zones as
// comma-separated lists, in the same order). An importing stack holds the
// exports, so CloudFormation refuses to change or remove the network while a
// stage uses it.
func Export(n Network, e NetworkExports) {
	stack := awscdk.Stack_Of(n.Vpc())
	subnets := n.Vpc().IsolatedSubnets()
	ids, azs := make([]*string, len(*subnets)), make([]*string, len(*subnets))
	for i, sn := range *subnets {
		ids[i], azs[i] = sn.SubnetId(), sn.AvailabilityZone()
	}
	for _, out := range []struct {
		name  string
		value *string
	}{
		{e.VpcID, n.Vpc().VpcId()}, {e.SubnetIDs, awscdk.Fn_Join(jsii.String(","), &ids)}, {e.AZs, awscdk.Fn_Join(jsii.String(","), &azs)},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(out.name), &awscdk.CfnOutputProps{Value: out.value, ExportName: jsii.String(out.name)})
	}
}

// ImportNetwork is a network another stack exported under e, with zones
// isolated subnets: a development stage's view of the account's shared
// network. It defines nothing.
func ImportNetwork(scope constructs.Construct, id string, e NetworkExports, zones int) Network {
	this := constructs.NewConstruct(scope, &id)
	split := func(export string) *[]*string {
		return awscdk.Fn_Split(jsii.String(","), awscdk.Fn_ImportValue(jsii.String(export)), jsii.Number(zones))
	}
	vpc := awsec2.Vpc_FromVpcAttributes(this, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:             awscdk.Fn_ImportValue(jsii.String(e.VpcID)),
		AvailabilityZones: split(e.AZs),
		IsolatedSubnetIds: split(e.SubnetIDs),
	})
	for _, sn := range *vpc.IsolatedSubnets() {
		// The stage adds no routes; the shared network's route tables (and
		// its gateway endpoints) stay the account stack's business.
		awscdk.Annotations_Of(sn).AcknowledgeWarning(jsii.String("@aws-cdk/aws-ec2:noSubnetRouteTableId"),
			jsii.String("an imported network's subnets: this stack adds no routes"))
	}
	return &network{Construct: this, vpc: vpc}
}

func (n *network) Vpc() awsec2.IVpc { return n.vpc }

func (n *network) Subnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
}
