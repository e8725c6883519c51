package reaper

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func stage(name string, expires time.Time, mods ...func(*Stack)) []Stack {
	var out []Stack
	for _, part := range []string{"Data", "Network", "Media", "Api"} {
		s := Stack{Name: "Shop-" + name + "-" + part, Status: "UPDATE_COMPLETE",
			Tags: map[string]string{TagProject: Project, TagStage: name, TagOwner: "alice"}}
		if !expires.IsZero() {
			s.Tags[TagExpiresAt] = expires.Format(time.RFC3339)
		}
		for _, m := range mods {
			m(&s)
		}
		out = append(out, s)
	}
	return out
}

func only(part string, m func(*Stack)) func(*Stack) {
	return func(s *Stack) {
		if len(s.Name) >= len(part) && s.Name[len(s.Name)-len(part):] == part {
			m(s)
		}
	}
}

func TestPlan(t *testing.T) {
	deleting := Config{Delete: true, NoticeBefore: 24 * time.Hour, Every: time.Hour}
	tests := []struct {
		name   string
		stacks []Stack
		cfg    Config
		want   []Action
	}{
		{"fresh stage: nothing", stage("dev-a", now.Add(72*time.Hour)), DefaultConfig, nil},
		{"about to expire: notify once", stage("dev-a", now.Add(23*time.Hour+30*time.Minute)), DefaultConfig,
			[]Action{{Kind: Notify, Stage: "dev-a", Owner: "alice", ExpiresAt: now.Add(23*time.Hour + 30*time.Minute), Reason: "expires at 2026-11-29T11:30:00Z"}}},
		{"about to expire, noticed in an earlier run", stage("dev-a", now.Add(20*time.Hour)), DefaultConfig, nil},
		{"expired, report only", stage("dev-a", now.Add(-time.Minute)), DefaultConfig,
			[]Action{{Kind: WouldDelete, Stage: "dev-a", Owner: "alice", Stack: "Shop-dev-a-Api", ExpiresAt: now.Add(-time.Minute), Reason: "expired at 2026-11-28T11:59:00Z"}}},
		{"expired, deleting: the API first", stage("dev-a", now.Add(-time.Hour)), deleting,
			[]Action{{Kind: Delete, Stage: "dev-a", Owner: "alice", Stack: "Shop-dev-a-Api", ExpiresAt: now.Add(-time.Hour), Reason: "expired at 2026-11-28T11:00:00Z"}}},
		{"expired, API gone: media next", stage("dev-a", now.Add(-time.Hour))[:3], deleting,
			[]Action{{Kind: Delete, Stage: "dev-a", Owner: "alice", Stack: "Shop-dev-a-Media", ExpiresAt: now.Add(-time.Hour), Reason: "expired at 2026-11-28T11:00:00Z"}}},
		{"expired, only data left", stage("dev-a", now.Add(-time.Hour))[:1], deleting,
			[]Action{{Kind: Delete, Stage: "dev-a", Owner: "alice", Stack: "Shop-dev-a-Data", ExpiresAt: now.Add(-time.Hour), Reason: "expired at 2026-11-28T11:00:00Z"}}},
		{"prod: never", stage("prod", now.Add(-time.Hour)), deleting,
			[]Action{{Kind: Skip, Stage: "prod", Owner: "alice", Reason: "a protected stage"}}},
		{"termination protection: never", stage("dev-a", now.Add(-time.Hour), only("Data", func(s *Stack) { s.TerminationProtection = true })), deleting,
			[]Action{{Kind: Skip, Stage: "dev-a", Owner: "alice", Reason: "Shop-dev-a-Data has termination protection"}}},
		{"update in progress: not now", stage("dev-a", now.Add(-time.Hour), only("Api", func(s *Stack) { s.Status = "UPDATE_IN_PROGRESS" })), deleting,
			[]Action{{Kind: Skip, Stage: "dev-a", Owner: "alice", Reason: "Shop-dev-a-Api is UPDATE_IN_PROGRESS"}}},
		{"failed delete: retried and reported", stage("dev-a", now.Add(-time.Hour), only("Network", func(s *Stack) {
			s.Status, s.StatusReason = "DELETE_FAILED", "resource sg-1 has a dependent object"
		}))[1:2], deleting, []Action{
			{Kind: Stuck, Stage: "dev-a", Owner: "alice", Stack: "Shop-dev-a-Network", ExpiresAt: now.Add(-time.Hour), Reason: "resource sg-1 has a dependent object"},
			{Kind: Delete, Stage: "dev-a", Owner: "alice", Stack: "Shop-dev-a-Network", ExpiresAt: now.Add(-time.Hour), Reason: "expired at 2026-11-28T11:00:00Z"},
		}},
		{"no expiry tag: left alone", stage("dev-a", time.Time{}), deleting,
			[]Action{{Kind: Skip, Stage: "dev-a", Owner: "alice", Reason: "no expires-at tag"}}},
		{"staging: never, even expired", stage("staging", now.Add(-time.Hour)), deleting,
			[]Action{{Kind: Skip, Stage: "staging", Owner: "alice", Reason: "a protected stage"}}},
		{"the account stack: never", []Stack{{Name: "Shop-Account", Tags: map[string]string{TagProject: Project, TagStage: "account", TagExpiresAt: now.Add(-time.Hour).Format(time.RFC3339)}}}, deleting,
			[]Action{{Kind: Skip, Stage: "account", Reason: "a protected stage"}}},
		// The stage comes from the stack's name: a prod stack re-tagged
		// stage=dev-a (anyone who deploys can set tags) is not dev-a's.
		{"a stage tag that disagrees with the name: left alone", append(stage("dev-a", now.Add(-time.Hour))[1:], Stack{Name: "Shop-prod-Data", Status: "UPDATE_COMPLETE",
			Tags: map[string]string{TagProject: Project, TagStage: "dev-a", TagOwner: "mallory", TagExpiresAt: now.Add(-time.Hour).Format(time.RFC3339)}}), deleting,
			[]Action{
				{Kind: Skip, Stage: "dev-a", Owner: "mallory", Stack: "Shop-prod-Data", Reason: "its stage tag dev-a does not match its name (Shop-<stage>-<part>)"},
				{Kind: Delete, Stage: "dev-a", Owner: "alice", Stack: "Shop-dev-a-Api", ExpiresAt: now.Add(-time.Hour), Reason: "expired at 2026-11-28T11:00:00Z"},
			}},
		{"an expired preview in report mode: reported, not deleted", stage("pr-42", now.Add(-time.Hour)), DefaultConfig,
			[]Action{{Kind: WouldDelete, Stage: "pr-42", Owner: "alice", Stack: "Shop-pr-42-Api", ExpiresAt: now.Add(-time.Hour), Reason: "expired at 2026-11-28T11:00:00Z"}}},
		{"an expired preview, deleting", stage("pr-42", now.Add(-time.Hour)), deleting,
			[]Action{{Kind: Delete, Stage: "pr-42", Owner: "alice", Stack: "Shop-pr-42-Api", ExpiresAt: now.Add(-time.Hour), Reason: "expired at 2026-11-28T11:00:00Z"}}},
		// Issue 39: a stack named into a victim's namespace, tagged with
		// the victim's stage and a past expiry, moves nothing.
		{"a spoofed Shop-dev-bob-Zzz: left alone, dev-bob kept", append(stage("dev-bob", now.Add(72*time.Hour)), Stack{Name: "Shop-dev-bob-Zzz", Status: "CREATE_COMPLETE",
			Tags: map[string]string{TagProject: Project, TagStage: "dev-bob", TagOwner: "alice", TagExpiresAt: now.Add(-time.Hour).Format(time.RFC3339)}}), deleting,
			[]Action{{Kind: Skip, Stage: "dev-bob", Owner: "alice", Stack: "Shop-dev-bob-Zzz", Reason: "not a stack a stage deploys (Api, Media, Network, Data)"}}},
		{"a spoofed stack next to a preview, report mode: the preview kept", append(stage("pr-7", now.Add(72*time.Hour)), Stack{Name: "Shop-pr-7-Zzz", Status: "CREATE_COMPLETE",
			Tags: map[string]string{TagProject: Project, TagStage: "pr-7", TagOwner: "mallory", TagExpiresAt: now.Add(-time.Hour).Format(time.RFC3339)}}), DefaultConfig,
			[]Action{{Kind: Skip, Stage: "pr-7", Owner: "mallory", Stack: "Shop-pr-7-Zzz", Reason: "not a stack a stage deploys (Api, Media, Network, Data)"}}},
		{"one of the stage's stacks tagged with an earlier expiry: the latest counts", stage("dev-bob", now.Add(72*time.Hour), only("Media", func(s *Stack) {
			s.Tags[TagExpiresAt] = now.Add(-time.Hour).Format(time.RFC3339)
		})), deleting, nil},
		{"a stack without a readable expiry: no expiry", stage("dev-bob", now.Add(-time.Hour), only("Data", func(s *Stack) { s.Tags[TagExpiresAt] = "soon" })), deleting,
			[]Action{{Kind: Skip, Stage: "dev-bob", Owner: "alice", Reason: "no expires-at tag"}}},
		{"owners that disagree: left alone", stage("dev-bob", now.Add(-time.Hour), only("Api", func(s *Stack) { s.Tags[TagOwner] = "mallory" })), deleting,
			[]Action{{Kind: Skip, Stage: "dev-bob", Owner: "mallory", Reason: "its stacks name different owners (mallory, alice)"}}},
		{"another project's stack: not mentioned", []Stack{{Name: "Other", Tags: map[string]string{TagProject: "other", TagStage: "dev-a"}}}, deleting, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Plan(tt.stacks, now, tt.cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Plan =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	stacks := append(stage("dev-a", now.Add(-time.Hour), func(s *Stack) { s.Updated = now.Add(-8 * 24 * time.Hour) }),
		stage("prod", time.Time{}, func(s *Stack) { s.TerminationProtection = true })...)
	stacks = append(stacks, stage("dev-b", now.Add(48*time.Hour), only("Api", func(s *Stack) { s.Status = "UPDATE_ROLLBACK_COMPLETE" }))...)
	var b strings.Builder
	if err := Table(&b, stacks, now); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"STAGE  OWNER  STACKS  LAST DEPLOY       EXPIRES           STATUS                                   REAPER",
		"dev-a  alice  4       2026-11-20 12:00  2026-11-28 11:00  ok                                       delete Shop-dev-a-Api",
		"dev-b  alice  4       -                 2026-11-30 12:00  Shop-dev-b-Api UPDATE_ROLLBACK_COMPLETE  keep",
		"prod   alice  4       -                 -                 ok                                       keep (a protected stage)",
	}
	if got := strings.TrimRight(b.String(), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
