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
	// count lists rules of a managed group that only count: they would
	// refuse requests the API accepts.
	managed := func(priority float64, name string, count ...string) *awswafv2.CfnWebACL_RuleProperty {
		group := &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{VendorName: jsii.String("AWS"), Name: jsii.String(name)}
		var overrides []interface{}
		for _, rule := range count {
			overrides = append(overrides, &awswafv2.CfnWebACL_RuleActionOverrideProperty{
				Name: jsii.String(rule), ActionToUse: &awswafv2.CfnWebACL_RuleActionProperty{Count: map[string]interface{}{}},
			})
		}
		if len(overrides) > 0 {
			group.RuleActionOverrides = &overrides
		}
		return &awswafv2.CfnWebACL_RuleProperty{
			Name: jsii.String(name), Priority: jsii.Number(priority),
			OverrideAction:   &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]interface{}{}},
			Statement:        &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: group},
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
			// The common rule set blocks bodies over 8 KB (SizeRestrictions_BODY),
			// and the API takes up to 64 KB (a product of 4,000 characters in a
			// non-Latin script); the API bounds bodies itself. It blocks
			// requests without a User-Agent (NoUserAgent_HEADER), which a
			// payment integration may not send. Both only count (AWS WAF
			// Developer Guide, "Core rule set (CRS) managed rule group").
			managed(1, "AWSManagedRulesCommonRuleSet", "SizeRestrictions_BODY", "NoUserAgent_HEADER"),
			managed(2, "AWSManagedRulesKnownBadInputsRuleSet"),
		},
	})
	return &EdgeStack{Stack: stack, WebACL: acl}
}
