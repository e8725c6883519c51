package components

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// A pool that sends through SES names, as its SourceArn, the identity that
// is verified: the domain when only the domain is, in the region it is
// verified in. Cognito refuses a SourceArn whose identity is not verified,
// and the pool fails to create (Amazon Cognito Developer Guide, "Email
// settings for Amazon Cognito user pools").
func TestIdentitySendsFromTheVerifiedIdentity(t *testing.T) {
	dir := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir)})
	stack := awscdk.NewStack(app, jsii.String("Identity"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-central-1")}})
	NewIdentity(stack, "Identity", IdentityProps{EmailFrom: "no-reply@shop.example.com", EmailDomain: "shop.example.com", SesRegion: "eu-west-1"})
	app.Synth(nil)
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	raw := mustRead(t, filepath.Join(dir, "Identity.template.json"))
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	pools := 0
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Cognito::UserPool" {
			continue
		}
		pools++
		cfg, _ := json.Marshal(r.Properties["EmailConfiguration"])
		for _, want := range []string{`"EmailSendingAccount":"DEVELOPER"`, `"From":"no-reply@shop.example.com"`, `:ses:eu-west-1:`, `:identity/shop.example.com"`} {
			if !strings.Contains(string(cfg), want) {
				t.Errorf("%s: email configuration %s lacks %s", id, cfg, want)
			}
		}
	}
	if pools != 2 {
		t.Errorf("%d pools, want the customers' and the staff's", pools)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
