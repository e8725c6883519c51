package components

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// WafVisibility is a rule's or web ACL's metrics and sampled requests.
func WafVisibility(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
	return &awswafv2.CfnWebACL_VisibilityConfigProperty{
		CloudWatchMetricsEnabled: jsii.Bool(true), SampledRequestsEnabled: jsii.Bool(true), MetricName: jsii.String(name),
	}
}

// PathTransformations bring a request path to the form the API routes it
// by, whatever the client wrote: percent-decoded, with repeated slashes and
// dot segments removed, in lower case. A pattern then matches every variant
// that could reach the same route (and a few that reach none, which only
// makes a limit stricter).
var PathTransformations = []string{"URL_DECODE", "NORMALIZE_PATH", "LOWERCASE"}

func transformations(types ...string) *[]interface{} {
	out := make([]interface{}, len(types))
	for i, t := range types {
		out[i] = &awswafv2.CfnWebACL_TextTransformationProperty{Priority: jsii.Number(float64(i)), Type: jsii.String(t)}
	}
	return &out
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// RoutePattern is the regular expression of a route's path after
// PathTransformations: each path parameter one segment, and an optional
// trailing slash.
func RoutePattern(path string) string {
	parts := pathParam.Split(strings.ToLower(path), -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return "^" + strings.Join(parts, "[^/]+") + "/?$"
}

// CostlyScope is the scope-down statement of the per-client rules: a
// request that is not a read (GET, HEAD, OPTIONS) to a path of a costly
// route (contract.CostlyRoutes), in any spelling of it.
func CostlyScope(patterns awswafv2.CfnRegexPatternSet) *awswafv2.CfnWebACL_StatementProperty {
	read := &awswafv2.CfnWebACL_StatementProperty{RegexMatchStatement: &awswafv2.CfnWebACL_RegexMatchStatementProperty{
		FieldToMatch:        &awswafv2.CfnWebACL_FieldToMatchProperty{Method: map[string]interface{}{}},
		RegexString:         jsii.String("^(get|head|options)$"),
		TextTransformations: transformations("LOWERCASE"),
	}}
	return &awswafv2.CfnWebACL_StatementProperty{AndStatement: &awswafv2.CfnWebACL_AndStatementProperty{Statements: &[]interface{}{
		&awswafv2.CfnWebACL_StatementProperty{NotStatement: &awswafv2.CfnWebACL_NotStatementProperty{Statement: read}},
		&awswafv2.CfnWebACL_StatementProperty{RegexPatternSetReferenceStatement: &awswafv2.CfnWebACL_RegexPatternSetReferenceStatementProperty{
			Arn:                 patterns.AttrArn(),
			FieldToMatch:        &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]interface{}{}},
			TextTransformations: transformations(PathTransformations...),
		}},
	}}}
}

// CostlyPatterns is the regex pattern set of the costly routes' paths.
func CostlyPatterns(scope constructs.Construct, id, wafScope string) awswafv2.CfnRegexPatternSet {
	var patterns []string
	for _, r := range contract.CostlyRoutes() {
		p := RoutePattern(r.Path)
		if !slices.Contains(patterns, p) {
			patterns = append(patterns, p)
		}
	}
	return awswafv2.NewCfnRegexPatternSet(scope, jsii.String(id), &awswafv2.CfnRegexPatternSetProps{
		Scope: jsii.String(wafScope), RegularExpressionList: jsii.Strings(patterns...),
		Description: jsii.String("Paths of the routes that cost the most: contract.CostlyRoutes"),
	})
}

// RateRule blocks a key (the viewer's address when headers is empty, else
// the values of those headers) past limit requests in five minutes, on the
// requests scope matches (all when nil). A request without one of the
// headers is not counted by the rule (AWS WAF Developer Guide, "Rate-based
// rule aggregation options and keys"): pair such a rule with one keyed on
// the address.
func RateRule(name string, priority, limit int, scope *awswafv2.CfnWebACL_StatementProperty, headers ...string) *awswafv2.CfnWebACL_RuleProperty {
	rate := &awswafv2.CfnWebACL_RateBasedStatementProperty{
		Limit: jsii.Number(float64(limit)), AggregateKeyType: jsii.String("IP"), EvaluationWindowSec: jsii.Number(300),
		ScopeDownStatement: scope,
	}
	if len(headers) > 0 {
		keys := make([]interface{}, len(headers))
		for i, h := range headers {
			keys[i] = &awswafv2.CfnWebACL_RateBasedStatementCustomKeyProperty{Header: &awswafv2.CfnWebACL_RateLimitHeaderProperty{
				Name: jsii.String(strings.ToLower(h)), TextTransformations: transformations("NONE"),
			}}
		}
		rate.AggregateKeyType, rate.CustomKeys = jsii.String("CUSTOM_KEYS"), &keys
	}
	return &awswafv2.CfnWebACL_RuleProperty{
		Name: jsii.String(name), Priority: jsii.Number(float64(priority)),
		Action:           &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]interface{}{}},
		Statement:        &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: rate},
		VisibilityConfig: WafVisibility(name),
	}
}

// WafLogs sends acl's log to a CloudWatch log group of its own, named as
// AWS WAF requires ("aws-waf-logs-" first), kept logRetentionDays, with the
// headers that carry credentials redacted.
func WafLogs(scope constructs.Construct, id string, acl awswafv2.CfnWebACL, name string, logRetentionDays int, prod bool, redact ...string) awslogs.LogGroup {
	retention, ok := retentionDays[logRetentionDays]
	if !ok {
		panic(fmt.Sprintf("WafLogs %s: CloudWatch has no retention of %d days", id, logRetentionDays))
	}
	// The name ends with the stack's own id (the GUID of its StackId): a
	// retained group outlives its stack, and a literal name would make the
	// stack's next incarnation fail on "already exists" (issue 38).
	stackGUID := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil))
	group := awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("aws-waf-logs-" + name + "-"), stackGUID}),
		Retention:    retention, RemovalPolicy: StatefulRemoval(prod),
	})
	fields := make([]interface{}, len(redact))
	for i, h := range redact {
		fields[i] = &awswafv2.CfnLoggingConfiguration_FieldToMatchProperty{SingleHeader: map[string]interface{}{"Name": strings.ToLower(h)}}
	}
	// AWS WAF refuses a log group whose name does not start with
	// "aws-waf-logs-" with "The ARN isn't valid" (AWS WAF Developer Guide,
	// "Sending web ACL traffic logs to an Amazon CloudWatch Logs log
	// group", naming requirements). The destination is the group's ARN in
	// the documented form, without the ":*" that LogGroup.logGroupArn ends
	// with (aws/aws-cdk#18253).
	arn := awscdk.Stack_Of(scope).FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("logs"), Resource: jsii.String("log-group"), ResourceName: group.LogGroupName(),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	awswafv2.NewCfnLoggingConfiguration(scope, jsii.String(id+"Config"), &awswafv2.CfnLoggingConfigurationProps{
		ResourceArn: acl.AttrArn(), LogDestinationConfigs: &[]interface{}{arn}, RedactedFields: &fields,
	})
	return group
}
