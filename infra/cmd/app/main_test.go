package main

import (
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/infra/config"
)

func TestDeveloperStage(t *testing.T) {
	tests := []struct{ user, want string }{
		{"alice", "dev-alice"},
		{"Alice.Smith", "dev-alice-smith"},
		{"a--b", "dev-a-b"},
		{"bob_", "dev-bob"},
		{"---", "dev-unknown"},
		{"", "dev-unknown"},
		{strings.Repeat("x", 20), "dev-" + strings.Repeat("x", 20)},
	}
	for _, tt := range tests {
		if got := DeveloperStage(tt.user); got != tt.want {
			t.Errorf("DeveloperStage(%q) = %q, want %q", tt.user, got, tt.want)
		}
	}
}

// Long user names that share their first characters still get stages of
// their own, and every default stage is a valid stage name.
func TestDeveloperStagesStayUniqueAndValid(t *testing.T) {
	users := []string{
		"christopher.montgomery-smith", "christopher.montgomery-smythe",
		strings.Repeat("a", 40) + "1", strings.Repeat("a", 40) + "2",
		"firstname.lastname-------x", "Ünïcödé.User.With.A.Very.Long.Name",
	}
	seen := map[string]string{}
	for _, u := range users {
		s := DeveloperStage(u)
		if err := config.ValidName(s); err != nil {
			t.Errorf("%q: %v", u, err)
		}
		if other, ok := seen[s]; ok {
			t.Errorf("%q and %q share stage %q", u, other, s)
		}
		seen[s] = u
	}
}

// make deploy passes every stack tag (the CLI's --tags replace the
// assembly's, which the reaper and its role's policy read), and expires-at
// only for a stage that expires: not prod, not a long-lived staging.
func TestDeployTags(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ stage, want string }{
		{"dev-alice", "--tags owner=alice --tags project=shop --tags stage=dev-alice --tags expires-at=2026-12-05T12:00:00Z"},
		{"prod", "--tags owner=alice --tags project=shop --tags stage=prod"},
		{"staging", "--tags owner=alice --tags project=shop --tags stage=staging"},
	} {
		got, err := deployTags("../../../cdk.json", c.stage, "alice", now)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: %q, want %q", c.stage, strings.Join(got, " "), c.want)
		}
	}
}

// make rotate-origin reads prod's rotation from cdk.json and names the next
// step, the profile to set and when; a stage without the edge has none.
func TestOriginStep(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	got, err := originStep("../../../cdk.json", "prod", "ops", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"put a new random value in origin slot b", "now", `{"send":"a","accept":["a","b"],"since":"2026-12-06T12:00:00Z"}`, "make deploy STAGE=prod"} {
		if !strings.Contains(got, want) {
			t.Errorf("step %q lacks %q", got, want)
		}
	}
	if _, err := originStep("../../../cdk.json", "dev-alice", "alice", now); err == nil {
		t.Error("a development stage has a rotation")
	}
}
