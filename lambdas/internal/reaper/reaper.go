// Package reaper decides what happens to the development stages of an
// account: a stage whose stacks carry an expires-at tag (set by make deploy)
// is announced to its owner a day before it expires and deleted after, stack
// by stack in dependency order. Prod, the account stack, stacks with
// termination protection and stages with an operation in progress are never
// touched. The decisions are a pure function of the stacks and the time;
// the AWS side is in aws.go.
package reaper

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Tags the reaper reads (contract names them for both modules).
const (
	TagProject   = contract.TagProject
	TagStage     = contract.TagStage
	TagOwner     = contract.TagOwner
	TagExpiresAt = contract.TagExpiresAt
	Project      = contract.Project
)

// Stack is what the reaper knows of one CloudFormation stack.
type Stack struct {
	Name                  string
	Status                string // CloudFormation's StackStatus
	StatusReason          string
	Tags                  map[string]string
	TerminationProtection bool
	Updated               time.Time // last deploy: the last update, or the creation
}

// Kind is what an action does.
type Kind string

const (
	Notify      Kind = "notify"       // the stage expires within a day: tell its owner
	Delete      Kind = "delete"       // delete this stack now
	WouldDelete Kind = "would-delete" // report-only mode: Delete, not done
	Stuck       Kind = "stuck"        // a delete failed; it is retried, and reported
	Skip        Kind = "skip"         // left alone, and why
)

// Action is one decision about a stage.
type Action struct {
	Kind      Kind
	Stage     string
	Owner     string
	Stack     string // the stack to delete, or the one that is stuck
	ExpiresAt time.Time
	Reason    string
}

// Config are the reaper's switches.
type Config struct {
	// Delete turns deleting on; without it the reaper reports what it would
	// delete (the default: a team turns deleting on once it trusts the list).
	Delete bool
	// NoticeBefore is how long before expiry the owner hears of it.
	NoticeBefore time.Duration
	// Every is how often the reaper runs: one notice goes out, in the first
	// run inside the notice window.
	Every time.Duration
}

// DefaultConfig: a day's notice, hourly runs, report only.
var DefaultConfig = Config{NoticeBefore: 24 * time.Hour, Every: time.Hour}

// deleteOrder is the order a stage's stacks go in: the API first (it uses
// the others), then the images and the cache, then the data.
var deleteOrder = []string{"Api", "Media", "Network", "Data"}

// Plan decides what to do with every development stage among stacks at now.
// Stacks that are not the shop's, or carry no stage, are not mentioned; a
// stack whose name and stage tag disagree, or that is no part a stage
// deploys, is skipped and never acted on.
func Plan(stacks []Stack, now time.Time, cfg Config) []Action {
	byStage := map[string][]Stack{}
	var out []Action
	for _, s := range stacks {
		if s.Tags[TagProject] != Project || s.Tags[TagStage] == "" {
			continue
		}
		// The stage is the one in the stack's name; the tag, which anyone
		// who deploys can set, must agree, or the stack is left alone.
		stage, ok := StageOf(s.Name)
		if !ok || stage != s.Tags[TagStage] {
			out = append(out, Action{Kind: Skip, Stage: s.Tags[TagStage], Owner: s.Tags[TagOwner], Stack: s.Name,
				Reason: "its stage tag " + s.Tags[TagStage] + " does not match its name (Shop-<stage>-<part>)"})
			continue
		}
		// Only the stacks a stage deploys speak for it: any other name in
		// its namespace (Shop-dev-bob-Zzz, made by someone who may create
		// stacks) is left alone, and its tags move nothing.
		if part := strings.TrimPrefix(s.Name, "Shop-"+stage+"-"); stage != contract.AccountStage && !slices.Contains(deleteOrder, part) {
			out = append(out, Action{Kind: Skip, Stage: stage, Owner: s.Tags[TagOwner], Stack: s.Name,
				Reason: "not a stack a stage deploys (" + strings.Join(deleteOrder, ", ") + ")"})
			continue
		}
		byStage[stage] = append(byStage[stage], s)
	}
	names := make([]string, 0, len(byStage))
	for n := range byStage {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, planStage(name, byStage[name], now, cfg)...)
	}
	return out
}

// stackName is a stage's stack: Shop-<stage>-<Part>.
var stackName = regexp.MustCompile(`^Shop-([a-z][a-z0-9-]*)-([A-Z][A-Za-z]*)$`)

// StageOf is the stage a stack's name gives, if it is a stage's stack (the
// account stack's is contract.AccountStage).
func StageOf(stack string) (string, bool) {
	if stack == "Shop-Account" {
		return contract.AccountStage, true
	}
	m := stackName.FindStringSubmatch(stack)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func planStage(name string, stacks []Stack, now time.Time, cfg Config) []Action {
	sort.Slice(stacks, func(i, j int) bool { return rank(name, stacks[i].Name) < rank(name, stacks[j].Name) })
	a := Action{Stage: name, Owner: stacks[0].Tags[TagOwner]}
	skip := func(reason string) []Action { a.Kind, a.Reason = Skip, reason; return []Action{a} }
	if slices.Contains(contract.ProtectedStages, name) {
		return skip("a protected stage")
	}
	for _, s := range stacks {
		if s.Tags[TagOwner] != a.Owner {
			return skip("its stacks name different owners (" + a.Owner + ", " + s.Tags[TagOwner] + ")")
		}
	}
	for _, s := range stacks {
		switch {
		case s.TerminationProtection:
			return skip(s.Name + " has termination protection")
		case strings.HasSuffix(s.Status, "_IN_PROGRESS"):
			return skip(s.Name + " is " + s.Status)
		}
	}
	expiry, ok := expiresAt(stacks)
	if !ok {
		return skip("no " + TagExpiresAt + " tag")
	}
	a.ExpiresAt = expiry
	switch {
	case now.Before(expiry.Add(-cfg.NoticeBefore)):
		return nil
	case now.Before(expiry):
		if now.Before(expiry.Add(-cfg.NoticeBefore).Add(cfg.Every)) {
			a.Kind, a.Reason = Notify, "expires at "+expiry.Format(time.RFC3339)
			return []Action{a}
		}
		return nil // noticed in an earlier run
	}
	next := stacks[0]
	a.Stack = next.Name
	var out []Action
	if next.Status == "DELETE_FAILED" {
		// Typically a security group or subnet still held by a network
		// interface Lambda has not released yet: the next run tries again.
		stuck := a
		stuck.Kind, stuck.Reason = Stuck, next.StatusReason
		out = append(out, stuck)
	}
	a.Kind, a.Reason = WouldDelete, "expired at "+expiry.Format(time.RFC3339)
	if cfg.Delete {
		// Report mode deletes nothing, previews included: a preview's tags
		// are set by pull-request code, so they must never make it delete.
		a.Kind = Delete
	}
	return append(out, a)
}

// expiresAt is the latest expiry among the stage's own stacks: a stage goes
// when every one of them says so, so that no stack tagged with an earlier
// time (by a partial deploy, or by someone else) cuts its life short. A
// stack without a readable tag leaves the stage without an expiry.
func expiresAt(stacks []Stack) (time.Time, bool) {
	var latest time.Time
	for _, s := range stacks {
		t, err := time.Parse(time.RFC3339, s.Tags[TagExpiresAt])
		if err != nil {
			return time.Time{}, false
		}
		if t.After(latest) {
			latest = t
		}
	}
	return latest, !latest.IsZero()
}

// rank orders a stage's stacks for deletion; unknown parts go before the
// data, after the known ones.
func rank(stage, stack string) int {
	part := strings.TrimPrefix(stack, "Shop-"+stage+"-")
	if i := slices.Index(deleteOrder, part); i >= 0 {
		if part == "Data" {
			return len(deleteOrder) + 1
		}
		return i
	}
	return len(deleteOrder)
}
