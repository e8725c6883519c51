package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Stage is what the smoke run needs of a deployed stage: its stack outputs.
type Stage struct {
	ApiURL, UserPoolID, UserPoolClientID, StaffPoolID, StaffPoolClientID, PaymentsClientID, TokenURL string
}

// Throwaway users live for one run: created through the admin APIs, signed
// in, and deleted at the end, on failure too.
type Throwaway struct {
	idp   *cip.Client
	now   func() time.Time
	users [][2]string // pool id, username: what Cleanup deletes
}

// NewThrowaway uses cfg's credentials (the deploy role's, in a preview).
func NewThrowaway(cfg aws.Config) *Throwaway {
	return &Throwaway{idp: cip.NewFromConfig(cfg), now: time.Now}
}

// password is a random password that meets both pools' policies.
func password() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "Sm0ke!" + hex.EncodeToString(b)
}

// create makes a confirmed user with a permanent password, and records it.
func (t *Throwaway) create(ctx context.Context, pool, name string) (string, error) {
	username := fmt.Sprintf("smoke-%s-%d@example.com", name, t.now().UnixNano())
	_, err := t.idp.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(pool), Username: aws.String(username), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(username)}, {Name: aws.String("email_verified"), Value: aws.String("true")}},
	})
	if err != nil {
		return "", fmt.Errorf("create the throwaway %s: %w", name, err)
	}
	t.users = append(t.users, [2]string{pool, username})
	return username, nil
}

// signIn gives username a fresh password and signs it in to client
// (ADMIN_USER_PASSWORD_AUTH); who names the user in errors.
func (t *Throwaway) signIn(ctx context.Context, pool, client, username, who string) (*cip.AdminInitiateAuthOutput, error) {
	pw := password()
	if _, err := t.idp.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(pool), Username: aws.String(username), Password: aws.String(pw), Permanent: true}); err != nil {
		return nil, fmt.Errorf("%s's password: %w", who, err)
	}
	out, err := t.idp.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: aws.String(pool), ClientId: aws.String(client),
		AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": pw}})
	if err != nil {
		return nil, fmt.Errorf("sign %s in: %w", who, err)
	}
	return out, nil
}

// Customer is a throwaway customer's ID token (ADMIN_USER_PASSWORD_AUTH,
// which only non-prod tiers' clients allow).
func (t *Throwaway) Customer(ctx context.Context, s Stage) (string, error) {
	username, err := t.create(ctx, s.UserPoolID, "customer")
	if err != nil {
		return "", err
	}
	out, err := t.signIn(ctx, s.UserPoolID, s.UserPoolClientID, username, "the customer")
	if err != nil {
		return "", err
	}
	if out.AuthenticationResult == nil {
		return "", fmt.Errorf("sign the customer in: challenge %s", out.ChallengeName)
	}
	return aws.ToString(out.AuthenticationResult.IdToken), nil
}

// Staff is a throwaway administrator's ID token. The staff pool requires
// TOTP and no admin call sets it up, so the run acts as the user: it signs
// in, answers the MFA set-up challenge by associating a software token and
// verifying it with a code computed from its secret.
func (t *Throwaway) Staff(ctx context.Context, s Stage, group string) (string, error) {
	username, err := t.create(ctx, s.StaffPoolID, "staff")
	if err != nil {
		return "", err
	}
	if _, err := t.idp.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(s.StaffPoolID), Username: aws.String(username), GroupName: aws.String(group)}); err != nil {
		return "", fmt.Errorf("put the staff user in %s: %w", group, err)
	}
	auth, err := t.signIn(ctx, s.StaffPoolID, s.StaffPoolClientID, username, "the staff user")
	if err != nil {
		return "", err
	}
	if auth.ChallengeName != types.ChallengeNameTypeMfaSetup {
		return "", fmt.Errorf("sign the staff user in: challenge %q, want MFA_SETUP", auth.ChallengeName)
	}
	assoc, err := t.idp.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: auth.Session})
	if err != nil {
		return "", fmt.Errorf("associate a software token: %w", err)
	}
	code, err := TOTP(aws.ToString(assoc.SecretCode), t.now())
	if err != nil {
		return "", err
	}
	verified, err := t.idp.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(code), FriendlyDeviceName: aws.String("smoke")})
	if err != nil {
		return "", fmt.Errorf("verify the software token: %w", err)
	}
	done, err := t.idp.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{UserPoolId: aws.String(s.StaffPoolID), ClientId: aws.String(s.StaffPoolClientID),
		ChallengeName: types.ChallengeNameTypeMfaSetup, Session: verified.Session, ChallengeResponses: map[string]string{"USERNAME": username}})
	if err != nil {
		return "", fmt.Errorf("finish the MFA set-up: %w", err)
	}
	if done.AuthenticationResult == nil {
		return "", fmt.Errorf("finish the MFA set-up: challenge %s", done.ChallengeName)
	}
	return aws.ToString(done.AuthenticationResult.IdToken), nil
}

// Payments is the payment integration's client-credentials access token:
// the client's secret from Cognito, then the pool domain's token endpoint.
func (t *Throwaway) Payments(ctx context.Context, s Stage, scope string, hc *http.Client) (string, error) {
	c, err := t.idp.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(s.UserPoolID), ClientId: aws.String(s.PaymentsClientID)})
	if err != nil {
		return "", fmt.Errorf("the payments client: %w", err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.PaymentsClientID+":"+aws.ToString(c.UserPoolClient.ClientSecret))))
	return tokenFrom(hc.Do(req))
}

// tokenFrom reads the token of a token endpoint's answer.
func tokenFrom(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint: %s: %s", resp.Status, raw)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		Token       string `json:"token"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	if body.AccessToken != "" {
		return body.AccessToken, nil
	}
	if body.Token != "" {
		return body.Token, nil
	}
	return "", errors.New("token endpoint: no token in the answer")
}

// Cleanup deletes every throwaway user, whatever happened; it runs with a
// context of its own, so that an interrupted run still cleans up.
func (t *Throwaway) Cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, u := range t.users {
		if _, err := t.idp.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(u[0]), Username: aws.String(u[1])}); err != nil {
			var nf *types.UserNotFoundException
			if !errors.As(err, &nf) {
				errs = append(errs, fmt.Errorf("delete %s: %w", u[1], err))
			}
		}
	}
	t.users = nil
	return errors.Join(errs...)
}
