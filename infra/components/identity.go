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
}

// Identity is sign-in for the shop: a Cognito user pool (email sign-in, strong
// passwords, optional TOTP MFA), a public app client for SRP sign-in from
// browsers and apps, and the admin group.
type Identity interface {
	constructs.Construct
	UserPool() awscognito.UserPool
	Client() awscognito.UserPoolClient
}

type identity struct {
	constructs.Construct
	pool   awscognito.UserPool
	client awscognito.UserPoolClient
}

const plusReason = "Threat protection needs the Plus feature plan, priced per monthly active user; the Essentials plan is the default and a stage opts in when its traffic justifies it"

// NewIdentity defines the user pool, its client and the admin group.
func NewIdentity(scope constructs.Construct, id string, props IdentityProps) Identity {
	this := constructs.NewConstruct(scope, &id)
	pool := awscognito.NewUserPool(this, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email:    &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
			Fullname: &awscognito.StandardAttribute{Required: jsii.Bool(false), Mutable: jsii.Bool(true)},
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(12), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                awscognito.Mfa_OPTIONAL,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:        awscognito.FeaturePlan_ESSENTIALS,
		DeletionProtection: jsii.Bool(props.Prod),
		RemovalPolicy:      StatefulRemoval(props.Prod),
	})
	client := pool.AddClient(jsii.String("App"), &awscognito.UserPoolClientOptions{
		GenerateSecret:             jsii.Bool(false), // a browser or mobile app cannot keep a secret
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		DisableOAuth:               jsii.Bool(true),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
	})
	awscognito.NewUserPoolGroup(this, jsii.String("Admins"), &awscognito.UserPoolGroupProps{
		UserPool:    pool,
		GroupName:   jsii.String(contract.AdminGroup),
		Description: jsii.String("May create, change and delete products and upload their images"),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(pool, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-COG2"), Reason: jsii.String("MFA is optional (TOTP) so that shoppers can sign up without an authenticator; admins are expected to enrol, which the team enforces by process")},
		{Id: jsii.String("AwsSolutions-COG3"), Reason: jsii.String(plusReason)},
		{Id: jsii.String("AwsSolutions-COG8"), Reason: jsii.String(plusReason)},
	}, jsii.Bool(false))
	return &identity{Construct: this, pool: pool, client: client}
}

func (i *identity) UserPool() awscognito.UserPool     { return i.pool }
func (i *identity) Client() awscognito.UserPoolClient { return i.client }
