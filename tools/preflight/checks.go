package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Result is one check's answer: what was found and, when it failed, the
// exact fix.
type Result struct {
	Check string
	OK    bool
	Found string
	Fix   string
}

// Account is the AWS side of the checks: the SDK configuration of the
// credentials (their account and default region), and a configuration per
// region. Tests hand it canned HTTP responses.
type Account struct {
	ID     string // the credentials' account
	Region string // the credentials' default region
	Config func(region string) aws.Config
}

// UnreservedFloor is the concurrency Lambda keeps unreserved in every
// account (AWS Lambda Developer Guide, "Configuring reserved concurrency").
const UnreservedFloor = 100

// Documented defaults where Service Quotas lists no applied value (AWS
// General Reference, "Amazon ElastiCache endpoints and quotas" and "Amazon
// CloudFront endpoints and quotas").
// Users per user group and roles per account: ElastiCache's quota page and
// the IAM User Guide, "IAM and AWS STS quotas".
const (
	defaultServerlessCaches = 40
	defaultOriginAccess     = 100
	defaultUsersPerGroup    = 100
	defaultRoles            = 1000
)

// Run runs every check of p against a, in a fixed order.
func Run(ctx context.Context, p Plan, a Account) []Result {
	out := []Result{stageName(p)}
	out = append(out, bootstraps(ctx, p, a)...)
	out = append(out, concurrency(ctx, p, a))
	if len(p.Caches) > 0 {
		out = append(out, serverlessCaches(ctx, p, a))
	}
	if p.OriginAccessControls > 0 {
		out = append(out, originAccessControls(ctx, p, a))
	}
	for _, region := range p.LoggedApiRegions {
		out = append(out, apiGatewayLogRole(ctx, a, region))
	}
	for _, m := range p.CacheMemberships {
		out = append(out, cacheUserGroup(ctx, p, a, m))
	}
	if p.Roles > 0 {
		out = append(out, roles(ctx, p, a))
	}
	if p.Prod {
		out = append(out, alarmSubscriber(p))
		out = append(out, emailSender(ctx, p, a)...)
	}
	return out
}

func stageName(p Plan) Result {
	r := Result{Check: "stage name", OK: true, Found: p.Stage}
	if err := contract.ValidStageName(p.Stage); err != nil {
		r.OK, r.Found, r.Fix = false, err.Error(), "pick a name such as dev-alice or pr-42"
	}
	return r
}

// regionOf is where s goes: its pinned region, else the credentials'.
func regionOf(s Stack, a Account) string {
	if s.Region != "" {
		return s.Region
	}
	return a.Region
}

// bootstraps: every account and region a stack targets has a CDK bootstrap
// of at least the version its stacks need (prod's Edge stack is in
// us-east-1, which a bootstrap of the stage's region does not cover).
func bootstraps(ctx context.Context, p Plan, a Account) []Result {
	type target struct{ region, param string }
	need := map[target]int{}
	var order []target
	for _, s := range p.Stacks {
		t := target{regionOf(s, a), s.BootstrapParameter}
		if _, ok := need[t]; !ok {
			order = append(order, t)
		}
		need[t] = max(need[t], s.BootstrapVersion)
	}
	var out []Result
	for _, t := range order {
		r := Result{Check: "CDK bootstrap in " + t.region}
		fix := fmt.Sprintf("npx cdk bootstrap aws://%s/%s", a.ID, t.region)
		v, err := ssm.NewFromConfig(a.Config(t.region)).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(t.param)})
		switch {
		case isNotFound(err):
			r.Found, r.Fix = "none ("+t.param+" does not exist)", fix
		case err != nil:
			r.Found, r.Fix = denied(err, "ssm:GetParameter on "+t.param)
		default:
			n, _ := strconv.Atoi(aws.ToString(v.Parameter.Value))
			r.OK = n >= need[t]
			r.Found = fmt.Sprintf("version %d, the stacks need %d", n, need[t])
			if !r.OK {
				r.Fix = fix + " (upgrades it)"
			}
		}
		out = append(out, r)
	}
	return out
}

// concurrency: the account's Lambda limit covers the stage's reservations
// and the unreserved floor Lambda keeps.
func concurrency(ctx context.Context, p Plan, a Account) Result {
	r := Result{Check: "Lambda concurrency"}
	region := regionOf(Stack{Region: p.ReservedRegion}, a)
	s, err := lambda.NewFromConfig(a.Config(region)).GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		r.Found, r.Fix = denied(err, "lambda:GetAccountSettings")
		return r
	}
	limit := int(s.AccountLimit.ConcurrentExecutions)
	want := p.Reserved + UnreservedFloor
	r.OK = p.Reserved == 0 || limit >= want
	r.Found = fmt.Sprintf("account limit %d in %s; the stage reserves %d, and Lambda keeps %d unreserved", limit, region, p.Reserved, UnreservedFloor)
	if !r.OK {
		r.Fix = fmt.Sprintf("aws service-quotas request-service-quota-increase --region %s --service-code lambda --quota-code L-B99A9384 --desired-value %d", region, want)
	}
	return r
}

// serverlessCaches: room in the region for the stage's caches that do not
// exist yet.
func serverlessCaches(ctx context.Context, p Plan, a Account) Result {
	region := regionOf(p.Stacks[0], a)
	r := Result{Check: "ElastiCache serverless caches in " + region}
	cfg := a.Config(region)
	var existing []string
	pages := elasticache.NewDescribeServerlessCachesPaginator(elasticache.NewFromConfig(cfg), &elasticache.DescribeServerlessCachesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			r.Found, r.Fix = denied(err, "elasticache:DescribeServerlessCaches")
			return r
		}
		for _, c := range page.ServerlessCaches {
			existing = append(existing, aws.ToString(c.ServerlessCacheName))
		}
	}
	added := 0
	for _, c := range p.Caches {
		if !slices.Contains(existing, c) {
			added++
		}
	}
	quota, source, err := quotaNamed(ctx, cfg, "elasticache", "serverless cache", defaultServerlessCaches)
	if err != nil {
		r.Found, r.Fix = denied(err, "servicequotas:ListServiceQuotas")
		return r
	}
	r.OK = len(existing)+added <= quota
	r.Found = fmt.Sprintf("%d of %d (%s); the stage adds %d", len(existing), quota, source, added)
	if !r.OK {
		r.Fix = fmt.Sprintf("delete unused caches (make stages lists the stages), or request more in the Service Quotas console (ElastiCache, %q) in %s", "Serverless caches", region)
	}
	return r
}

// originAccessControls: room in the account (CloudFront is global) for the
// stage's origin access controls.
func originAccessControls(ctx context.Context, p Plan, a Account) Result {
	r := Result{Check: "CloudFront origin access controls"}
	cfg := a.Config("us-east-1")
	n := 0
	client := cloudfront.NewFromConfig(cfg)
	in := &cloudfront.ListOriginAccessControlsInput{}
	for {
		out, err := client.ListOriginAccessControls(ctx, in)
		if err != nil {
			r.Found, r.Fix = denied(err, "cloudfront:ListOriginAccessControls")
			return r
		}
		n += len(out.OriginAccessControlList.Items)
		if out.OriginAccessControlList.NextMarker == nil {
			break
		}
		in.Marker = out.OriginAccessControlList.NextMarker
	}
	quota, source, err := quotaNamed(ctx, cfg, "cloudfront", "origin access control", defaultOriginAccess)
	if err != nil {
		r.Found, r.Fix = denied(err, "servicequotas:ListServiceQuotas")
		return r
	}
	r.OK = n+p.OriginAccessControls <= quota
	r.Found = fmt.Sprintf("%d of %d (%s); the stage adds %d", n, quota, source, p.OriginAccessControls)
	if !r.OK {
		r.Fix = "delete unused origin access controls, or request more in the Service Quotas console (CloudFront, \"Origin access controls per account\")"
	}
	return r
}

// usersPerGroupMargin is the room the check keeps free in the shared group:
// it passes a new stage only while the group stays that far below its
// quota. Check-then-act cannot stop two stages that pass together from
// deploying together (issue 38: at 98 of 100, two stages both pass and the
// later is refused with UserGroupQuotaExceeded); the margin lets several
// stages that deploy at once all fit.
const usersPerGroupMargin = 5

// cacheUserGroup: the shared cache's user group exists (make account-deploy
// made it) and has room for the stage's user, below the quota by
// usersPerGroupMargin, or holds it already. A group holds 100 users, the
// default user among them (issue 23; docs/stages.md).
func cacheUserGroup(ctx context.Context, p Plan, a Account, m CacheMembership) Result {
	region := regionOf(p.Stacks[0], a)
	r := Result{Check: "cache user group " + m.Group + " in " + region}
	cfg := a.Config(region)
	out, err := elasticache.NewFromConfig(cfg).DescribeUserGroups(ctx, &elasticache.DescribeUserGroupsInput{UserGroupId: aws.String(m.Group)})
	var missing *ectypes.UserGroupNotFoundFault
	switch {
	case errors.As(err, &missing):
		r.Found, r.Fix = "no such user group", "make account-deploy (Shop-Account holds the development stages' shared cache and its group)"
		return r
	case err != nil:
		r.Found, r.Fix = denied(err, "elasticache:DescribeUserGroups")
		return r
	case len(out.UserGroups) == 0:
		r.Found, r.Fix = "no such user group", "make account-deploy (Shop-Account holds the development stages' shared cache and its group)"
		return r
	}
	users := out.UserGroups[0].UserIds
	quota, source, err := quotaNamed(ctx, cfg, "elasticache", "users per user group", defaultUsersPerGroup)
	if err != nil {
		r.Found, r.Fix = denied(err, "servicequotas:ListServiceQuotas")
		return r
	}
	member := slices.Contains(users, m.User)
	r.OK = member || len(users)+1 <= quota-usersPerGroupMargin
	r.Found = fmt.Sprintf("%d of %d users (%s; a new stage passes up to %d, leaving room for stages deploying at once); %s is a member: %v",
		len(users), quota, source, quota-usersPerGroupMargin, m.User, member)
	if !r.OK {
		r.Fix = "make destroy the development stages no one uses (make stages lists them), or give the account a second shared cache (docs/stages.md, \"When the shared cache is full\")"
	}
	return r
}

// roles: room in the account's IAM roles (a quota of the account, every
// region) for the roles the stage adds; a stage already deployed has its
// roles, named after its stacks.
func roles(ctx context.Context, p Plan, a Account) Result {
	r := Result{Check: "IAM roles"}
	cfg := a.Config("us-east-1")
	total, ours := 0, 0
	pages := iam.NewListRolesPaginator(iam.NewFromConfig(cfg), &iam.ListRolesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			r.Found, r.Fix = denied(err, "iam:ListRoles")
			return r
		}
		for _, role := range page.Roles {
			total++
			for _, s := range p.Stacks {
				if strings.HasPrefix(aws.ToString(role.RoleName), s.Name+"-") {
					ours++
					break
				}
			}
		}
	}
	quota, source, err := quotaNamed(ctx, cfg, "iam", "roles per account", defaultRoles)
	if err != nil {
		r.Found, r.Fix = denied(err, "servicequotas:ListServiceQuotas")
		return r
	}
	added := max(p.Roles-ours, 0)
	r.OK = total+added <= quota
	r.Found = fmt.Sprintf("%d of %d (%s); the stage adds %d", total, quota, source, added)
	if !r.OK {
		r.Fix = fmt.Sprintf("make destroy the development stages no one uses, or aws service-quotas request-service-quota-increase --region us-east-1 --service-code iam --quota-code L-FE177D64 --desired-value %d", total+added+100*p.Roles)
	}
	return r
}

// quotaNamed is the applied value of the service's quota whose name holds
// name, or fallback (the documented default) when Service Quotas lists
// none.
func quotaNamed(ctx context.Context, cfg aws.Config, service, name string, fallback int) (int, string, error) {
	pages := servicequotas.NewListServiceQuotasPaginator(servicequotas.NewFromConfig(cfg), &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String(service)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, "", err
		}
		for _, q := range page.Quotas {
			if strings.Contains(strings.ToLower(aws.ToString(q.QuotaName)), name) && q.Value != nil {
				return int(*q.Value), "quota " + aws.ToString(q.QuotaCode), nil
			}
		}
	}
	return fallback, "the documented default", nil
}

// alarmSubscriber: prod's alarms reach someone.
func alarmSubscriber(p Plan) Result {
	r := Result{Check: "alarm subscriber", OK: p.AlarmSubscribers > 0, Found: fmt.Sprintf("%d subscriptions to the alarm topic", p.AlarmSubscribers)}
	if !r.OK {
		r.Fix = `set "monitoring": {"alarmEmail": "..."} in prod's profile in cdk.json, then make synth STAGE=prod`
	}
	return r
}

// emailSender: prod's pools send through SES, from an identity verified in
// the region Cognito uses, not Cognito's default sender (about 50 mails a
// day).
func emailSender(ctx context.Context, p Plan, a Account) []Result {
	if len(p.EmailIdentities) == 0 {
		return []Result{{Check: "user pool e-mail", Found: "Cognito's default sender (about 50 e-mails a day)",
			Fix: `verify a domain or address in SES and set "emailFrom" (and "emailDomain" for a domain, "sesRegion" when it is another region) in prod's profile`}}
	}
	var out []Result
	for _, id := range p.EmailIdentities {
		r := Result{Check: "SES identity " + id.Identity + " in " + id.Region}
		got, err := sesv2.NewFromConfig(a.Config(id.Region)).GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(id.Identity)})
		switch {
		case isNotFound(err):
			r.Found, r.Fix = "not an identity of this account", "aws sesv2 create-email-identity --region "+id.Region+" --email-identity "+id.Identity+", then publish its DKIM records"
		case err != nil:
			r.Found, r.Fix = denied(err, "ses:GetEmailIdentity")
		default:
			r.OK = got.VerifiedForSendingStatus
			r.Found = fmt.Sprintf("verified for sending: %v", got.VerifiedForSendingStatus)
			if !r.OK {
				r.Fix = "finish verifying it (the DKIM records, or the link sent to the address); a sandboxed account also reaches only verified recipients: request production access in the SES console"
			}
		}
		out = append(out, r)
	}
	return out
}

// denied describes a call that failed: the API's own error code, and the
// permission the preflight needs.
func denied(err error, action string) (string, string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return "could not check: " + ae.ErrorCode(), "let the deploying principal call " + action + " (read-only), or check by hand"
	}
	return "could not check: " + err.Error(), "check the network and credentials, then run make preflight again"
}

func isNotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ParameterNotFound", "NotFoundException":
		return true
	}
	return false
}

// apiGatewayLogRole: a REST API stage with access logs cannot be created
// while the account has no API Gateway CloudWatch role in that region
// ("CloudWatch Logs role ARN must be set in account settings to enable
// logging": API Gateway Developer Guide, "Set up CloudWatch logging for
// REST APIs"). Shop-Account sets it.
func apiGatewayLogRole(ctx context.Context, a Account, region string) Result {
	region = regionOf(Stack{Region: region}, a)
	r := Result{Check: "API Gateway CloudWatch role in " + region}
	acct, err := apigateway.NewFromConfig(a.Config(region)).GetAccount(ctx, &apigateway.GetAccountInput{})
	if err != nil {
		r.Found, r.Fix = denied(err, "apigateway:GET /account")
		return r
	}
	role := aws.ToString(acct.CloudwatchRoleArn)
	r.OK = role != ""
	r.Found = "account setting cloudwatchRoleArn: " + role
	if !r.OK {
		r.Found = "the account has no API Gateway CloudWatch role: the stage's access logs would fail its first deploy"
		r.Fix = "make account-deploy (Shop-Account sets it), in " + region
	}
	return r
}
