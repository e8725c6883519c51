package components

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

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
	Vpc() awsec2.Vpc
	// Subnets are the isolated subnets the cache and the functions use.
	Subnets() *awsec2.SubnetSelection
}

type network struct {
	constructs.Construct
	vpc awsec2.Vpc
}

// NewNetwork defines the VPC.
func NewNetwork(scope constructs.Construct, id string, props NetworkProps) Network {
	retention, ok := retentionDays[props.LogRetentionDays]
	if !ok {
		panic("Network: CloudWatch has no retention of the stage's logRetentionDays")
	}
	this := constructs.NewConstruct(scope, &id)
	vpc := awsec2.NewVpc(this, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name: jsii.String("isolated"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: jsii.Number(24),
		}},
		GatewayEndpoints: &map[string]*awsec2.GatewayVpcEndpointOptions{
			"DynamoDb": {Service: awsec2.GatewayVpcEndpointAwsService_DYNAMODB()},
			"S3":       {Service: awsec2.GatewayVpcEndpointAwsService_S3()},
		},
	})
	logs := awslogs.NewLogGroup(this, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention: retention, RemovalPolicy: StatefulRemoval(props.Prod),
	})
	vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(logs, nil),
		TrafficType: awsec2.FlowLogTrafficType_ALL,
	})
	return &network{Construct: this, vpc: vpc}
}

func (n *network) Vpc() awsec2.Vpc { return n.vpc }

func (n *network) Subnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
}
