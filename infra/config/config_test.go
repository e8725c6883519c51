package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

const profiles = `{
  "prod": {"prod": true, "ownNetwork": true, "emailFrom": "no-reply@shop.example.com", "monitoring": {"alarmEmail": "alarms@shop.example.com"}, "logRetentionDays": 365, "throttleRate": 100, "throttleBurst": 200, "currency": "EUR", "lambdaMemoryMb": 512, "cartTtlUserHours": 168, "cartTtlGuestHours": 24, "cacheMaxStorageGb": 10, "cacheMaxEcpuPerSecond": 100000, "checkoutThrottleRate": 20, "checkoutThrottleBurst": 40, "region": "eu-west-1",
    "edge": {"rateLimitPer5Min": 2000, "costlyPerClientPer5Min": 100, "costlyPerIpPer5Min": 300, "origin": {"send": "a", "accept": ["a"]}}},
  "dev":  {"prod": false, "logRetentionDays": 7, "throttleRate": 10, "throttleBurst": 20, "currency": "EUR", "lambdaMemoryMb": 256, "cartTtlUserHours": 168, "cartTtlGuestHours": 24, "cacheMaxStorageGb": 1, "cacheMaxEcpuPerSecond": 5000, "checkoutThrottleRate": 5, "checkoutThrottleBurst": 10}
}`

func TestResolve(t *testing.T) {
	tests := []struct {
		name, stage string
		wantProd    bool
		wantErr     string
	}{
		{"prod profile", "prod", true, ""},
		{"developer stage falls back to dev", "dev-alice", false, ""},
		{"upper case refused", "Dev", false, "must be"},
		{"too long refused", strings.Repeat("a", 25), false, "must be"},
		{"leading digit refused", "1dev", false, "must be"},
		{"longest name", strings.Repeat("a", MaxStageName), false, ""},
		{"words joined by hyphens", "dev-alice-2", false, ""},
		{"trailing hyphen refused", "qa-", false, "must be"},
		{"double hyphen refused", "a--b", false, "must be"},
		{"leading hyphen refused", "-qa", false, "must be"},
		{"underscore refused", "dev_alice", false, "must be"},
		{"empty refused", "", false, "must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Resolve(tt.stage, "alice", []byte(profiles))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Prod != tt.wantProd || s.Name != tt.stage || s.Owner != "alice" {
				t.Errorf("got %+v", s)
			}
		})
	}
}

func TestResolveRefusesBadProfiles(t *testing.T) {
	tests := []struct{ name, profiles, stage string }{
		{"no dev profile", `{"prod": {"prod": true}}`, "dev-bob"},
		{"prod without the edge", strings.Replace(profiles, `"edge"`, `"noEdge"`, 1), "prod"},
		{"prod without an alarm subscriber (issue 38)", strings.Replace(profiles, `"alarmEmail"`, `"noAlarmEmail"`, 1), "prod"},
		{"prod without an SES sender (issue 38)", strings.Replace(profiles, `"emailFrom"`, `"noEmailFrom"`, 1), "prod"},
		{"edge limit under WAF's minimum", strings.Replace(profiles, `"costlyPerClientPer5Min": 100`, `"costlyPerClientPer5Min": 9`, 1), "prod"},
		{"sending an origin slot not accepted", strings.Replace(profiles, `"send": "a"`, `"send": "b"`, 1), "prod"},
		{"prod without prod flag", `{"prod": {"logRetentionDays": 1, "throttleRate": 1, "throttleBurst": 1, "currency": "EUR", "lambdaMemoryMb": 128}}`, "prod"},
		{"zero retention", `{"dev": {"throttleRate": 1, "throttleBurst": 1, "currency": "EUR", "lambdaMemoryMb": 128}}`, "dev-bob"},
		{"not json", `[`, "dev-bob"},
		{"no cart expiry", `{"dev": {"logRetentionDays": 7, "throttleRate": 1, "throttleBurst": 1, "currency": "EUR", "lambdaMemoryMb": 128, "cacheMaxStorageGb": 1, "cacheMaxEcpuPerSecond": 5000}}`, "dev-bob"},
		{"cache too small", `{"dev": {"logRetentionDays": 7, "throttleRate": 1, "throttleBurst": 1, "currency": "EUR", "lambdaMemoryMb": 128, "cartTtlUserHours": 1, "cartTtlGuestHours": 1, "cacheMaxStorageGb": 1, "cacheMaxEcpuPerSecond": 10}}`, "dev-bob"},
		{"CDN domain without certificate", `{"dev": {"logRetentionDays": 7, "throttleRate": 1, "throttleBurst": 1, "currency": "EUR", "lambdaMemoryMb": 128, "cartTtlUserHours": 1, "cartTtlGuestHours": 1, "cacheMaxStorageGb": 1, "cacheMaxEcpuPerSecond": 5000, "cdnDomainName": "img.example.com"}}`, "dev-bob"},
	}
	tests = append(tests, struct{ name, profiles, stage string }{"the account stack's name", profiles, AccountStage})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Resolve(tt.stage, "bob", []byte(tt.profiles)); err == nil {
				t.Error("Resolve accepted it")
			}
		})
	}
}

// Every physical name made from a stage name fits its service at the longest
// stage name, and keeps ElastiCache's rules (no double or trailing hyphen).
func TestPhysicalNamesFitAtTheLongestStage(t *testing.T) {
	s, err := Resolve("a"+strings.Repeat("-b", (MaxStageName-1)/2), "alice", []byte(profiles))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Name) < MaxStageName-1 {
		t.Fatalf("stage %q is not near the longest", s.Name)
	}
	cache := regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	names := []string{s.CacheName()}
	for _, fn := range contract.Functions() {
		names = append(names, s.CacheUserID(fn))
	}
	for _, n := range names {
		if len(n) > 40 || !cache.MatchString(n) {
			t.Errorf("cache or cache user name %q (%d characters) breaks ElastiCache's rules", n, len(n))
		}
	}
	for _, part := range []string{"Data", "Network", "Media", "Api"} {
		// CloudFormation: 128 characters; the longest derived logical name
		// CDK builds from a stack name (nested ids, exports) stays well inside.
		if n := s.StackName(part); len(n) > 128 {
			t.Errorf("stack name %q too long", n)
		}
	}
}

// A pull request's stage, pr-<number>, takes the preview profile when there
// is one (a day's life, the staff pool's threat protection only logging);
// any other name the dev profile.
func TestPreviewStagesTakeThePreviewProfile(t *testing.T) {
	withPreview := strings.Replace(profiles, `"dev":`, `"preview": {"prod": false, "logRetentionDays": 1, "throttleRate": 10, "throttleBurst": 20, "currency": "EUR", "lambdaMemoryMb": 256, "cartTtlUserHours": 168, "cartTtlGuestHours": 24, "cacheMaxStorageGb": 1, "cacheMaxEcpuPerSecond": 5000, "checkoutThrottleRate": 5, "checkoutThrottleBurst": 10, "stageTtlDays": 1, "staffThreatsAuditOnly": true},
  "dev":`, 1)
	for stage, preview := range map[string]bool{"pr-42": true, "pr-1": true, "pr-x": false, "dev-pr-42": false, "pr": false} {
		s, err := Resolve(stage, "ci", []byte(withPreview))
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if s.StaffThreatsAuditOnly != preview || (s.StageTTLDays == 1) != preview {
			t.Errorf("%s: audit only %v, ttl %d days; want the preview profile: %v", stage, s.StaffThreatsAuditOnly, s.StageTTLDays, preview)
		}
	}
	if s, err := Resolve("pr-42", "ci", []byte(profiles)); err != nil || s.StaffThreatsAuditOnly {
		t.Errorf("without a preview profile: %+v, %v", s, err)
	}
}

// The rotation order, walked with a fake clock: CloudFront never sends a
// value the web ACL does not accept, each step waits for the last to
// propagate, and after three steps the other slot is the only one.
func TestOriginRotation(t *testing.T) {
	clock := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	o := OriginRotation{Send: "a", Accept: []string{"a"}}
	var waits []time.Duration
	for i := 0; i < 3; i++ {
		step := NextOriginStep(o, clock)
		if err := step.Next.validate(); err != nil {
			t.Fatalf("step %d: %+v: %v", i+1, step.Next, err)
		}
		if step.Next.Send != o.Send && !slices.Contains(o.Accept, step.Next.Send) {
			t.Fatalf("step %d switches CloudFront to %q before the web ACL accepted it", i+1, step.Next.Send)
		}
		if removed := slices.DeleteFunc(slices.Clone(o.Accept), func(s string) bool { return slices.Contains(step.Next.Accept, s) }); slices.Contains(removed, o.Send) {
			t.Fatalf("step %d retires %q while CloudFront still sends it", i+1, o.Send)
		}
		waits = append(waits, step.NotBefore.Sub(clock))
		clock = clock.Add(time.Minute) // applied a minute after it was made
		step.Next.Since = clock.Format(time.RFC3339)
		o = step.Next
		clock = clock.Add(step.NotBefore.Sub(clock) + time.Hour) // whatever the next wait is, it has passed
	}
	if o.Send != "b" || !slices.Equal(o.Accept, []string{"b"}) {
		t.Fatalf("after a rotation: %+v, want b only", o)
	}
	if waits[0] != 0 {
		t.Errorf("the first step waits %v, want none", waits[0])
	}
	// Too early: the next step names when it may be applied.
	o = OriginRotation{Send: "b", Accept: []string{"b", "a"}, Since: "2026-12-06T12:00:00Z"}
	early := time.Date(2026, 12, 6, 12, 1, 0, 0, time.UTC)
	if step := NextOriginStep(o, early); step.Next.Send != "a" || !step.NotBefore.Equal(early.Add(-time.Minute).Add(OriginWafSettle)) {
		t.Errorf("switch: %+v, want send a not before the web ACL settled", step)
	}
	o = OriginRotation{Send: "a", Accept: []string{"b", "a"}, Since: "2026-12-06T12:00:00Z"}
	if step := NextOriginStep(o, early); !slices.Equal(step.Next.Accept, []string{"a"}) || step.NotBefore.Sub(early) < OriginCdnSettle-2*time.Minute {
		t.Errorf("retire: %+v, want b retired after CloudFront settled", step)
	}
}

func TestOriginRotationValidation(t *testing.T) {
	for _, o := range []OriginRotation{
		{Send: "a", Accept: []string{"b"}},
		{Send: "", Accept: []string{"a"}},
		{Send: "a", Accept: []string{"a", "c"}},
		{Send: "a", Accept: []string{"a", "a"}},
		{Send: "a", Accept: []string{"a"}, Since: "yesterday"},
	} {
		if o.validate() == nil {
			t.Errorf("%+v passes", o)
		}
	}
}
