package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// canned answers the SDK's requests in memory, by operation: the real SDK
// serializes every request and parses every answer, only the network is
// left out.
type canned map[string]reply

type reply struct {
	status int
	header map[string]string
	body   string
}

// operation names a request as "service.Operation": by X-Amz-Target (JSON
// protocols), by Action (query protocol), or by path (REST protocols).
func operation(r *http.Request) string {
	service := strings.Split(r.URL.Host, ".")[0]
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return service + "." + t[strings.LastIndex(t, ".")+1:]
	}
	if r.Body != nil && strings.Contains(r.Header.Get("Content-Type"), "x-www-form-urlencoded") {
		raw, _ := io.ReadAll(r.Body)
		if v, err := url.ParseQuery(string(raw)); err == nil && v.Get("Action") != "" {
			return service + "." + v.Get("Action")
		}
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/account-settings"):
		return service + ".GetAccountSettings"
	case strings.HasSuffix(r.URL.Path, "/origin-access-control"):
		return service + ".ListOriginAccessControls"
	case strings.Contains(r.URL.Path, "/email/identities/"):
		return service + ".GetEmailIdentity"
	case service == "apigateway" && r.URL.Path == "/account":
		return service + ".GetAccount"
	}
	return service + " " + r.Method + " " + r.URL.Path
}

func (c canned) Do(r *http.Request) (*http.Response, error) {
	op := operation(r)
	rep, ok := c[op]
	if !ok {
		return nil, fmt.Errorf("no canned answer for %s", op)
	}
	h := http.Header{}
	for k, v := range rep.header {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: rep.status, Header: h, Body: io.NopCloser(strings.NewReader(rep.body)), Request: r,
		ContentLength: int64(len(rep.body))}, nil
}

func account(c canned) Account {
	return Account{ID: "123456789012", Region: "eu-west-1", Config: func(region string) aws.Config {
		return aws.Config{Region: region, HTTPClient: c, RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	}}
}

func jsonReply(body string) reply {
	return reply{200, map[string]string{"Content-Type": "application/x-amz-json-1.1"}, body}
}

func restJSON(body string) reply {
	return reply{200, map[string]string{"Content-Type": "application/json"}, body}
}

func xmlReply(body string) reply {
	return reply{200, map[string]string{"Content-Type": "text/xml"}, body}
}

func bootstrap(version int) reply {
	return jsonReply(fmt.Sprintf(`{"Parameter":{"Name":"/cdk-bootstrap/hnb659fds/version","Type":"String","Value":"%d"}}`, version))
}

var noBootstrap = reply{400, map[string]string{"Content-Type": "application/x-amz-json-1.1"}, `{"__type":"ParameterNotFound","message":"not found"}`}

func concurrencyLimit(n int) reply {
	return restJSON(fmt.Sprintf(`{"AccountLimit":{"ConcurrentExecutions":%d,"UnreservedConcurrentExecutions":%d,"CodeSizeUnzipped":262144000,"CodeSizeZipped":52428800,"TotalCodeSize":80530636800},"AccountUsage":{"FunctionCount":3,"TotalCodeSize":1}}`, n, n))
}

func caches(names ...string) reply {
	var members strings.Builder
	for _, n := range names {
		fmt.Fprintf(&members, "<member><ServerlessCacheName>%s</ServerlessCacheName></member>", n)
	}
	return xmlReply(`<DescribeServerlessCachesResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><DescribeServerlessCachesResult><ServerlessCaches>` +
		members.String() + `</ServerlessCaches></DescribeServerlessCachesResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeServerlessCachesResponse>`)
}

func userGroup(users ...string) reply {
	var members strings.Builder
	for _, u := range users {
		fmt.Fprintf(&members, "<member>%s</member>", u)
	}
	return xmlReply(`<DescribeUserGroupsResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><DescribeUserGroupsResult><UserGroups><member><UserGroupId>shop-dev</UserGroupId><Status>active</Status><UserIds>` +
		members.String() + `</UserIds></member></UserGroups></DescribeUserGroupsResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeUserGroupsResponse>`)
}

// numbered is n names of the pattern, from 0.
func numbered(pattern string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(pattern, i)
	}
	return out
}

func iamRoles(names ...string) reply {
	var members strings.Builder
	for _, n := range names {
		fmt.Fprintf(&members, "<member><Path>/</Path><RoleName>%s</RoleName><RoleId>AROA%d</RoleId><Arn>arn:aws:iam::123456789012:role/%s</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></member>", n, len(n), n)
	}
	return xmlReply(`<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolesResult><IsTruncated>false</IsTruncated><Roles>` +
		members.String() + `</Roles></ListRolesResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></ListRolesResponse>`)
}

var noUserGroup = reply{404, map[string]string{"Content-Type": "text/xml"}, `<ErrorResponse><Error><Type>Sender</Type><Code>UserGroupNotFound</Code><Message>not found</Message></Error><RequestId>r1</RequestId></ErrorResponse>`}

func quotas(name string, value int) reply {
	return jsonReply(fmt.Sprintf(`{"Quotas":[{"QuotaName":%q,"QuotaCode":"L-TEST","Value":%d}]}`, name, value))
}

func identity(verified bool) reply {
	return restJSON(fmt.Sprintf(`{"IdentityType":"DOMAIN","VerifiedForSendingStatus":%v}`, verified))
}

var (
	lambdaDenied = reply{403, map[string]string{"Content-Type": "application/json", "X-Amzn-ErrorType": "AccessDeniedException"}, `{"Message":"not authorized"}`}
	queryDenied  = reply{403, map[string]string{"Content-Type": "text/xml"}, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error><RequestId>r1</RequestId></ErrorResponse>`}
)

// prodPlan is prod as its templates have it: reservations, one cache, the
// Edge stack in us-east-1, alarms with a subscriber, a pool sending from a
// verified domain.
var prodPlan = Plan{Stage: "prod", Prod: true, Reserved: 461, ReservedRegion: "eu-west-1", Caches: []string{"shop-prod-cart"}, AlarmSubscribers: 1, OriginAccessControls: 1, Roles: 12,
	LoggedApiRegions: []string{"eu-west-1"},
	EmailIdentities:  []EmailIdentity{{Identity: "shop.example.com", Region: "eu-west-1"}},
	Stacks: []Stack{
		{Name: "Shop-prod-Data", Region: "eu-west-1", BootstrapParameter: "/cdk-bootstrap/hnb659fds/version", BootstrapVersion: 6},
		{Name: "Shop-prod-Edge", Region: "us-east-1", BootstrapParameter: "/cdk-bootstrap/hnb659fds/version", BootstrapVersion: 6},
		{Name: "Shop-prod-Api", Region: "eu-west-1", BootstrapParameter: "/cdk-bootstrap/hnb659fds/version", BootstrapVersion: 6},
	}}

// devPlan is a development stage as its templates have it: 9 roles, its
// user in the shared cache's group, no cache or origin access control.
var devPlan = Plan{Stage: "dev-bob", Roles: 9, CacheMemberships: []CacheMembership{{Group: "shop-dev", User: "shop-dev-bob-cart"}},
	Stacks: []Stack{{Name: "Shop-dev-bob-Api", BootstrapParameter: "/cdk-bootstrap/hnb659fds/version", BootstrapVersion: 6}}}

func fits() canned {
	return canned{
		"ssm.GetParameter":                     bootstrap(21),
		"lambda.GetAccountSettings":            concurrencyLimit(1000),
		"elasticache.DescribeServerlessCaches": caches("shop-dev-a-cart"),
		"servicequotas.ListServiceQuotas":      quotas("Serverless caches per Region", 40),
		"email.GetEmailIdentity":               identity(true),
		"elasticache.DescribeUserGroups":       userGroup("shop-dev-default", "shop-dev-a-cart"),
		"iam.ListRoles":                        iamRoles("Shop-dev-a-Api-CatalogRole-1", "OrganizationAccountAccessRole"),
		"apigateway.GetAccount":                restJSON(`{"cloudwatchRoleArn":"arn:aws:iam::123456789012:role/Shop-Account-ApiGatewayLogsRole"}`),
		"cloudfront.ListOriginAccessControls":  xmlReply(`<OriginAccessControlList><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated><Quantity>0</Quantity></OriginAccessControlList>`),
	}
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name     string
		plan     Plan
		answers  func(canned)
		failures []string // the checks that fail, by name
	}{
		{"a fitting account", prodPlan, func(canned) {}, nil},
		{"a new account: concurrency 10", prodPlan, func(c canned) { c["lambda.GetAccountSettings"] = concurrencyLimit(10) }, []string{"Lambda concurrency"}},
		{"just enough concurrency: reservations + 100", prodPlan, func(c canned) { c["lambda.GetAccountSettings"] = concurrencyLimit(561) }, nil},
		{"one short", prodPlan, func(c canned) { c["lambda.GetAccountSettings"] = concurrencyLimit(560) }, []string{"Lambda concurrency"}},
		{"no bootstrap anywhere", prodPlan, func(c canned) { c["ssm.GetParameter"] = noBootstrap },
			[]string{"CDK bootstrap in eu-west-1", "CDK bootstrap in us-east-1"}},
		{"an old bootstrap", prodPlan, func(c canned) { c["ssm.GetParameter"] = bootstrap(5) },
			[]string{"CDK bootstrap in eu-west-1", "CDK bootstrap in us-east-1"}},
		{"the caches quota is full", prodPlan, func(c canned) {
			names := make([]string, 40)
			for i := range names {
				names[i] = fmt.Sprintf("shop-dev-%d-cart", i)
			}
			c["elasticache.DescribeServerlessCaches"] = caches(names...)
		}, []string{"ElastiCache serverless caches in eu-west-1"}},
		{"the caches quota is full, but the stage's cache exists", prodPlan, func(c canned) {
			names := []string{"shop-prod-cart"}
			for i := 1; i < 40; i++ {
				names = append(names, fmt.Sprintf("shop-dev-%d-cart", i))
			}
			c["elasticache.DescribeServerlessCaches"] = caches(names...)
		}, nil},
		{"the account's origin access controls are all taken", prodPlan, func(c canned) {
			var items strings.Builder
			for i := range 100 {
				fmt.Fprintf(&items, "<OriginAccessControlSummary><Id>E%d</Id><Name>oac-%d</Name><Description></Description><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlSummary>", i, i)
			}
			c["cloudfront.ListOriginAccessControls"] = xmlReply(`<OriginAccessControlList><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated><Quantity>100</Quantity><Items>` + items.String() + `</Items></OriginAccessControlList>`)
		}, []string{"CloudFront origin access controls"}},
		{"the SES identity is not verified", prodPlan, func(c canned) { c["email.GetEmailIdentity"] = identity(false) }, []string{"SES identity shop.example.com in eu-west-1"}},
		{"API denied", prodPlan, func(c canned) {
			c["lambda.GetAccountSettings"] = lambdaDenied
			c["elasticache.DescribeServerlessCaches"] = queryDenied
		}, []string{"Lambda concurrency", "ElastiCache serverless caches in eu-west-1"}},
		{"prod without an alarm subscriber or SES", Plan{Stage: "prod", Prod: true, Stacks: prodPlan.Stacks}, func(canned) {},
			[]string{"alarm subscriber", "user pool e-mail"}},
		{"a development stage reserves nothing", Plan{Stage: "dev-alice", Caches: []string{"shop-dev-alice-cart"},
			Stacks: []Stack{{Name: "Shop-dev-alice-Api", BootstrapParameter: "/cdk-bootstrap/hnb659fds/version", BootstrapVersion: 6}}},
			func(c canned) { c["lambda.GetAccountSettings"] = concurrencyLimit(10) }, nil},
		{"a development stage joins the shared cache's group", devPlan, func(canned) {}, nil},
		{"the shared cache's group is full", devPlan, func(c canned) {
			c["elasticache.DescribeUserGroups"] = userGroup(numbered("shop-dev-%d-cart", 100)...)
		}, []string{"cache user group shop-dev in eu-west-1"}},
		{"95 users: the margin refuses a new stage (issue 38)", devPlan, func(c canned) {
			c["elasticache.DescribeUserGroups"] = userGroup(numbered("shop-dev-%d-cart", 95)...)
		}, []string{"cache user group shop-dev in eu-west-1"}},
		{"94 users: the 95th fits", devPlan, func(c canned) {
			c["elasticache.DescribeUserGroups"] = userGroup(numbered("shop-dev-%d-cart", 94)...)
		}, nil},
		{"the group is full, but the stage's user is in it", devPlan, func(c canned) {
			c["elasticache.DescribeUserGroups"] = userGroup(append(numbered("shop-dev-%d-cart", 99), "shop-dev-bob-cart")...)
		}, nil},
		{"no account stack yet", devPlan, func(c canned) { c["elasticache.DescribeUserGroups"] = noUserGroup }, []string{"cache user group shop-dev in eu-west-1"}},
		{"the account's roles are all taken", devPlan, func(c canned) { c["iam.ListRoles"] = iamRoles(numbered("role-%d", 995)...) }, []string{"IAM roles"}},
		{"the roles are all taken, but the stage has its own already", devPlan, func(c canned) {
			c["iam.ListRoles"] = iamRoles(append(numbered("role-%d", 991), numbered("Shop-dev-bob-Api-FnRole-%d", 9)...)...)
		}, nil},
		{"no API Gateway CloudWatch role (no account stack)", prodPlan, func(c canned) {
			c["apigateway.GetAccount"] = restJSON(`{"throttleSettings":{"burstLimit":5000,"rateLimit":10000}}`)
		},
			[]string{"API Gateway CloudWatch role in eu-west-1"}},
		{"a bad stage name", Plan{Stage: "Dev--Alice", Stacks: prodPlan.Stacks[:1]}, func(canned) {}, []string{"stage name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fits()
			tt.answers(c)
			var failed []string
			for _, r := range Run(context.Background(), tt.plan, account(c)) {
				if !r.OK {
					failed = append(failed, r.Check)
					if r.Fix == "" {
						t.Errorf("%s failed with no fix: %s", r.Check, r.Found)
					}
				}
			}
			if strings.Join(failed, "; ") != strings.Join(tt.failures, "; ") {
				t.Errorf("failed %q, want %q", failed, tt.failures)
			}
		})
	}
}

// The report names the fix under each failure, and exits 1 when any check
// failed.
func TestReport(t *testing.T) {
	c := fits()
	c["lambda.GetAccountSettings"] = concurrencyLimit(10)
	var out bytes.Buffer
	if code := Report(&out, prodPlan, account(c), Run(context.Background(), prodPlan, account(c))); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"FAIL Lambda concurrency: account limit 10", "--quota-code L-B99A9384 --desired-value 561", "1 of 10 checks failed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := Report(&out, prodPlan, account(fits()), Run(context.Background(), prodPlan, account(fits()))); code != 0 {
		t.Errorf("a fitting account: exit %d\n%s", code, out.String())
	}
	t.Log("\n" + out.String())
}

// The plan comes from the cloud assembly: the stage's stacks by their tag,
// their regions, and what their templates create.
func TestReadPlan(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) {
		raw, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stack := func(env, stage, file string) map[string]any {
		return map[string]any{"type": "aws:cloudformation:stack", "environment": env, "properties": map[string]any{
			"templateFile": file, "tags": map[string]string{"stage": stage}, "requiresBootstrapStackVersion": 6,
			"bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"}}
	}
	write("manifest.json", map[string]any{"artifacts": map[string]any{
		"Shop-Account":         stack("aws://unknown-account/unknown-region", "account", "a.json"),
		"Shop-prod-Api":        stack("aws://unknown-account/eu-west-1", "prod", "api.json"),
		"Shop-prod-Edge":       stack("aws://unknown-account/us-east-1", "prod", "edge.json"),
		"Shop-prod-Network":    stack("aws://unknown-account/eu-west-1", "prod", "net.json"),
		"Shop-dev-bob-Network": stack("aws://unknown-account/unknown-region", "dev-bob", "devnet.json"),
	}})
	write("devnet.json", map[string]any{"Resources": map[string]any{
		"DevCacheUser": map[string]any{"Type": "AWS::ElastiCache::User", "Properties": map[string]any{"UserId": "shop-dev-bob-cart"}},
		"DevCacheMembership": map[string]any{"Type": "Custom::CacheUserGroupMembership", "Properties": map[string]any{
			"UserGroupId": "shop-dev", "UserId": map[string]any{"Ref": "DevCacheUser"}}},
		"FnRole": map[string]any{"Type": "AWS::IAM::Role"},
	}})
	write("api.json", map[string]any{"Resources": map[string]any{
		"CatalogFunction": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{"ReservedConcurrentExecutions": 200}},
		"CartFunction":    map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{"ReservedConcurrentExecutions": 100}},
		"Sub":             map[string]any{"Type": "AWS::SNS::Subscription", "Properties": map[string]any{"TopicArn": map[string]any{"Ref": "MonitoringAlarmsE1"}}},
		"Stage":           map[string]any{"Type": "AWS::ApiGateway::Stage", "Properties": map[string]any{"AccessLogSetting": map[string]any{"Format": "{}"}}},
	}})
	write("edge.json", map[string]any{"Resources": map[string]any{}})
	write("net.json", map[string]any{"Resources": map[string]any{
		"Cache": map[string]any{"Type": "AWS::ElastiCache::ServerlessCache", "Properties": map[string]any{"ServerlessCacheName": "shop-prod-cart"}},
		"Pool": map[string]any{"Type": "AWS::Cognito::UserPool", "Properties": map[string]any{"EmailConfiguration": map[string]any{
			"EmailSendingAccount": "DEVELOPER", "SourceArn": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"},
				":ses:eu-west-1:", map[string]any{"Ref": "AWS::AccountId"}, ":identity/shop.example.com"}}}}}},
	}})
	p, err := ReadPlan(dir, "prod")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(p)
	want := `{"Stage":"prod","Prod":true,"Stacks":[{"Name":"Shop-prod-Api","Account":"","Region":"eu-west-1","BootstrapParameter":"/cdk-bootstrap/hnb659fds/version","BootstrapVersion":6},` +
		`{"Name":"Shop-prod-Edge","Account":"","Region":"us-east-1","BootstrapParameter":"/cdk-bootstrap/hnb659fds/version","BootstrapVersion":6},` +
		`{"Name":"Shop-prod-Network","Account":"","Region":"eu-west-1","BootstrapParameter":"/cdk-bootstrap/hnb659fds/version","BootstrapVersion":6}],` +
		`"Reserved":300,"ReservedRegion":"eu-west-1","Caches":["shop-prod-cart"],"OriginAccessControls":0,"CacheMemberships":null,"Roles":0,"AlarmSubscribers":1,"LoggedApiRegions":["eu-west-1"],"EmailIdentities":[{"Identity":"shop.example.com","Region":"eu-west-1"}]}`
	if string(got) != want {
		t.Errorf("plan\n%s\nwant\n%s", got, want)
	}
	dev, err := ReadPlan(dir, "dev-bob")
	if err != nil || dev.Roles != 1 || fmt.Sprint(dev.CacheMemberships) != "[{shop-dev shop-dev-bob-cart}]" {
		t.Errorf("dev-bob: roles %d, memberships %v, %v", dev.Roles, dev.CacheMemberships, err)
	}
	if _, err := ReadPlan(dir, "dev-nobody"); err == nil || !strings.Contains(err.Error(), "make synth STAGE=dev-nobody") {
		t.Errorf("a stage the assembly lacks: %v", err)
	}
}

// Without credentials the preflight stops with one line.
func TestNoCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	dir := t.TempDir()
	manifest := `{"artifacts":{"Shop-dev-a-Api":{"type":"aws:cloudformation:stack","environment":"aws://unknown-account/unknown-region","properties":{"templateFile":"t.json","tags":{"stage":"dev-a"}}}}}`
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t.json"), []byte(`{"Resources":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run(context.Background(), &out, dir, "dev-a"); code != 1 || strings.Count(out.String(), "\n") != 1 || !strings.Contains(out.String(), "no AWS credentials") {
		t.Errorf("exit %d, output %q", code, out.String())
	}
}
