package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// EdgeStack holds what a stage's CDN in front of the API needs in
// us-east-1, where CloudFront's web ACLs live: the web ACL, and its log.
type EdgeStack struct {
	awscdk.Stack
	WebACL awswafv2.CfnWebACL
}

// NewEdgeStack defines the web ACL of stage's API CDN. Its rate rules see
// the viewer's own address (CloudFront's connection from the viewer, never
// a header the client sets) and come first:
//   - RateLimitPerIp: every request, per address;
//   - CostlyPerIp, CostlyPerToken, CostlyPerSession: the costly routes
//     (contract.CostlyRoutes, in any spelling of their paths), per address,
//     per bearer token and per guest session. A request without a token or
//     session is not counted by that key's rule, and new ones can be minted:
//     the address rule counts them all.
//
// Then AWS's managed common and known-bad-inputs rule groups. Its log keeps
// every request with the viewer's address, the credentials redacted.
func NewEdgeStack(scope constructs.Construct, id string, props *awscdk.StackProps, stage config.Stage) *EdgeStack {
	stack := awscdk.NewStack(scope, &id, props)
	visibility := components.WafVisibility
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
	edge := stage.Edge
	costly := components.CostlyPatterns(stack, "CostlyPaths", "CLOUDFRONT")
	acl := awswafv2.NewCfnWebACL(stack, jsii.String("ApiAcl"), &awswafv2.CfnWebACLProps{
		Scope:            jsii.String("CLOUDFRONT"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]interface{}{}},
		VisibilityConfig: visibility("shop-" + stage.Name + "-api"),
		Rules: &[]interface{}{
			components.RateRule("RateLimitPerIp", 0, edge.RateLimitPer5Min, nil),
			components.RateRule("CostlyPerIp", 3, edge.CostlyPerIPPer5Min, components.CostlyScope(costly)),
			components.RateRule("CostlyPerToken", 4, edge.CostlyPerClientPer5Min, components.CostlyScope(costly), contract.HeaderAuthorization),
			components.RateRule("CostlyPerSession", 5, edge.CostlyPerClientPer5Min, components.CostlyScope(costly), contract.HeaderSessionID),
			// The common rule set blocks bodies over 8 KB (SizeRestrictions_BODY),
			// and the API takes up to 64 KB (a product of 4,000 characters in a
			// non-Latin script); the API bounds bodies itself. It blocks
			// requests without a User-Agent (NoUserAgent_HEADER), which a
			// payment integration may not send. Both only count (AWS WAF
			// Developer Guide, "Core rule set (CRS) managed rule group").
			managed(10, "AWSManagedRulesCommonRuleSet", "SizeRestrictions_BODY", "NoUserAgent_HEADER"),
			managed(11, "AWSManagedRulesKnownBadInputsRuleSet"),
		},
	})
	components.WafLogs(stack, "ApiAclLogs", acl, "shop-"+stage.Name+"-edge", stage.LogRetentionDays, stage.Prod,
		contract.HeaderAuthorization, contract.HeaderSessionID)
	return &EdgeStack{Stack: stack, WebACL: acl}
}
