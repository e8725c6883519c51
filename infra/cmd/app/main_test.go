package main

import (
	"strings"
	"testing"

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
