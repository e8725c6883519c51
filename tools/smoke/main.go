// Command smoke runs the Postman collection (newman) against a running API
// with real tokens, the way a preview of a pull request is checked:
//
//	smoke -stage pr-42 -outputs cdk.out/outputs.json   # a deployed stage: throwaway Cognito users
//	smoke -local -url http://127.0.0.1:8080            # make local: tokens from /local/token
//
// Against a deployed stage it creates a throwaway customer and a throwaway
// administrator through Cognito's admin APIs (the administrator sets up its
// own TOTP, as the staff pool requires), takes the payment integration's
// client-credentials token, runs every folder of the collection but Local,
// and deletes the users at the end, on failure and on interrupt too. The
// local mode takes the same path with tokens the local API mints, so make
// test exercises it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
)

// Tokens are the three callers the collection acts as.
type Tokens struct{ Admin, Customer, Payments string }

// The names the contract gives (lambdas/contract): the admin group and the
// confirm scope. The smoke tool is a module of its own, outside the
// functions' and the CDK app's.
const (
	adminGroup   = "admin"
	confirmScope = "shop/orders.confirm"
)

func main() {
	local := flag.Bool("local", false, "against make local: tokens from /local/token")
	base := flag.String("url", "", "the API's base URL (default: the stage's ApiUrl output)")
	stage := flag.String("stage", "", "the deployed stage (with -outputs)")
	outputs := flag.String("outputs", "cdk.out/outputs.json", "the stack outputs make deploy wrote")
	collection := flag.String("collection", "docs/postman/shop.postman_collection.json", "the Postman collection")
	newman := flag.String("newman", "node_modules/.bin/newman", "newman")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *local, *base, *stage, *outputs, *collection, *newman); err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, local bool, base, stage, outputs, collection, newman string) (err error) {
	var tokens Tokens
	if local {
		if base == "" {
			return errors.New("-local needs -url")
		}
		if tokens, err = localTokens(ctx, http.DefaultClient, base); err != nil {
			return err
		}
	} else {
		s, err := readStage(outputs, stage)
		if err != nil {
			return err
		}
		if base == "" {
			base = s.ApiURL
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("AWS credentials for the stage's account: %w", err)
		}
		users := NewThrowaway(cfg)
		defer func() {
			if cerr := users.Cleanup(); cerr != nil {
				err = errors.Join(err, cerr)
			} else {
				fmt.Fprintln(w, "smoke: the throwaway users are deleted")
			}
		}()
		if tokens, err = cognitoTokens(ctx, users, s); err != nil {
			return err
		}
	}
	return Newman(ctx, w, newman, collection, strings.TrimSuffix(base, "/"), tokens, !local)
}

func cognitoTokens(ctx context.Context, users *Throwaway, s Stage) (Tokens, error) {
	var t Tokens
	var err error
	if t.Customer, err = users.Customer(ctx, s); err != nil {
		return t, err
	}
	if t.Admin, err = users.Staff(ctx, s, adminGroup); err != nil {
		return t, err
	}
	t.Payments, err = users.Payments(ctx, s, confirmScope, &http.Client{Timeout: 10 * time.Second})
	return t, err
}

// localTokens mints the three tokens from the local API.
func localTokens(ctx context.Context, hc *http.Client, base string) (Tokens, error) {
	mint := func(body string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/local/token", bytes.NewBufferString(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		return tokenFrom(hc.Do(req))
	}
	var t Tokens
	var err error
	if t.Admin, err = mint(`{"sub":"smoke-admin","email":"smoke-admin@example.com","groups":["` + adminGroup + `"]}`); err != nil {
		return t, fmt.Errorf("mint the admin token: %w", err)
	}
	if t.Customer, err = mint(`{"sub":"smoke-customer","email":"smoke-customer@example.com","groups":[]}`); err != nil {
		return t, fmt.Errorf("mint the customer token: %w", err)
	}
	if t.Payments, err = mint(`{"client_id":"payments","scope":"` + confirmScope + `"}`); err != nil {
		return t, fmt.Errorf("mint the payments token: %w", err)
	}
	return t, nil
}

// readStage reads the stage's Api stack outputs from make deploy's file.
func readStage(path, stage string) (Stage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Stage{}, fmt.Errorf("%s: %w (make deploy STAGE=%s writes it)", path, err, stage)
	}
	var all map[string]map[string]string
	if err := json.Unmarshal(raw, &all); err != nil {
		return Stage{}, fmt.Errorf("%s: %w", path, err)
	}
	o, ok := all["Shop-"+stage+"-Api"]
	if !ok {
		return Stage{}, fmt.Errorf("%s has no outputs of Shop-%s-Api", path, stage)
	}
	s := Stage{ApiURL: o["ApiUrl"], UserPoolID: o["UserPoolId"], UserPoolClientID: o["UserPoolClientId"], StaffPoolID: o["StaffPoolId"],
		StaffPoolClientID: o["StaffPoolClientId"], PaymentsClientID: o["PaymentsClientId"], TokenURL: o["TokenUrl"]}
	if url := o["CdnApiUrl"]; url != "" {
		s.ApiURL = url // through the CDN, where the functions require it
	}
	var missing []string
	for name, v := range map[string]string{"ApiUrl": s.ApiURL, "UserPoolId": s.UserPoolID, "UserPoolClientId": s.UserPoolClientID, "StaffPoolId": s.StaffPoolID,
		"StaffPoolClientId": s.StaffPoolClientID, "PaymentsClientId": s.PaymentsClientID, "TokenUrl": s.TokenURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Stage{}, fmt.Errorf("%s: Shop-%s-Api lacks the outputs %v", path, stage, missing)
	}
	return s, nil
}

// Folders are the collection's top-level folders but Local (which mints
// tokens through the local API): what runs against any stage.
func Folders(collection string) ([]string, error) {
	raw, err := os.ReadFile(collection)
	if err != nil {
		return nil, err
	}
	var c struct {
		Item []struct {
			Name string `json:"name"`
		} `json:"item"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", collection, err)
	}
	var out []string
	for _, it := range c.Item {
		if it.Name != "Local" {
			out = append(out, it.Name)
		}
	}
	return out, nil
}

// Newman runs the collection against base with tokens, every folder but
// Local, stopping at the first failure; its exit status is the smoke's.
// deployed tells the collection that /local/ routes do not exist.
func Newman(ctx context.Context, w io.Writer, newman, collection, base string, t Tokens, deployed bool) error {
	folders, err := Folders(collection)
	if err != nil {
		return err
	}
	args := []string{"run", collection, "--env-var", "baseUrl=" + base, "--env-var", "adminToken=" + t.Admin,
		"--env-var", "customerToken=" + t.Customer, "--env-var", "paymentsToken=" + t.Payments,
		"--bail", "--color", "off", "--reporters", "cli"}
	if deployed {
		args = append(args, "--env-var", "deployed=1")
	}
	for _, f := range folders {
		args = append(args, "--folder", f)
	}
	bin, err := filepath.Abs(newman)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the collection failed against %s: %w", base, err)
	}
	fmt.Fprintf(w, "smoke: the collection passed against %s\n", base)
	return nil
}
