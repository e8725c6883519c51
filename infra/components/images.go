package components

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// ProductImagesProps configure the image bucket and its CDN.
type ProductImagesProps struct {
	Prod bool
	// OriginAccessControlID, when set, is an origin access control to sign
	// with (a development stage uses the account's: an account holds 100);
	// otherwise the CDN gets one of its own.
	OriginAccessControlID *string
	// CorsOrigins may PUT to the bucket from a browser with a pre-signed URL.
	CorsOrigins []string
	// DomainName and CertificateArn (ACM, us-east-1), when set, serve the CDN
	// on that name with TLS 1.2 or later. Without them the CDN answers on its
	// cloudfront.net name, whose certificate CloudFront also offers to TLS 1.0.
	DomainName     string
	CertificateArn string
}

// ProductImages is a private bucket of product images (all public access
// blocked, S3-managed encryption, TLS only, versioned in prod, incomplete
// uploads and old versions expire, access logs to a separate bucket) behind a
// CloudFront distribution that reads it through Origin Access Control and
// caches the immutable keys for a year.
type ProductImages interface {
	constructs.Construct
	Bucket() awss3.Bucket
	Distribution() awscloudfront.Distribution
	// BaseURL is what image URLs start with: https://<CDN domain>.
	BaseURL() *string
	// GrantImages lets role take the object actions (s3:PutObject, ...) on
	// product images, and list them (which also makes a missing key a 404, not a 403).
	GrantImages(role awsiam.IRole, actions ...string)
	// GrantList lets role list the keys under the images prefix (only).
	GrantList(role awsiam.IRole)
}

type productImages struct {
	constructs.Construct
	bucket  awss3.Bucket
	cdn     awscloudfront.Distribution
	baseURL *string
}

// NewProductImages defines the buckets and the distribution.
func NewProductImages(scope constructs.Construct, id string, props ProductImagesProps) ProductImages {
	this := constructs.NewConstruct(scope, &id)
	removal := StatefulRemoval(props.Prod)
	// Access logs in prod only. In a development stage CloudFront would keep
	// writing logs into the log bucket after its auto-delete handler emptied
	// it, and `cdk destroy` would fail with BucketNotEmpty.
	var logs awss3.Bucket
	if props.Prod {
		logs = awss3.NewBucket(this, jsii.String("AccessLogs"), &awss3.BucketProps{
			BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
			Encryption:        awss3.BucketEncryption_S3_MANAGED,
			EnforceSSL:        jsii.Bool(true),
			// CloudFront's standard logs are written with an ACL.
			ObjectOwnership: awss3.ObjectOwnership_OBJECT_WRITER,
			LifecycleRules: &[]*awss3.LifecycleRule{{
				Id: jsii.String("expire-logs"), Expiration: awscdk.Duration_Days(jsii.Number(365)),
			}},
			RemovalPolicy: removal,
		})
		cdknag.NagSuppressions_AddResourceSuppressions(logs, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-S1"), Reason: jsii.String("This is the access log bucket of the images bucket and the CDN; logging it would log the logs"),
		}}, jsii.Bool(false))
	}
	bucketProps := &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(props.Prod),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("abort-incomplete-uploads"),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}, {
			Id:                          jsii.String("expire-replaced-versions"),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
		Cors: &[]*awss3.CorsRule{{
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_PUT},
			AllowedOrigins: jsii.Strings(props.CorsOrigins...),
			AllowedHeaders: jsii.Strings("Content-Type"),
			MaxAge:         jsii.Number(3000),
		}},
		RemovalPolicy:     removal,
		AutoDeleteObjects: jsii.Bool(!props.Prod),
	}
	if logs != nil {
		bucketProps.ServerAccessLogsBucket, bucketProps.ServerAccessLogsPrefix = logs, jsii.String("s3/")
	}
	bucket := awss3.NewBucket(this, jsii.String("Bucket"), bucketProps)
	if logs == nil {
		cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-S1"), Reason: jsii.String("Development stage: no access logs, so that cdk destroy can remove every bucket (README, Deploying)"),
		}}, jsii.Bool(false))
	}
	// Image keys never change content (a new upload gets a new key): the
	// managed CachingOptimized policy (no query strings, headers or cookies in
	// the key; up to a year when the object says so) fits, and it spends none
	// of the account's quota of custom cache policies, whatever the number of
	// stages.
	distProps := &awscloudfront.DistributionProps{
		Comment: jsii.String("Product images"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, oacProps(this, props.OriginAccessControlID)),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: awscloudfront.ResponseHeadersPolicy_SECURITY_HEADERS(),
		},
		HttpVersion: awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:  awscloudfront.PriceClass_PRICE_CLASS_100,
	}
	if logs != nil {
		distProps.EnableLogging, distProps.LogBucket, distProps.LogFilePrefix = jsii.Bool(true), logs, jsii.String("cdn/")
	}
	if props.DomainName != "" {
		distProps.DomainNames = jsii.Strings(props.DomainName)
		distProps.Certificate = awscertificatemanager.Certificate_FromCertificateArn(this, jsii.String("Certificate"), jsii.String(props.CertificateArn))
		distProps.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
	}
	cdn := awscloudfront.NewDistribution(this, jsii.String("Cdn"), distProps)
	suppressions := []*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-CFR1"), Reason: jsii.String("Product images are public content for a shop that sells everywhere; no geo restriction")},
		{Id: jsii.String("AwsSolutions-CFR2"), Reason: jsii.String("The distribution serves only static, immutable images from a private bucket; no WAF (cost), recorded in the README")},
	}
	if props.OriginAccessControlID != nil {
		// CFR7 cannot read an imported id (it throws on the Fn::ImportValue).
		suppressions = append(suppressions, &cdknag.NagPackSuppression{Id: jsii.String("CdkNagValidationFailure"),
			Reason: jsii.String("AwsSolutions-CFR7 cannot read the account's origin access control id (an import); the stacks' tests assert the origin signs with it")})
	}
	if logs == nil {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-CFR3"),
			Reason: jsii.String("Development stage: no access logs, so that cdk destroy can remove every bucket (README, Deploying)")})
	}
	baseURL := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), cdn.DistributionDomainName()})
	if props.DomainName == "" {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-CFR4"),
			Reason: jsii.String("Without a custom domain (stage config cdnDomainName, cdnCertificateArn) CloudFront's default certificate sets the TLS policy; with one it is TLSv1.2_2021")})
	} else {
		baseURL = jsii.String("https://" + props.DomainName)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(cdn, &suppressions, jsii.Bool(false))
	return &productImages{Construct: this, bucket: bucket, cdn: cdn, baseURL: baseURL}
}

func (p *productImages) Bucket() awss3.Bucket                     { return p.bucket }
func (p *productImages) Distribution() awscloudfront.Distribution { return p.cdn }
func (p *productImages) BaseURL() *string                         { return p.baseURL }

func (p *productImages) GrantImages(role awsiam.IRole, actions ...string) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{p.bucket.ArnForObjects(jsii.String(contract.ImagesPrefix + "*"))},
	}))
}

func (p *productImages) GrantList(role awsiam.IRole) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{p.bucket.BucketArn()},
		Conditions: &map[string]interface{}{"StringLike": map[string]interface{}{"s3:prefix": contract.ImagesPrefix + "*"}},
	}))
}

// oacProps signs with the origin access control id when given.
func oacProps(scope constructs.Construct, id *string) *awscloudfrontorigins.S3BucketOriginWithOACProps {
	if id == nil {
		return nil
	}
	return &awscloudfrontorigins.S3BucketOriginWithOACProps{
		OriginAccessControl: awscloudfront.S3OriginAccessControl_FromOriginAccessControlId(scope, jsii.String("SharedOac"), id),
	}
}
