package stacks

import (
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// newApiCdn puts CloudFront in front of the API, with the edge stack's web
// ACL: nothing cached, every viewer header but Host forwarded, and the
// origin-verification header added, which the API's regional web ACL
// requires (newOriginGate).
func newApiCdn(stack awscdk.Stack, api components.ShopApi, edge *EdgeStack, origin *string) awscloudfront.Distribution {
	cdn := awscloudfront.NewDistribution(stack, jsii.String("ApiCdn"), &awscloudfront.DistributionProps{
		// The web ACL's ARN is a weak reference (another stack, another
		// region): its fingerprint here re-reads it when it is replaced.
		Comment: jsii.String("The shop's API behind AWS WAF (inputs " + *components.InputsFingerprint(edge.WebACL) + ")"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin: awscloudfrontorigins.NewRestApiOrigin(api.Api(), &awscloudfrontorigins.RestApiOriginProps{
				CustomHeaders: &map[string]*string{contract.HeaderOriginVerify: origin},
			}),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
			CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
			OriginRequestPolicy:  awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
		},
		HttpVersion: awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:  awscloudfront.PriceClass_PRICE_CLASS_100,
		WebAclId:    edge.WebACL.AttrArn(),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(cdn, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-CFR1"), Reason: jsii.String("The shop sells everywhere; no geo restriction")},
		{Id: jsii.String("AwsSolutions-CFR3"), Reason: jsii.String("The web ACL's log (Shop-<stage>-Edge) records every request with the viewer's address; the API's access log records it with the caller")},
		{Id: jsii.String("AwsSolutions-CFR4"), Reason: jsii.String("CloudFront's default certificate on its cloudfront.net name; a custom domain with TLS 1.2 is a stage option for the images CDN and can be added here the same way")},
	}, jsii.Bool(false))
	awscdk.NewCfnOutput(stack, jsii.String("CdnApiUrl"), &awscdk.CfnOutputProps{
		Value:       awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), cdn.DistributionDomainName()}),
		Description: jsii.String("Base URL of the API through its CDN and web ACL: clients use this one"),
	})
	return cdn
}

// newOriginGate is the API stage's regional web ACL: it blocks every
// request that does not carry an accepted origin-verification value, so a
// call straight to the execute-api endpoint is refused by AWS WAF before
// API Gateway runs an authorizer or a function (AWS WAF is evaluated
// before resource policies and authorizers: API Gateway Developer Guide,
// "Use AWS WAF to protect your REST APIs"). What passes came through the
// CDN and its per-client rate rules. The values are the slots the stage
// profile accepts (config.OriginRotation), read from Secrets Manager at
// deploy time; its log keeps the blocked calls, the value redacted.
func newOriginGate(stack awscdk.Stack, api components.ShopApi, stage config.Stage, secrets map[string]awssecretsmanager.Secret) awswafv2.CfnWebACL {
	var accepted []interface{}
	for _, slot := range stage.Edge.Origin.Accept {
		accepted = append(accepted, &awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
			FieldToMatch: &awswafv2.CfnWebACL_FieldToMatchProperty{SingleHeader: map[string]interface{}{
				"Name": strings.ToLower(contract.HeaderOriginVerify)}},
			PositionalConstraint: jsii.String("EXACTLY"),
			SearchString:         secrets[slot].SecretValue().UnsafeUnwrap(),
			TextTransformations: &[]interface{}{&awswafv2.CfnWebACL_TextTransformationProperty{
				Priority: jsii.Number(0), Type: jsii.String("NONE")}},
		}})
	}
	match := accepted[0].(*awswafv2.CfnWebACL_StatementProperty)
	if len(accepted) > 1 {
		match = &awswafv2.CfnWebACL_StatementProperty{OrStatement: &awswafv2.CfnWebACL_OrStatementProperty{Statements: &accepted}}
	}
	acl := awswafv2.NewCfnWebACL(stack, jsii.String("OriginGate"), &awswafv2.CfnWebACLProps{
		Scope: jsii.String("REGIONAL"),
		// The accepted values come from the Data stack's secrets: their
		// fingerprint re-reads them when one is replaced (no parentheses:
		// a web ACL's description pattern refuses them).
		Description:      jsii.String("Only requests through the API CDN, with X-Origin-Verify, reach the stage, inputs " + *components.InputsFingerprint(secretsOf(secrets)...)),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Block: map[string]interface{}{}},
		VisibilityConfig: components.WafVisibility("shop-" + stage.Name + "-origin"),
		Rules: &[]interface{}{&awswafv2.CfnWebACL_RuleProperty{
			Name: jsii.String("FromTheCdn"), Priority: jsii.Number(0),
			Action:           &awswafv2.CfnWebACL_RuleActionProperty{Allow: map[string]interface{}{}},
			Statement:        match,
			VisibilityConfig: components.WafVisibility("FromTheCdn"),
		}},
	})
	// The association names the stage's ARN, a reference to the stage: it
	// is made once the stage exists.
	awswafv2.NewCfnWebACLAssociation(stack, jsii.String("OriginGateAssociation"), &awswafv2.CfnWebACLAssociationProps{
		ResourceArn: api.StageArn(), WebAclArn: acl.AttrArn(),
	})
	components.WafLogs(stack, "OriginGateLogs", acl, "shop-"+stage.Name+"-origin", stage.LogRetentionDays, stage.Prod,
		contract.HeaderOriginVerify, contract.HeaderAuthorization, contract.HeaderSessionID)
	return acl
}

// secretsOf are the secrets of the origin slots, in the slots' order.
func secretsOf(secrets map[string]awssecretsmanager.Secret) []constructs.IConstruct {
	var out []constructs.IConstruct
	for _, slot := range slices.Sorted(maps.Keys(secrets)) {
		out = append(out, secrets[slot])
	}
	return out
}
