// Package stacks composes the shop's constructs into stacks, one stateful (data
// and identity, kept in prod) and one stateless (functions and the API,
// replaceable at will). Stacks only compose; configuration arrives as props.
package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
)

// DataStack holds what must outlive a deployment: tables, the user pool and the
// secret that signs page cursors.
type DataStack struct {
	awscdk.Stack
	Products components.ProductsTable
	Orders   components.OrderTables
	Identity components.Identity
	// CursorSecret seals page tokens: the stage's own in prod, the account's
	// shared one in a development stage (DevCursorSecretExport).
	CursorSecret awssecretsmanager.ISecret
	// OriginSecrets, with the edge profile, by slot: the values CloudFront
	// adds to every request it forwards to the API, which the API's regional
	// web ACL requires.
	OriginSecrets map[string]awssecretsmanager.Secret
	// EventBus is the stage's own bus of order events; nil for a development
	// stage, which publishes to the account's (DevEventBusExports).
	EventBus awsevents.EventBus
}

// NewDataStack defines the stateful stack of stage.
func NewDataStack(scope constructs.Construct, id string, props *awscdk.StackProps, stage config.Stage) *DataStack {
	stack := awscdk.NewStack(scope, &id, props)
	s := &DataStack{Stack: stack}
	s.Products = components.NewProductsTable(stack, "Products", components.TableProps{Prod: stage.Prod})
	s.Orders = components.NewOrderTables(stack, "Checkout", components.TableProps{Prod: stage.Prod})
	s.Identity = components.NewIdentity(stack, "Identity", components.IdentityProps{
		Prod: stage.Prod, ThreatProtection: stage.ThreatProtection, EmailFrom: stage.EmailFrom, EmailDomain: stage.EmailDomain, SesRegion: stage.SesRegion,
		AdminSignIn: !stage.Prod, StaffThreatsAuditOnly: stage.StaffThreatsAuditOnly,
	})
	if stage.OwnNetwork {
		s.CursorSecret = generatedSecret(stack, "CursorSecret", "Signs list cursors so that clients cannot forge them", 64, stage.Prod,
			"The key only authenticates page cursors; rotating it would just invalidate open cursors, and a redeploy with a replaced secret does that when wanted")
	} else {
		s.CursorSecret = awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("CursorSecret"), awscdk.Fn_ImportValue(jsii.String(DevCursorSecretExport)))
	}
	if stage.Edge != nil {
		// Two slots of origin-verification values (config.OriginSlots):
		// one is sent while the other is replaced (config.NextOriginStep).
		s.OriginSecrets = map[string]awssecretsmanager.Secret{}
		for _, slot := range config.OriginSlots {
			id := "OriginSecret" // slot a keeps the id the one secret had
			if slot != config.OriginSlots[0] {
				id += strings.ToUpper(slot)
			}
			s.OriginSecrets[slot] = generatedSecret(stack, id, "X-Origin-Verify, slot "+slot+": proves a request to the API came through its CDN (docs/design.md, The edge)", 48, stage.Prod,
				"Rotated in three deploys (config.NextOriginStep), since CloudFront and the web ACL read it at deploy time; a rotation Lambda cannot order them")
		}
	}
	if stage.OwnNetwork {
		// The stage's own event bus, which other systems' rules attach to:
		// kept with the data. Development stages share the account's.
		s.EventBus = awsevents.NewEventBus(stack, jsii.String("OrderEvents"), &awsevents.EventBusProps{
			Description: jsii.String("Order events of stage " + stage.Name + ": order.placed, .confirmed, .cancelled, .expired (docs/asyncapi.json)"),
		})
		s.EventBus.ApplyRemovalPolicy(components.StatefulRemoval(stage.Prod))
	}
	return s
}

// generatedSecret is a random alphanumeric value of length characters that
// Secrets Manager generates at creation; rotation is the caller's reason.
func generatedSecret(stack awscdk.Stack, id, description string, length float64, prod bool, rotation string) awssecretsmanager.Secret {
	secret := awssecretsmanager.NewSecret(stack, jsii.String(id), &awssecretsmanager.SecretProps{
		Description: jsii.String(description),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(length), ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: components.StatefulRemoval(prod),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(secret, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SMG4"), Reason: jsii.String(rotation),
	}}, jsii.Bool(false))
	return secret
}
