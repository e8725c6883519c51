// Command app is the shop's CDK app. It is the only place that reads the CDK
// context and the environment: which stage (-c stage=NAME, else STAGE, else
// dev-$USER), who owns it, and where the function binaries are.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/user"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/infra/stacks"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

func main() {
	// `cdkapp -print-stage` names the stage a synth would pick from the
	// environment (STAGE, else dev-$USER), for the Makefile's stack selection.
	if len(os.Args) == 2 && os.Args[1] == "-print-stage" {
		fmt.Println(envStage())
		return
	}
	// `cdkapp -deploy-tags` prints the CLI options that tag the stage's
	// stacks at deploy time, read from cdk.json: every stack tag (the CLI's
	// --tags replace the assembly's), and expires-at for a stage that
	// expires, which stays out of the templates (a synth is the same
	// whenever it runs).
	if len(os.Args) == 2 && os.Args[1] == "-deploy-tags" {
		tags, err := deployTags("cdk.json", envStage(), envOwner(), time.Now())
		if err != nil {
			fail(err)
		}
		fmt.Println(strings.Join(tags, " "))
		return
	}
	// `cdkapp -origin-step` prints the next step of the stage's rotation of
	// its origin-verification value (make rotate-origin).
	if len(os.Args) == 2 && os.Args[1] == "-origin-step" {
		step, err := originStep("cdk.json", envStage(), envOwner(), time.Now())
		if err != nil {
			fail(err)
		}
		fmt.Println(step)
		return
	}
	// `cdkapp -account-deploy-tags` prints the same for Shop-Account.
	if len(os.Args) == 2 && os.Args[1] == "-account-deploy-tags" {
		fmt.Println(strings.Join(tagOptions(stacks.AccountStackTags()), " "))
		return
	}
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	owner := firstNonEmpty(contextString(app, "owner"), envOwner())
	name := firstNonEmpty(contextString(app, "stage"), os.Getenv("STAGE"), DeveloperStage(owner))
	accountRaw, err := json.Marshal(app.Node().TryGetContext(jsii.String("shop:account")))
	if err != nil {
		fail(err)
	}
	account, err := config.ResolveAccount(accountRaw)
	if err != nil {
		fail(err)
	}
	dist := firstNonEmpty(contextString(app, "distDir"), "dist")
	// STAGE=account is the account-level stack alone (make cost STAGE=account).
	if name == config.AccountStage {
		stacks.NewAccountStack(app, account, dist)
		synth(app)
		return
	}
	profiles, err := json.Marshal(app.Node().TryGetContext(jsii.String("shop:stages")))
	if err != nil {
		fail(err)
	}
	stage, err := config.Resolve(name, owner, profiles)
	if err != nil {
		fail(err)
	}
	// Every synth holds the account-level stack too: `make synth` shows all
	// there is to deploy; `make deploy` deploys the stage's stacks only.
	stacks.NewAccountStack(app, account, dist)
	stacks.NewShop(app, stage, dist)
	synth(app)
}

// synth writes the cloud assembly, with cdk-nag on every synth but the base
// side of a review (-c checks=false), which was checked when it landed.
func synth(app awscdk.App) {
	if contextString(app, "checks") != "false" {
		stacks.Checks(app)
	}
	app.Synth(nil)
}

// envStage is the stage from the environment: STAGE, else dev-<user>.
func envStage() string {
	return firstNonEmpty(os.Getenv("STAGE"), DeveloperStage(envOwner()))
}

// envOwner is who deploys: USER, else the login name.
func envOwner() string { return firstNonEmpty(os.Getenv("USER"), loginName(), "unknown") }

// deployTags are the cdk deploy options that tag stage's stacks, from the
// profiles in the cdk.json at path.
func deployTags(path, name, owner string, now time.Time) ([]string, error) {
	stage, err := stageOf(path, name, owner)
	if err != nil {
		return nil, err
	}
	out := tagOptions(stacks.StackTags(stage))
	if at, ok := stage.ExpiresAt(now); ok {
		out = append(out, "--tags", contract.TagExpiresAt+"="+at.Format(time.RFC3339))
	}
	return out, nil
}

// stageOf resolves stage name's profile from the cdk.json at path.
func stageOf(path, name, owner string) (config.Stage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return config.Stage{}, err
	}
	var file struct {
		Context map[string]json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return config.Stage{}, fmt.Errorf("%s: %w", path, err)
	}
	return config.Resolve(name, owner, file.Context["shop:stages"])
}

// originStep says the next step of the stage's origin rotation
// (config.NextOriginStep): what to do, the edge.origin to put in cdk.json,
// and when it may be deployed.
func originStep(path, name, owner string, now time.Time) (string, error) {
	stage, err := stageOf(path, name, owner)
	if err != nil {
		return "", err
	}
	if stage.Edge == nil {
		return "", fmt.Errorf("stage %s has no edge profile: nothing to rotate", name)
	}
	step := config.NextOriginStep(stage.Edge.Origin, now)
	next, _ := json.Marshal(step.Next)
	when := "now"
	if step.NotBefore.After(now) {
		when = "not before " + step.NotBefore.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s, %s.\nset shop:stages.%s.edge.origin in cdk.json to %s, commit, make deploy STAGE=%s", step.Do, when, name, next, name), nil
}

// tagOptions are the CLI options that set tags, in a fixed order.
func tagOptions(tags *map[string]*string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(*tags)) {
		out = append(out, "--tags", k+"="+*(*tags)[k])
	}
	return out
}

var notStageChar = regexp.MustCompile(`[^a-z0-9]+`)

// DeveloperStage is the default stage of a developer: dev-<user>, cleaned to
// a valid stage name. A name too long to fit is cut and ends in four hex
// digits of the full name's hash, so that two users who share a long prefix
// still get stages of their own.
func DeveloperStage(user string) string {
	clean := strings.Trim(notStageChar.ReplaceAllString(strings.ToLower(user), "-"), "-")
	if clean == "" {
		clean = "unknown"
	}
	s := "dev-" + clean
	if len(s) <= config.MaxStageName {
		return s
	}
	sum := sha256.Sum256([]byte(user))
	suffix := "-" + hex.EncodeToString(sum[:2])
	return strings.TrimRight(s[:config.MaxStageName-len(suffix)], "-") + suffix
}

// loginName is the account name when USER is not set (CI runners, containers).
func loginName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

func contextString(app awscdk.App, key string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok {
		return v
	}
	return ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "shop:", err)
	os.Exit(1)
}
