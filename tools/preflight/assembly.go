package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Stack is one stack the deploy creates or updates, as the cloud assembly
// has it.
type Stack struct {
	Name    string
	Account string // empty: the credentials' account
	Region  string // empty: the credentials' region
	// Bootstrap is the SSM parameter holding the bootstrap's version, and
	// the version the stack needs.
	BootstrapParameter string
	BootstrapVersion   int
}

// Plan is what a stage's deploy takes of the account, read from its
// synthesized templates: no guess about the profile, the templates are what
// gets deployed.
type Plan struct {
	Stage  string
	Prod   bool
	Stacks []Stack
	// Reserved is the concurrency the stage's functions reserve, in
	// ReservedRegion (empty: the credentials' region).
	Reserved       int
	ReservedRegion string
	// Caches are the serverless caches the stage creates, by name.
	Caches []string
	// OriginAccessControls the stage creates (CloudFront, per account).
	OriginAccessControls int
	// CacheMemberships are the users the stage puts in a shared cache's
	// user group (a development stage's one user in Shop-Account's cache).
	CacheMemberships []CacheMembership
	// Roles the stage creates (IAM: per account, every region).
	Roles int
	// AlarmSubscribers are subscriptions to the stage's alarm topics.
	AlarmSubscribers int
	// LoggedApiRegions are the regions of the stage's REST API stages with
	// access logs, which need the account's API Gateway CloudWatch role.
	LoggedApiRegions []string
	// EmailIdentities are the SES identities the user pools send from
	// (identity and region); none means Cognito's default sender.
	EmailIdentities []EmailIdentity
}

// CacheMembership is one user of the stage in a user group of the account.
type CacheMembership struct{ Group, User string }

// EmailIdentity is an SES identity a pool's SourceArn names.
type EmailIdentity struct{ Identity, Region string }

type manifest struct {
	Artifacts map[string]struct {
		Type        string `json:"type"`
		Environment string `json:"environment"`
		Properties  struct {
			TemplateFile string            `json:"templateFile"`
			Tags         map[string]string `json:"tags"`
			Bootstrap    int               `json:"requiresBootstrapStackVersion"`
			Parameter    string            `json:"bootstrapStackVersionSsmParameter"`
		} `json:"properties"`
	} `json:"artifacts"`
}

type template struct {
	Resources map[string]struct {
		Type       string         `json:"Type"`
		Properties map[string]any `json:"Properties"`
	} `json:"Resources"`
}

// ReadPlan reads stage's stacks from the cloud assembly in dir (cdk.out):
// those tagged with the stage (make deploy deploys exactly those).
func ReadPlan(dir, stage string) (Plan, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return Plan{}, fmt.Errorf("no cloud assembly in %s: run make synth STAGE=%s first (%w)", dir, stage, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Plan{}, fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	p := Plan{Stage: stage, Prod: stage == "prod"}
	for _, name := range slices.Sorted(maps.Keys(m.Artifacts)) {
		a := m.Artifacts[name]
		if a.Type != "aws:cloudformation:stack" || a.Properties.Tags[contract.TagStage] != stage {
			continue
		}
		s := Stack{Name: name, BootstrapParameter: a.Properties.Parameter, BootstrapVersion: a.Properties.Bootstrap}
		env := strings.TrimPrefix(a.Environment, "aws://")
		if account, region, ok := strings.Cut(env, "/"); ok {
			if account != "unknown-account" {
				s.Account = account
			}
			if region != "unknown-region" {
				s.Region = region
			}
		}
		p.Stacks = append(p.Stacks, s)
		tRaw, err := os.ReadFile(filepath.Join(dir, a.Properties.TemplateFile))
		if err != nil {
			return Plan{}, err
		}
		var t template
		if err := json.Unmarshal(tRaw, &t); err != nil {
			return Plan{}, fmt.Errorf("%s: %w", a.Properties.TemplateFile, err)
		}
		before := p.Reserved
		p.add(t)
		for _, r := range t.Resources {
			if r.Type == "AWS::ApiGateway::Stage" && r.Properties["AccessLogSetting"] != nil && !slices.Contains(p.LoggedApiRegions, s.Region) {
				p.LoggedApiRegions = append(p.LoggedApiRegions, s.Region)
			}
		}
		if p.Reserved > before {
			p.ReservedRegion = s.Region
		}
	}
	if len(p.Stacks) == 0 {
		return Plan{}, fmt.Errorf("the assembly in %s has no stack of stage %q: run make synth STAGE=%s first", dir, stage, stage)
	}
	return p, nil
}

// add counts what one template takes.
func (p *Plan) add(t template) {
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		r := t.Resources[id]
		switch r.Type {
		case "AWS::Lambda::Function":
			if n, ok := r.Properties["ReservedConcurrentExecutions"].(float64); ok {
				p.Reserved += int(n)
			}
		case "AWS::ElastiCache::ServerlessCache":
			name, _ := r.Properties["ServerlessCacheName"].(string)
			p.Caches = append(p.Caches, name)
		case "AWS::CloudFront::OriginAccessControl":
			p.OriginAccessControls++
		case "AWS::IAM::Role":
			p.Roles++
		case "Custom::CacheUserGroupMembership":
			// The user is a Ref to the stage's AWS::ElastiCache::User.
			group, _ := r.Properties["UserGroupId"].(string)
			ref, _ := r.Properties["UserId"].(map[string]any)
			name, _ := ref["Ref"].(string)
			user, _ := t.Resources[name].Properties["UserId"].(string)
			p.CacheMemberships = append(p.CacheMemberships, CacheMembership{Group: group, User: user})
		case "AWS::SNS::Subscription":
			if strings.Contains(fmt.Sprint(r.Properties["TopicArn"]), "Alarms") {
				p.AlarmSubscribers++
			}
		case "AWS::Cognito::UserPool":
			if id := emailIdentity(r.Properties["EmailConfiguration"]); id != nil && !slices.Contains(p.EmailIdentities, *id) {
				p.EmailIdentities = append(p.EmailIdentities, *id)
			}
		}
	}
}

// emailIdentity reads the SES identity of a pool's SourceArn:
// arn:aws:ses:<region>:<account>:identity/<identity>, written by the CDK as
// a join of partition and account tokens around literal parts.
func emailIdentity(cfg any) *EmailIdentity {
	raw, _ := json.Marshal(cfg)
	s := string(raw)
	i := strings.Index(s, ":ses:")
	j := strings.Index(s, ":identity/")
	if i < 0 || j < 0 {
		return nil
	}
	region := s[i+len(":ses:"):]
	region = region[:strings.Index(region, ":")]
	identity := s[j+len(":identity/"):]
	identity = identity[:strings.IndexAny(identity, `"`)]
	return &EmailIdentity{Identity: identity, Region: region}
}
