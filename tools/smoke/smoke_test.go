package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// RFC 6238's SHA-1 test vectors, cut to the 6 digits Cognito uses.
func TestTOTP(t *testing.T) {
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32 of "12345678901234567890"
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		got, err := TOTP(secret, time.Unix(unix, 0))
		if err != nil || got != want {
			t.Errorf("TOTP at %d = %q, %v; want %q", unix, got, err, want)
		}
	}
	if _, err := TOTP("not base32!", time.Now()); err == nil {
		t.Error("a secret that is not base32 was accepted")
	}
}

// cognito answers Cognito's admin APIs in memory, in the order a sign-in
// takes them, and records the calls; fail names an operation that is
// refused.
type cognito struct {
	mu    sync.Mutex
	calls []string
	fail  string
}

func (c *cognito) Do(r *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
	raw, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(raw, &in)
	c.mu.Lock()
	c.calls = append(c.calls, op)
	c.mu.Unlock()
	body := "{}"
	status := 200
	switch {
	case op == c.fail:
		status, body = 400, `{"__type":"NotAuthorizedException","message":"refused"}`
	case op == "AdminInitiateAuth" && strings.Contains(fmt.Sprint(in["ClientId"]), "staff"):
		body = `{"ChallengeName":"MFA_SETUP","Session":"s1","ChallengeParameters":{}}`
	case op == "AdminInitiateAuth":
		body = `{"AuthenticationResult":{"IdToken":"customer-id-token","AccessToken":"a","ExpiresIn":3600}}`
	case op == "AssociateSoftwareToken":
		if in["Session"] != "s1" {
			status, body = 400, `{"__type":"InvalidParameterException","message":"session"}`
		} else {
			body = `{"SecretCode":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","Session":"s2"}`
		}
	case op == "VerifySoftwareToken":
		code, _ := TOTP("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", fixed)
		if in["UserCode"] != code || in["Session"] != "s2" {
			status, body = 400, `{"__type":"EnableSoftwareTokenMFAException","message":"code"}`
		} else {
			body = `{"Status":"SUCCESS","Session":"s3"}`
		}
	case op == "AdminRespondToAuthChallenge":
		if in["Session"] != "s3" || in["ChallengeName"] != "MFA_SETUP" {
			status, body = 400, `{"__type":"InvalidParameterException","message":"challenge"}`
		} else {
			body = `{"AuthenticationResult":{"IdToken":"staff-id-token","AccessToken":"a","ExpiresIn":3600}}`
		}
	case op == "DescribeUserPoolClient":
		body = `{"UserPoolClient":{"ClientId":"payments","ClientSecret":"shh"}}`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

var fixed = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func throwaway(c *cognito) *Throwaway {
	users := NewThrowaway(aws.Config{Region: "eu-west-1", HTTPClient: c, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	users.now = func() time.Time { return fixed }
	return users
}

var stage = Stage{UserPoolID: "eu-west-1_customers", UserPoolClientID: "app", StaffPoolID: "eu-west-1_staff", StaffPoolClientID: "staff-console",
	PaymentsClientID: "payments"}

// The throwaway users sign in as the pools require, the administrator
// through the MFA set-up challenge with a code from its secret, and every
// one is deleted at the end.
func TestThrowawayUsers(t *testing.T) {
	c := &cognito{}
	users := throwaway(c)
	ctx := context.Background()
	customer, err := users.Customer(ctx, stage)
	if err != nil || customer != "customer-id-token" {
		t.Fatalf("customer: %q, %v", customer, err)
	}
	staff, err := users.Staff(ctx, stage, adminGroup)
	if err != nil || staff != "staff-id-token" {
		t.Fatalf("staff: %q, %v", staff, err)
	}
	token := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		_ = r.ParseForm()
		if !ok || id != "payments" || secret != "shh" || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("scope") != confirmScope {
			http.Error(w, "bad client", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, `{"access_token":"payments-access-token","token_type":"Bearer","expires_in":3600}`)
	}))
	defer token.Close()
	s := stage
	s.TokenURL = token.URL + "/oauth2/token"
	payments, err := users.Payments(ctx, s, confirmScope, token.Client())
	if err != nil || payments != "payments-access-token" {
		t.Fatalf("payments: %q, %v", payments, err)
	}
	if err := users.Cleanup(); err != nil {
		t.Fatal(err)
	}
	want := []string{"AdminCreateUser", "AdminSetUserPassword", "AdminInitiateAuth",
		"AdminCreateUser", "AdminAddUserToGroup", "AdminSetUserPassword", "AdminInitiateAuth", "AssociateSoftwareToken", "VerifySoftwareToken", "AdminRespondToAuthChallenge",
		"DescribeUserPoolClient", "AdminDeleteUser", "AdminDeleteUser"}
	if !slices.Equal(c.calls, want) {
		t.Errorf("calls\n%v\nwant\n%v", c.calls, want)
	}
}

// A sign-in that fails half-way still leaves no user behind.
func TestCleanupAfterAFailure(t *testing.T) {
	c := &cognito{fail: "VerifySoftwareToken"}
	users := throwaway(c)
	if _, err := users.Customer(context.Background(), stage); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Staff(context.Background(), stage, adminGroup); err == nil {
		t.Fatal("a refused verification passed")
	}
	if err := users.Cleanup(); err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, call := range c.calls {
		if call == "AdminDeleteUser" {
			deleted++
		}
	}
	if deleted != 2 {
		t.Errorf("%d users deleted, want both: %v", deleted, c.calls)
	}
}

// The stage's outputs, as make deploy writes them; prod's API is reached
// through its CDN.
func TestReadStage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outputs.json")
	outputs := map[string]map[string]string{"Shop-pr-7-Api": {"ApiUrl": "https://api.example", "UserPoolId": "p", "UserPoolClientId": "c",
		"StaffPoolId": "sp", "StaffPoolClientId": "sc", "PaymentsClientId": "pc", "TokenUrl": "https://auth.example/oauth2/token"}}
	raw, _ := json.Marshal(outputs)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := readStage(path, "pr-7")
	if err != nil || s.ApiURL != "https://api.example" || s.TokenURL == "" {
		t.Fatalf("%+v, %v", s, err)
	}
	if _, err := readStage(path, "pr-8"); err == nil || !strings.Contains(err.Error(), "Shop-pr-8-Api") {
		t.Errorf("another stage: %v", err)
	}
	delete(outputs["Shop-pr-7-Api"], "TokenUrl")
	raw, _ = json.Marshal(outputs)
	_ = os.WriteFile(path, raw, 0o644)
	if _, err := readStage(path, "pr-7"); err == nil || !strings.Contains(err.Error(), "TokenUrl") {
		t.Errorf("a missing output: %v", err)
	}
}

// Every folder of the collection but Local runs against a stage.
func TestFolders(t *testing.T) {
	folders, err := Folders("../../docs/postman/shop.postman_collection.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(folders) < 5 || slices.Contains(folders, "Local") || folders[0] != "Catalogue" {
		t.Errorf("folders %v", folders)
	}
}
