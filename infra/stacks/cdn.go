package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// newApiCdn puts CloudFront in front of the API, with the edge stack's web
// ACL: nothing cached, every viewer header but Host forwarded, and the
// origin-verification header added, which the functions require.
func newApiCdn(stack awscdk.Stack, api components.ShopApi, edge *EdgeStack, origin string) awscloudfront.Distribution {
	domain := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), api.Api().ApiEndpoint(), nil))
	cdn := awscloudfront.NewDistribution(stack, jsii.String("ApiCdn"), &awscloudfront.DistributionProps{
		Comment: jsii.String("The shop's API behind AWS WAF"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin: awscloudfrontorigins.NewHttpOrigin(domain, &awscloudfrontorigins.HttpOriginProps{
				ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
				CustomHeaders:  &map[string]*string{contract.HeaderOriginVerify: jsii.String(origin)},
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
		{Id: jsii.String("AwsSolutions-CFR3"), Reason: jsii.String("The API's own access log records every request, with the caller; CloudFront logs would repeat it")},
		{Id: jsii.String("AwsSolutions-CFR4"), Reason: jsii.String("CloudFront's default certificate on its cloudfront.net name; a custom domain with TLS 1.2 is a stage option for the images CDN and can be added here the same way")},
	}, jsii.Bool(false))
	awscdk.NewCfnOutput(stack, jsii.String("CdnApiUrl"), &awscdk.CfnOutputProps{
		Value:       awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), cdn.DistributionDomainName()}),
		Description: jsii.String("Base URL of the API through its CDN and web ACL: clients use this one"),
	})
	return cdn
}
