package stacks

import (
	"fmt"
	"strings"
	"testing"
)

// table finds the table of stack whose keys are keySchema.
func table(t *testing.T, stack, keySchema string) map[string]any {
	t.Helper()
	for _, r := range ofType(stack, "AWS::DynamoDB::Table") {
		if js(r.Properties["KeySchema"]) == keySchema {
			return r.Properties
		}
	}
	t.Fatalf("%s: no table with keys %s", stack, keySchema)
	return nil
}

const (
	productKeys  = `[{"AttributeName":"product_id","KeyType":"HASH"}]`
	orderKeys    = `[{"AttributeName":"user_id","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]`
	customerKeys = `[{"AttributeName":"user_id","KeyType":"HASH"}]`
)

// Orders: a user's partition, sorted by sk; idempotency records expire by
// TTL; the sparse index of pending orders by the end of their hold, keys only.
func TestOrderTables(t *testing.T) {
	o := table(t, "Shop-dev-test-Data", orderKeys)
	if js(o["TimeToLiveSpecification"]) != `{"AttributeName":"expires_at","Enabled":true}` {
		t.Errorf("orders TTL = %s", js(o["TimeToLiveSpecification"]))
	}
	want := `[{"IndexName":"pending-by-expiry","KeySchema":[{"AttributeName":"pending","KeyType":"HASH"},{"AttributeName":"hold_ms","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]`
	if js(o["GlobalSecondaryIndexes"]) != want {
		t.Errorf("orders indexes = %s, want the sparse pending index", js(o["GlobalSecondaryIndexes"]))
	}
	if !strings.Contains(js(o["AttributeDefinitions"]), `{"AttributeName":"hold_ms","AttributeType":"N"}`) {
		t.Errorf("hold_ms is not a number key: %s", js(o["AttributeDefinitions"]))
	}
	table(t, "Shop-dev-test-Data", customerKeys)
}

func TestProductsTable(t *testing.T) {
	p := table(t, "Shop-dev-test-Data", productKeys)
	checks := []struct {
		name string
		got  any
		want string
	}{
		{"partition key", p["KeySchema"], `[{"AttributeName":"product_id","KeyType":"HASH"}]`},
		{"on demand", p["BillingMode"], `"PAY_PER_REQUEST"`},
		{"point-in-time recovery", get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"), `true`},
		{"encryption", p["SSESpecification"], `{"SSEEnabled":true}`},
		{"category index name", get(p, "GlobalSecondaryIndexes", 0, "IndexName"), `"by-category"`},
		{"category index keys", get(p, "GlobalSecondaryIndexes", 0, "KeySchema"), `[{"AttributeName":"category","KeyType":"HASH"},{"AttributeName":"product_id","KeyType":"RANGE"}]`},
	}
	for _, c := range checks {
		if js(c.got) != c.want {
			t.Errorf("%s = %s, want %s", c.name, js(c.got), c.want)
		}
	}
}

// poolNamed returns the user pool of stack whose logical id starts with prefix.
func poolNamed(t *testing.T, stack, prefix string) (string, map[string]any) {
	t.Helper()
	for id, r := range ofType(stack, "AWS::Cognito::UserPool") {
		if strings.HasPrefix(id, prefix) {
			return id, r.Properties
		}
	}
	t.Fatalf("%s: no user pool %s*", stack, prefix)
	return "", nil
}

// Customers sign up themselves, with optional TOTP; a changed email counts
// only once verified (keepOriginal). Administrators are invited to the staff
// pool, where TOTP is required and threat protection on; the admin group
// exists there only. Threat protection on the customer pool in prod.
func TestUserPools(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Data"
		_, p := poolNamed(t, stack, "IdentityUsers")
		if js(get(p, "Policies", "PasswordPolicy", "MinimumLength")) != "12" || js(p["UsernameAttributes"]) != `["email"]` ||
			js(get(p, "AdminCreateUserConfig", "AllowAdminCreateUserOnly")) != "false" || p["MfaConfiguration"] != "OPTIONAL" ||
			js(p["UserAttributeUpdateSettings"]) != `{"AttributesRequireVerificationBeforeUpdate":["email"]}` {
			t.Errorf("%s: customer pool = %s", stack, js(p))
		}
		wantMode := map[string]string{"dev-test": "AUDIT", "prod": "ENFORCED"}[stage]
		if got := fmt.Sprint(get(p, "UserPoolAddOns", "AdvancedSecurityMode")); wantMode == "ENFORCED" && got != "ENFORCED" || wantMode == "AUDIT" && got == "ENFORCED" {
			t.Errorf("%s: customer threat protection %s", stack, got)
		}
		staffID, sp := poolNamed(t, stack, "IdentityStaff")
		if sp["MfaConfiguration"] != "ON" || js(sp["EnabledMfas"]) != `["SOFTWARE_TOKEN_MFA"]` ||
			js(get(sp, "AdminCreateUserConfig", "AllowAdminCreateUserOnly")) != "true" ||
			fmt.Sprint(get(sp, "UserPoolAddOns", "AdvancedSecurityMode")) != "ENFORCED" ||
			js(sp["UserAttributeUpdateSettings"]) != `{"AttributesRequireVerificationBeforeUpdate":["email"]}` {
			t.Errorf("%s: staff pool = %s", stack, js(sp))
		}
		g := only(t, stack, "AWS::Cognito::UserPoolGroup").Properties
		if g["GroupName"] != "admin" || js(g["UserPoolId"]) != `{"Ref":"`+staffID+`"}` {
			t.Errorf("%s: admin group = %s, want it in the staff pool", stack, js(g))
		}
		for id, c := range ofType(stack, "AWS::Cognito::UserPoolClient") {
			if strings.HasPrefix(id, "IdentityUsersPayments") {
				// The payment integration: a confidential client, client credentials only, the confirm scope only.
				p := c.Properties
				if p["GenerateSecret"] != true || js(p["AllowedOAuthFlows"]) != `["client_credentials"]` ||
					!strings.Contains(js(p["AllowedOAuthScopes"]), `"/orders.confirm"`) || len(p["AllowedOAuthScopes"].([]any)) != 1 {
					t.Errorf("%s/%s: payments client = %s", stack, id, js(p))
				}
				continue
			}
			flows := map[bool]string{true: `["ALLOW_USER_SRP_AUTH","ALLOW_REFRESH_TOKEN_AUTH"]`,
				false: `["ALLOW_ADMIN_USER_PASSWORD_AUTH","ALLOW_USER_SRP_AUTH","ALLOW_REFRESH_TOKEN_AUTH"]`}[stage == "prod"] // make smoke: TestAdminSignInOutsideProdOnly
			if c.Properties["GenerateSecret"] != false || js(c.Properties["ExplicitAuthFlows"]) != flows ||
				c.Properties["PreventUserExistenceErrors"] != "ENABLED" {
				t.Errorf("%s/%s: client = %s", stack, id, js(c.Properties))
			}
		}
	}
}

// The admin API's password sign-in (make smoke's throwaway users) is on the
// app clients of development stages only; prod signs in with SRP alone, and
// its staff pool's threat protection blocks (a preview's only logs).
func TestAdminSignInOutsideProdOnly(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Data"
		for id, c := range ofType(stack, "AWS::Cognito::UserPoolClient") {
			flows := js(c.Properties["ExplicitAuthFlows"])
			if strings.Contains(id, "Payments") {
				if c.Properties["ExplicitAuthFlows"] != nil {
					t.Errorf("%s/%s: the payments client signs users in: %s", stack, id, flows)
				}
				continue
			}
			if got := strings.Contains(flows, "ALLOW_ADMIN_USER_PASSWORD_AUTH"); got != (stage != "prod") || !strings.Contains(flows, "ALLOW_USER_SRP_AUTH") {
				t.Errorf("%s/%s: auth flows %s", stack, id, flows)
			}
		}
		for id, p := range ofType(stack, "AWS::Cognito::UserPool") {
			if strings.Contains(id, "Staff") && js(get(p.Properties, "UserPoolAddOns", "AdvancedSecurityMode")) != `"ENFORCED"` {
				t.Errorf("%s/%s: staff threat protection %s", stack, id, js(get(p.Properties, "UserPoolAddOns")))
			}
		}
	}
}
