package components

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// IdentityProps configure sign-in.
type IdentityProps struct {
	Prod bool
	// ThreatProtection turns on Cognito's threat protection (the Plus plan,
	// priced per monthly active user) on the customer pool; the staff pool
	// always has it.
	ThreatProtection bool
	// EmailFrom, when set, sends the pools' mail through SES from this
	// verified address instead of Cognito's default sender (about 50 mails
	// a day, for trials only).
	EmailFrom string
	// EmailDomain is the SES identity when it is EmailFrom's domain rather
	// than the address itself: Cognito's SourceArn must name the identity
	// that is verified, and the pool fails to create otherwise.
	EmailDomain string
	// AdminSignIn lets the app clients sign users in with the admin API and
	// a password (ALLOW_ADMIN_USER_PASSWORD_AUTH): what make smoke does with
	// throwaway users in a development or preview stage. Never in prod, where
	// only SRP signs in.
	AdminSignIn bool
	// StaffThreatsAuditOnly: the staff pool's threat protection only logs
	// (a preview, whose sign-ins come from CI runners); otherwise it blocks.
	StaffThreatsAuditOnly bool
	// SesRegion is where that identity is verified; empty means the stack's.
	// Cognito sends from the pool's region, or a region it pairs with it
	// (Amazon Cognito Developer Guide, "Email settings for user pools").
	SesRegion string
}

// Identity is sign-in for the shop: a customer pool (self sign-up by email,
// strong passwords, optional TOTP) with a public app client, and a staff
// pool for administrators (no self sign-up, TOTP required, threat
// protection) with its own client and the admin group. Catalogue writes and
// image uploads accept only staff tokens.
type Identity interface {
	constructs.Construct
	UserPool() awscognito.UserPool
	Client() awscognito.UserPoolClient
	StaffPool() awscognito.UserPool
	StaffClient() awscognito.UserPoolClient
	// PaymentsClient is the payment integration's confidential client: it
	// gets client-credentials access tokens with the scope that confirms
	// orders, from the customer pool's token endpoint.
	PaymentsClient() awscognito.UserPoolClient
	// TokenURL is the customer pool's OAuth 2.0 token endpoint (the payment
	// integration's client credentials).
	TokenURL() *string
}

type identity struct {
	constructs.Construct
	pool, staff                   awscognito.UserPool
	client, staffClient, payments awscognito.UserPoolClient
	tokenURL                      *string
}

const plusReason = "Threat protection needs the Plus feature plan, priced per monthly active user: on in prod (stage profile threatProtection), off in development stages"

// NewIdentity defines both pools, their clients and the admin group.
func NewIdentity(scope constructs.Construct, id string, props IdentityProps) Identity {
	this := constructs.NewConstruct(scope, &id)
	var email awscognito.UserPoolEmail
	if props.EmailFrom != "" {
		opts := &awscognito.UserPoolSESOptions{FromEmail: jsii.String(props.EmailFrom)}
		if props.EmailDomain != "" {
			opts.SesVerifiedDomain = jsii.String(props.EmailDomain)
		}
		if props.SesRegion != "" {
			opts.SesRegion = jsii.String(props.SesRegion)
		}
		email = awscognito.UserPoolEmail_WithSES(opts)
	}
	plan, threats := awscognito.FeaturePlan_ESSENTIALS, awscognito.StandardThreatProtectionMode_NO_ENFORCEMENT
	if props.ThreatProtection {
		plan, threats = awscognito.FeaturePlan_PLUS, awscognito.StandardThreatProtectionMode_FULL_FUNCTION
	}
	pool := awscognito.NewUserPool(this, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		// A changed email takes effect only once verified; until then the
		// old one stays, and tokens carry email_verified for the new state.
		KeepOriginal: &awscognito.KeepOriginalAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email:    &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
			Fullname: &awscognito.StandardAttribute{Required: jsii.Bool(false), Mutable: jsii.Bool(true)},
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(12), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                          awscognito.Mfa_OPTIONAL,
		MfaSecondFactor:              &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:              awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:                  plan,
		StandardThreatProtectionMode: threats,
		Email:                        email,
		DeletionProtection:           jsii.Bool(props.Prod),
		RemovalPolicy:                StatefulRemoval(props.Prod),
	})
	client := pool.AddClient(jsii.String("App"), appClient(props.AdminSignIn))
	staff := awscognito.NewUserPool(this, jsii.String("Staff"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(false), // administrators are invited
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		KeepOriginal:      &awscognito.KeepOriginalAttrs{Email: jsii.Bool(true)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(14), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(1)),
		},
		Mfa:                          awscognito.Mfa_REQUIRED,
		MfaSecondFactor:              &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:              awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:                  awscognito.FeaturePlan_PLUS,
		StandardThreatProtectionMode: staffThreats(props.StaffThreatsAuditOnly),
		Email:                        email,
		DeletionProtection:           jsii.Bool(props.Prod),
		RemovalPolicy:                StatefulRemoval(props.Prod),
	})
	staffClient := staff.AddClient(jsii.String("Console"), appClient(props.AdminSignIn))
	confirm := awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
		ScopeName: jsii.String(contract.ConfirmScope), ScopeDescription: jsii.String("Confirm the payment of a pending order"),
	})
	server := pool.AddResourceServer(jsii.String("Shop"), &awscognito.UserPoolResourceServerOptions{
		Identifier: jsii.String(contract.ResourceServer), Scopes: &[]awscognito.ResourceServerScope{confirm},
	})
	payments := pool.AddClient(jsii.String("Payments"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(true), // a server, which keeps its secret
		OAuth: &awscognito.OAuthSettings{
			Flows:  &awscognito.OAuthFlows{ClientCredentials: jsii.Bool(true)},
			Scopes: &[]awscognito.OAuthScope{awscognito.OAuthScope_ResourceServer(server, confirm)},
		},
		AccessTokenValidity:   awscdk.Duration_Minutes(jsii.Number(60)),
		EnableTokenRevocation: jsii.Bool(true),
	})
	// The token endpoint: a Cognito domain named after the stack, unique in
	// the region.
	domain := pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{CognitoDomain: &awscognito.CognitoDomainOptions{
		DomainPrefix: awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String("shop"),
			awscdk.Fn_Select(jsii.Number(0), awscdk.Fn_Split(jsii.String("-"), awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil)), nil))}),
	}})
	awscognito.NewUserPoolGroup(this, jsii.String("Admins"), &awscognito.UserPoolGroupProps{
		UserPool:    staff,
		GroupName:   jsii.String(contract.AdminGroup),
		Description: jsii.String("May create, change and delete products and upload their images"),
	})
	customerSuppressions := []*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-COG2"), Reason: jsii.String("Shoppers may enrol in TOTP but need not; administrators sign in to the staff pool, where MFA is required")},
	}
	if !props.ThreatProtection {
		customerSuppressions = append(customerSuppressions,
			&cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-COG3"), Reason: jsii.String(plusReason)},
			&cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-COG8"), Reason: jsii.String(plusReason)})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(pool, &customerSuppressions, jsii.Bool(false))
	return &identity{Construct: this, pool: pool, client: client, staff: staff, staffClient: staffClient, payments: payments,
		tokenURL: awscdk.Fn_Join(jsii.String(""), &[]*string{domain.BaseUrl(nil), jsii.String("/oauth2/token")})}
}

func staffThreats(auditOnly bool) awscognito.StandardThreatProtectionMode {
	if auditOnly {
		return awscognito.StandardThreatProtectionMode_AUDIT_ONLY
	}
	return awscognito.StandardThreatProtectionMode_FULL_FUNCTION
}

// appClient is a public client for SRP sign-in from a browser or an app;
// admin adds the admin API's password sign-in (make smoke's throwaway users).
func appClient(admin bool) *awscognito.UserPoolClientOptions {
	return &awscognito.UserPoolClientOptions{
		GenerateSecret:             jsii.Bool(false), // a browser or mobile app cannot keep a secret
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true), AdminUserPassword: jsii.Bool(admin)},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		DisableOAuth:               jsii.Bool(true),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
	}
}

func (i *identity) UserPool() awscognito.UserPool          { return i.pool }
func (i *identity) Client() awscognito.UserPoolClient      { return i.client }
func (i *identity) StaffPool() awscognito.UserPool         { return i.staff }
func (i *identity) StaffClient() awscognito.UserPoolClient { return i.staffClient }

func (i *identity) PaymentsClient() awscognito.UserPoolClient { return i.payments }
func (i *identity) TokenURL() *string                         { return i.tokenURL }
