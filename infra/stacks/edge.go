package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/infra/config"
)

// EdgeStack holds what a stage's CDN in front of the API needs in
// us-east-1, where CloudFront's web ACLs live: the web ACL.
type EdgeStack struct {
	awscdk.Stack
	WebACL awswafv2.CfnWebACL
}

// NewEdgeStack defines the web ACL of stage's API CDN: a per-IP rate limit,
// and AWS's managed common and known-bad-inputs rule groups.
func NewEdgeStack(scope constructs.Construct, id string, props *awscdk.StackProps, stage config.Stage) *EdgeStack {
	stack := awscdk.NewStack(scope, &id, props)
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true), SampledRequestsEnabled: jsii.Bool(true), MetricName: jsii.String(name),
		}
	}
	managed := func(priority float64, name string) *awswafv2.CfnWebACL_RuleProperty {
		return &awswafv2.CfnWebACL_RuleProperty{
			Name: jsii.String(name), Priority: jsii.Number(priority),
			OverrideAction: &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]interface{}{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
				VendorName: jsii.String("AWS"), Name: jsii.String(name),
			}},
			VisibilityConfig: visibility(name),
		}
	}
	acl := awswafv2.NewCfnWebACL(stack, jsii.String("ApiAcl"), &awswafv2.CfnWebACLProps{
		Scope:            jsii.String("CLOUDFRONT"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]interface{}{}},
		VisibilityConfig: visibility("shop-" + stage.Name + "-api"),
		Rules: &[]interface{}{
			&awswafv2.CfnWebACL_RuleProperty{
				Name: jsii.String("RateLimitPerIp"), Priority: jsii.Number(0),
				Action: &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]interface{}{}},
				Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
					Limit: jsii.Number(float64(stage.Edge.RateLimitPer5Min)), AggregateKeyType: jsii.String("IP"),
				}},
				VisibilityConfig: visibility("RateLimitPerIp"),
			},
			managed(1, "AWSManagedRulesCommonRuleSet"),
			managed(2, "AWSManagedRulesKnownBadInputsRuleSet"),
		},
	})
	return &EdgeStack{Stack: stack, WebACL: acl}
}
