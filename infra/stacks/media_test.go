package stacks

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/infra/config"
)

func TestImagesBucket(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Media"
		// Development stages keep no access logs: nothing writes into a bucket
		// that cdk destroy is emptying.
		prefixes := map[string][]string{"dev-test": {"ProductImagesBucket"}, "prod": {"ProductImagesBucket", "ProductImagesAccessLogs"}}[stage]
		if n := len(ofType(stack, "AWS::S3::Bucket")); n != len(prefixes) {
			t.Errorf("%s: %d buckets, want %d", stack, n, len(prefixes))
		}
		for _, prefix := range prefixes {
			b := byLogicalID(t, stack, "AWS::S3::Bucket", prefix)
			p := b.Properties
			if js(p["PublicAccessBlockConfiguration"]) != `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}` {
				t.Errorf("%s/%s: public access %s", stack, prefix, js(p["PublicAccessBlockConfiguration"]))
			}
			if js(get(p, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm")) != `"AES256"` {
				t.Errorf("%s/%s: encryption %s", stack, prefix, js(p["BucketEncryption"]))
			}
			if p["BucketName"] != nil {
				t.Errorf("%s/%s has a physical name", stack, prefix)
			}
			if want := map[string]string{"dev-test": "Delete", "prod": "Retain"}[stage]; b.DeletionPolicy != want {
				t.Errorf("%s/%s: DeletionPolicy %q, want %q", stack, prefix, b.DeletionPolicy, want)
			}
		}
		p := byLogicalID(t, stack, "AWS::S3::Bucket", "ProductImagesBucket").Properties
		wantVersioning := map[string]string{"dev-test": "null", "prod": `{"Status":"Enabled"}`}[stage]
		checks := []struct {
			name string
			got  any
			want string
		}{
			{"versioning", p["VersioningConfiguration"], wantVersioning},
			{"lifecycle", get(p, "LifecycleConfiguration", "Rules"),
				`[{"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1},"Id":"abort-incomplete-uploads","Status":"Enabled"},{"Id":"expire-replaced-versions","NoncurrentVersionExpiration":{"NoncurrentDays":30},"Status":"Enabled"}]`},
			{"CORS methods", get(p, "CorsConfiguration", "CorsRules", 0, "AllowedMethods"), `["PUT"]`},
			{"ownership", get(p, "OwnershipControls", "Rules", 0, "ObjectOwnership"), `"BucketOwnerEnforced"`},
		}
		for _, c := range checks {
			if js(c.got) != c.want {
				t.Errorf("%s: %s = %s, want %s", stack, c.name, js(c.got), c.want)
			}
		}
		if stage == "prod" {
			if js(get(p, "LoggingConfiguration", "LogFilePrefix")) != `"s3/"` ||
				js(get(p, "LoggingConfiguration", "DestinationBucketName", "Ref")) != `"`+logicalID(t, stack, "AWS::S3::Bucket", "ProductImagesAccessLogs")+`"` {
				t.Errorf("%s: access logs %s", stack, js(p["LoggingConfiguration"]))
			}
		} else if p["LoggingConfiguration"] != nil {
			t.Errorf("%s: access logs in a development stage", stack)
		}
		if origins := js(get(p, "CorsConfiguration", "CorsRules", 0, "AllowedOrigins")); strings.Contains(origins, "*") {
			t.Errorf("%s: CORS origins %s", stack, origins)
		}
	}
}

func logicalID(t *testing.T, stack, typ, prefix string) string {
	t.Helper()
	for id := range ofType(stack, typ) {
		if strings.HasPrefix(id, prefix) {
			return id
		}
	}
	t.Fatalf("%s: no resource %s*", stack, prefix)
	return ""
}

// The bucket policies deny plain HTTP; the images bucket's allows reads only
// to this stack's distribution, through OAC.
func TestImagesBucketPolicies(t *testing.T) {
	stack := "Shop-dev-test-Media"
	for id, pol := range ofType(stack, "AWS::S3::BucketPolicy") {
		doc := js(get(pol.Properties, "PolicyDocument"))
		if !strings.Contains(doc, `"aws:SecureTransport":"false"`) || !strings.Contains(doc, `"Effect":"Deny"`) {
			t.Errorf("%s: no TLS-only statement: %s", id, doc)
		}
		stmts, _ := get(pol.Properties, "PolicyDocument", "Statement").([]any)
		for _, st := range stmts {
			if p := js(get(st, "Principal")); get(st, "Effect") == "Allow" && (p == `"*"` || p == `{"AWS":"*"}`) {
				t.Errorf("%s: allows anyone: %s", id, js(st))
			}
		}
		// The origin access control is the account's, shared by every
		// development stage: the source ARN, this stack's own distribution,
		// is what keeps another stage's CDN out of this bucket.
		if strings.HasPrefix(id, "ProductImagesBucketPolicy") && (!strings.Contains(doc, "cloudfront.amazonaws.com") ||
			!regexp.MustCompile(`"AWS:SourceArn":\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":cloudfront::",\{"Ref":"AWS::AccountId"\},":distribution/",\{"Ref":"ProductImagesCdn[0-9A-F]+"\}\]\]\}`).MatchString(doc)) {
			t.Errorf("%s: reads not limited to the stage's own distribution: %s", id, doc)
		}
	}
}

func TestCdn(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Media"
		d := get(only(t, stack, "AWS::CloudFront::Distribution").Properties, "DistributionConfig")
		// An origin access control is an account quota (100, all regions):
		// development stages share the account's (issue 23), prod has its own.
		oacStack, oacRef := stack, "OriginAccessControl"
		if stage != "prod" {
			oacStack, oacRef = config.AccountStackName, `{"Fn::ImportValue":"`+DevImagesOacExport+`"}`
			if n := len(ofType(stack, "AWS::CloudFront::OriginAccessControl")); n != 0 {
				t.Errorf("%s: %d origin access controls of its own", stack, n)
			}
		}
		oac := only(t, oacStack, "AWS::CloudFront::OriginAccessControl").Properties
		checks := []struct {
			name string
			got  any
			want string
		}{
			{"HTTPS only", get(d, "DefaultCacheBehavior", "ViewerProtocolPolicy"), `"redirect-to-https"`},
			{"read only", get(d, "DefaultCacheBehavior", "AllowedMethods"), `["GET","HEAD"]`},
			{"OAC, no OAI", get(d, "Origins", 0, "S3OriginConfig", "OriginAccessIdentity"), `""`},
			{"OAC signs", get(oac, "OriginAccessControlConfig", "SigningBehavior"), `"always"`},
			{"OAC for S3", get(oac, "OriginAccessControlConfig", "OriginAccessControlOriginType"), `"s3"`},
			// Managed CachingOptimized: no custom cache policy per stage (an account quota).
			{"managed cache policy", get(d, "DefaultCacheBehavior", "CachePolicyId"), `"658327ea-f89d-4fab-a63d-7e88639e58f6"`},
			{"logs", get(d, "Logging", "Prefix"), map[string]string{"dev-test": "null", "prod": `"cdn/"`}[stage]},
		}
		for _, c := range checks {
			if js(c.got) != c.want {
				t.Errorf("%s: %s = %s, want %s", stack, c.name, js(c.got), c.want)
			}
		}
		if !strings.Contains(js(get(d, "Origins", 0, "OriginAccessControlId")), oacRef) {
			t.Errorf("%s: origin without OAC: %s", stack, js(get(d, "Origins", 0)))
		}
		if n := len(ofType(stack, "AWS::CloudFront::CachePolicy")); n != 0 {
			t.Errorf("%s: %d custom cache policies", stack, n)
		}
	}
}

// Objects created under products/ invoke the images function.
func TestImageNotification(t *testing.T) {
	stack := "Shop-dev-test-Media"
	n := only(t, stack, "Custom::S3BucketNotifications").Properties
	cfgs, _ := get(n, "NotificationConfiguration", "LambdaFunctionConfigurations").([]any)
	if len(cfgs) != 1 || js(get(cfgs[0], "Events")) != `["s3:ObjectCreated:*"]` ||
		js(get(cfgs[0], "Filter", "Key", "FilterRules")) != `[{"Name":"prefix","Value":"products/"}]` ||
		!strings.HasPrefix(fmt.Sprint(get(cfgs[0], "LambdaFunctionArn", "Fn::GetAtt", 0)), "ImagesFunction") {
		t.Errorf("notification = %s", js(n))
	}
	// Two invokers: the bucket, and the daily sweep's schedule.
	principals := map[string]string{}
	for _, p := range ofType(stack, "AWS::Lambda::Permission") {
		principals[fmt.Sprint(p.Properties["Principal"])] = js(p.Properties["SourceArn"])
	}
	if len(principals) != 2 || !strings.Contains(principals["s3.amazonaws.com"], "ProductImagesBucket") ||
		!strings.Contains(principals["events.amazonaws.com"], "ImagesSweep") {
		t.Errorf("invoke permissions = %v", principals)
	}
	rule := only(t, stack, "AWS::Events::Rule").Properties
	if rule["ScheduleExpression"] != "rate(1 day)" || !strings.Contains(js(rule["Targets"]), "ImagesFunction") {
		t.Errorf("sweep schedule = %s", js(rule))
	}
}
