// Package config is the typed, validated configuration of one stage of the
// shop: which profile it follows (prod or a development stage), how long logs
// live, how hard the API may be called. Only infra/cmd/app reads it from the
// CDK context; everything else receives a Stage.
package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Stage is everything that differs between stages.
type Stage struct {
	// Name goes into every stack id (Shop-<name>-...) and every tag.
	Name string `json:"-"`
	// Owner is who the stage belongs to, for the cost allocation tag.
	Owner string `json:"-"`
	// Prod keeps stateful resources on stack deletion and turns on deletion protection.
	Prod bool `json:"prod"`
	// Account and Region pin the environment; empty means the CLI's (env-agnostic synth).
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`

	LogRetentionDays int     `json:"logRetentionDays"`
	ThrottleRate     float64 `json:"throttleRate"`  // steady requests per second for the whole API
	ThrottleBurst    float64 `json:"throttleBurst"` // burst on top of the rate
	Currency         string  `json:"currency"`
	LambdaMemoryMB   float64 `json:"lambdaMemoryMb"`
	// CorsOrigins are the browser origins allowed to call the API.
	CorsOrigins []string `json:"corsOrigins"`

	// Cart: the sliding idle time of carts, and the serverless cache's limits.
	CartTTLUserHours  int     `json:"cartTtlUserHours"`
	CartTTLGuestHours int     `json:"cartTtlGuestHours"`
	CacheMaxStorageGB float64 `json:"cacheMaxStorageGb"`     // 1..5000
	CacheMaxECPU      float64 `json:"cacheMaxEcpuPerSecond"` // 1000..15000000

	// ThreatProtection turns on Cognito's threat protection on the customer
	// pool (the Plus plan, priced per monthly active user).
	ThreatProtection bool `json:"threatProtection,omitempty"`
	// StaffThreatsAuditOnly makes the staff pool's threat protection only log
	// (preview stages, whose administrators are CI's throwaway users signing
	// in from runners); otherwise it blocks risky sign-ins.
	StaffThreatsAuditOnly bool `json:"staffThreatsAuditOnly,omitempty"`
	// EmailFrom, when set, sends sign-up and recovery mail through SES from
	// this address (a verified SES identity in the stage's region).
	EmailFrom string `json:"emailFrom,omitempty"`
	// EmailDomain is the verified SES identity when it is emailFrom's domain
	// (not the address); SesRegion the region it is verified in, when it is
	// not the stage's (one Cognito can send from: see docs/stages.md).
	EmailDomain string `json:"emailDomain,omitempty"`
	SesRegion   string `json:"sesRegion,omitempty"`

	// Orders: how long a pending order holds its units (minutes, 0 means
	// 15), how many pending orders a user may hold (0 means 3), and how many
	// units of one product their pending orders may hold (0 means 10).
	OrderHoldMinutes       int `json:"orderHoldMinutes,omitempty"`
	MaxPendingOrders       int `json:"maxPendingOrders,omitempty"`
	MaxUnitsHeldPerProduct int `json:"maxUnitsHeldPerProduct,omitempty"`
	// CheckoutThrottleRate and CheckoutThrottleBurst limit the routes that
	// move stock (checkout, cancel, confirm), below the stage's default.
	CheckoutThrottleRate  float64 `json:"checkoutThrottleRate"`
	CheckoutThrottleBurst float64 `json:"checkoutThrottleBurst"`
	// ReservedConcurrency caps each function (by name), so that none can
	// take the account's whole concurrency; none means unreserved (new
	// accounts have too little concurrency to reserve any).
	ReservedConcurrency map[string]int `json:"reservedConcurrency,omitempty"`

	// Edge, when set, puts CloudFront with an AWS WAF web ACL in front of
	// the API (a Shop-<stage>-Edge stack in us-east-1 holds the web ACL), and
	// the functions refuse calls that did not come through it. It needs the
	// stage's region pinned (region).
	Edge *Edge `json:"edge,omitempty"`

	// StageTTLDays is how long a development stage lives after its last
	// deploy: make deploy tags its stacks expires-at, and the account's reaper
	// deletes them after. 0 means 7; prod never expires.
	StageTTLDays int `json:"stageTtlDays,omitempty"`
	// LongLived stages (staging) never expire: make deploy gives them no
	// expires-at, and the reaper leaves a stage without one alone.
	LongLived bool `json:"longLived,omitempty"`

	// OwnNetwork gives the stage a VPC of its own. Without it the stage runs in
	// the account's shared development network (the Shop-Account stack), so
	// that an account holds many development stages.
	OwnNetwork bool `json:"ownNetwork,omitempty"`

	// Deployment, when set, puts every function behind a live alias and
	// shifts it to a new version through CodeDeploy (prod); without it a
	// deploy updates every function at once (development stages).
	Deployment *Deployment `json:"deployment,omitempty"`

	// Monitoring: the alarms' thresholds and who hears of them. Zero
	// values take DefaultMonitoring's.
	Monitoring Monitoring `json:"monitoring,omitempty"`

	// CDN of product images: a custom domain and its ACM certificate (in
	// us-east-1) give it TLS 1.2 or later; both or neither.
	CdnDomainName     string `json:"cdnDomainName,omitempty"`
	CdnCertificateArn string `json:"cdnCertificateArn,omitempty"`
}

// Monitoring is a stage's alarm settings. Prod gets the full set of alarms
// and the checkout SLO; development stages get the dashboard and the few
// alarms that every tier has.
type Monitoring struct {
	AlarmEmail               string  `json:"alarmEmail,omitempty"`
	Api5xxPercent            float64 `json:"api5xxPercent,omitempty"`
	ApiLatencyP99Ms          float64 `json:"apiLatencyP99Ms,omitempty"`
	DurationPercentOfTimeout float64 `json:"durationPercentOfTimeout,omitempty"`
	CacheUsePercent          float64 `json:"cacheUsePercent,omitempty"`
	PeriodMinutes            float64 `json:"periodMinutes,omitempty"`
	EvaluationPeriods        float64 `json:"evaluationPeriods,omitempty"`
	// CheckoutAvailability is the SLO of POST /orders (e.g. 0.999), in prod.
	CheckoutAvailability float64 `json:"checkoutAvailability,omitempty"`
}

// DefaultMonitoring: 1% 5xx, p99 over 2 s, 80% of a function's timeout or of
// the cache's limits, for 3 periods of 5 minutes; checkout at 99.9%.
var DefaultMonitoring = Monitoring{Api5xxPercent: 1, ApiLatencyP99Ms: 2000, DurationPercentOfTimeout: 80, CacheUsePercent: 80,
	PeriodMinutes: 5, EvaluationPeriods: 3, CheckoutAvailability: 0.999}

// Alarms is the stage's monitoring with defaults for what it leaves zero.
func (s Stage) Alarms() Monitoring {
	m, d := s.Monitoring, DefaultMonitoring
	for _, f := range []struct{ v, def *float64 }{{&m.Api5xxPercent, &d.Api5xxPercent}, {&m.ApiLatencyP99Ms, &d.ApiLatencyP99Ms},
		{&m.DurationPercentOfTimeout, &d.DurationPercentOfTimeout}, {&m.CacheUsePercent, &d.CacheUsePercent},
		{&m.PeriodMinutes, &d.PeriodMinutes}, {&m.EvaluationPeriods, &d.EvaluationPeriods}, {&m.CheckoutAvailability, &d.CheckoutAvailability}} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return m
}

// DefaultProfile is the profile of any stage without one of its own in cdk.json.
const DefaultProfile = "dev"

// PreviewProfile is the profile of a pull request's preview stage, pr-<number>.
const PreviewProfile = "preview"

// MaxStageName is contract.MaxStageName.
const MaxStageName = contract.MaxStageName

// ValidName says what is wrong with a stage name, or nil (contract.ValidStageName).
func ValidName(name string) error { return contract.ValidStageName(name) }

// Resolve picks the profile for stage name from profiles (the raw JSON of the
// "shop:stages" context key): a profile of the same name, or DefaultProfile.
func Resolve(name, owner string, profiles json.RawMessage) (Stage, error) {
	if err := ValidName(name); err != nil {
		return Stage{}, err
	}
	if name == AccountStage {
		return Stage{}, fmt.Errorf("stage name %q is the account-level stack's (%s), not a stage's", name, AccountStackName)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(profiles, &all); err != nil {
		return Stage{}, fmt.Errorf("context shop:stages: %w", err)
	}
	raw, ok := all[name]
	if !ok && contract.IsPreviewStage(name) {
		raw, ok = all[PreviewProfile]
	}
	if !ok {
		raw, ok = all[DefaultProfile]
	}
	if !ok {
		names := make([]string, 0, len(all))
		for n := range all {
			names = append(names, n)
		}
		sort.Strings(names)
		return Stage{}, fmt.Errorf("context shop:stages has no profile %q or %q (has %v)", name, DefaultProfile, names)
	}
	var s Stage
	if err := json.Unmarshal(raw, &s); err != nil {
		return Stage{}, fmt.Errorf("profile for stage %q: %w", name, err)
	}
	s.Name, s.Owner = name, owner
	if name == "prod" && (!s.Prod || !s.OwnNetwork) {
		return Stage{}, fmt.Errorf("stage prod must have a profile with prod: true and ownNetwork: true")
	}
	return s, s.Validate()
}

// Validate checks the values a stage cannot work without.
func (s Stage) Validate() error {
	switch {
	case s.LogRetentionDays < 1:
		return fmt.Errorf("stage %s: logRetentionDays must be at least 1", s.Name)
	case s.ThrottleRate <= 0 || s.ThrottleBurst <= 0:
		return fmt.Errorf("stage %s: throttleRate and throttleBurst must be positive", s.Name)
	case len(s.Currency) != 3:
		return fmt.Errorf("stage %s: currency must be an ISO 4217 code", s.Name)
	case s.LambdaMemoryMB < 128 || s.LambdaMemoryMB > 10240:
		return fmt.Errorf("stage %s: lambdaMemoryMb must be 128 to 10240", s.Name)
	case s.CartTTLUserHours < 1 || s.CartTTLGuestHours < 1:
		return fmt.Errorf("stage %s: cartTtlUserHours and cartTtlGuestHours must be at least 1", s.Name)
	case s.CacheMaxStorageGB < 1 || s.CacheMaxStorageGB > 5000:
		return fmt.Errorf("stage %s: cacheMaxStorageGb must be 1 to 5000", s.Name)
	case s.CacheMaxECPU < 1000 || s.CacheMaxECPU > 15_000_000:
		return fmt.Errorf("stage %s: cacheMaxEcpuPerSecond must be 1000 to 15000000", s.Name)
	case s.EmailDomain != "" && !strings.HasSuffix(s.EmailFrom, "@"+s.EmailDomain):
		return fmt.Errorf("stage %s: emailDomain %q must be the domain of emailFrom %q", s.Name, s.EmailDomain, s.EmailFrom)
	case (s.CdnDomainName == "") != (s.CdnCertificateArn == ""):
		return fmt.Errorf("stage %s: cdnDomainName and cdnCertificateArn go together", s.Name)
	case s.Owner == "":
		return fmt.Errorf("stage %s: owner is empty", s.Name)
	case s.CheckoutThrottleRate <= 0 || s.CheckoutThrottleBurst <= 0 || s.CheckoutThrottleRate > s.ThrottleRate:
		return fmt.Errorf("stage %s: checkoutThrottleRate and checkoutThrottleBurst must be positive, and the rate at most throttleRate", s.Name)
	case s.OrderHoldMinutes < 0 || s.OrderHoldMinutes > 24*60 || s.MaxPendingOrders < 0 || s.MaxPendingOrders > 100 ||
		s.MaxUnitsHeldPerProduct < 0 || s.MaxUnitsHeldPerProduct > 100:
		return fmt.Errorf("stage %s: orderHoldMinutes must be 0 to 1440, maxPendingOrders and maxUnitsHeldPerProduct 0 to 100", s.Name)
	}
	if m := s.Alarms(); m.Api5xxPercent < 0 || m.Api5xxPercent > 100 || m.DurationPercentOfTimeout > 100 || m.CacheUsePercent > 100 ||
		m.PeriodMinutes < 1 || m.EvaluationPeriods < 1 || m.CheckoutAvailability <= 0.5 || m.CheckoutAvailability >= 1 {
		return fmt.Errorf("stage %s: monitoring: percentages must be 0 to 100, periodMinutes and evaluationPeriods at least 1, checkoutAvailability between 0.5 and 1", s.Name)
	}
	if s.Prod && (s.Alarms().AlarmEmail == "" || s.EmailFrom == "") {
		// Prod's alarms must reach someone, and its customers' sign-up and
		// recovery mail must not ride Cognito's default sender (50 mails
		// a day): make preflight checks the subscription and the SES
		// identity, but a bare cdk deploy never runs it (issue 38).
		return fmt.Errorf("stage %s: prod needs monitoring.alarmEmail (who hears of its alarms) and emailFrom (its SES sender)", s.Name)
	}
	if s.Prod && s.Edge == nil {
		// Without the edge, nothing limits one client (issue 25): prod
		// refuses to synthesize.
		return fmt.Errorf("stage %s: prod needs the edge profile (CloudFront, per-client WAF limits, origin verification)", s.Name)
	}
	if e := s.Edge; e != nil {
		if s.Region == "" || e.RateLimitPer5Min < wafMinimumRate || e.CostlyPerClientPer5Min < wafMinimumRate || e.CostlyPerIPPer5Min < wafMinimumRate {
			return fmt.Errorf("stage %s: edge needs the stage's region pinned, and each rate limit at least %d (WAF's minimum)", s.Name, wafMinimumRate)
		}
		if err := e.Origin.validate(); err != nil {
			return fmt.Errorf("stage %s: edge: %w", s.Name, err)
		}
	}
	if d := s.Deployment; d != nil && (d.CanaryPercent < 1 || d.CanaryPercent > 99 || d.IntervalMinutes < 1 || d.IntervalMinutes > 60) {
		return fmt.Errorf("stage %s: deployment: canaryPercent must be 1 to 99 and intervalMinutes 1 to 60", s.Name)
	}
	for fn, n := range s.ReservedConcurrency {
		if n < 1 {
			return fmt.Errorf("stage %s: reservedConcurrency of %s must be at least 1", s.Name, fn)
		}
	}
	return nil
}

// CacheName is the stage's serverless cache, which is also its IAM user and
// user group: ElastiCache allows 40 characters.
func (s Stage) CacheName() string { return contract.StageCacheUser(s.Name) }

// CacheUserID is the ElastiCache user fn connects as in a stage with a cache
// of its own (prod): shop-<stage>-<function>. A development stage on the
// shared cache has one user, CacheName.
func (s Stage) CacheUserID(fn contract.Function) string { return "shop-" + s.Name + "-" + string(fn) }

// StackName is the stage's stack of the given part (Data, Network, ...).
func (s Stage) StackName(part string) string { return contract.StackName(s.Name, part) }

// Account is what every development stage of an account and region shares,
// deployed once as the Shop-Account stack: the development network (and the
// stack reaper). It comes from the "shop:account" context key.
type Account struct {
	// LogRetentionDays of the shared network's flow logs and the reaper's logs.
	LogRetentionDays int `json:"logRetentionDays"`
	// ReaperMode is "report" (the default: the reaper says what it would
	// delete) or "delete".
	ReaperMode string `json:"reaperMode,omitempty"`
	// DevCacheMaxStorageGB and DevCacheMaxECPU limit the development
	// stages' shared cache (0: 5 GB and 20,000 ECPU a second).
	DevCacheMaxStorageGB float64 `json:"devCacheMaxStorageGb,omitempty"`
	DevCacheMaxECPU      float64 `json:"devCacheMaxEcpuPerSecond,omitempty"`
	// NotifyEmail, when set, subscribes to the reaper's notices and reports.
	NotifyEmail string `json:"notifyEmail,omitempty"`
	// Account and Region pin the environment; empty means the CLI's.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
}

// AccountStackName is the one account-level stack, and AccountStage the
// STAGE that selects it alone (make synth STAGE=account, make cost
// STAGE=account); no stage may take that name.
const (
	AccountStackName = "Shop-Account"
	AccountStage     = "account"
)

// ResolveAccount reads the account settings from the raw JSON of the
// "shop:account" context key.
func ResolveAccount(raw json.RawMessage) (Account, error) {
	var a Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return Account{}, fmt.Errorf("context shop:account: %w", err)
	}
	if a.LogRetentionDays < 1 {
		return Account{}, fmt.Errorf("context shop:account: logRetentionDays must be at least 1")
	}
	if a.DevCacheMaxStorageGB == 0 {
		a.DevCacheMaxStorageGB = 5
	}
	if a.DevCacheMaxECPU == 0 {
		a.DevCacheMaxECPU = 20000
	}
	switch a.ReaperMode {
	case "":
		a.ReaperMode = "report"
	case "report", "delete":
	default:
		return Account{}, fmt.Errorf("context shop:account: reaperMode must be report or delete, not %q", a.ReaperMode)
	}
	return a, nil
}

// DefaultStageTTLDays is a development stage's life after its last deploy.
const DefaultStageTTLDays = 7

// ExpiresAt is when a deploy at now makes the stage expire, and false for a
// stage that never does (prod, and long-lived stages such as staging).
func (s Stage) ExpiresAt(now time.Time) (time.Time, bool) {
	if s.Prod || s.LongLived {
		return time.Time{}, false
	}
	days := s.StageTTLDays
	if days <= 0 {
		days = DefaultStageTTLDays
	}
	return now.UTC().Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second), true
}

// OrderHold is how long a pending order holds its units.
func (s Stage) OrderHold() time.Duration {
	if s.OrderHoldMinutes == 0 {
		return 15 * time.Minute
	}
	return time.Duration(s.OrderHoldMinutes) * time.Minute
}

// MaxPending is how many pending orders a user may hold.
func (s Stage) MaxPending() int {
	if s.MaxPendingOrders == 0 {
		return 3
	}
	return s.MaxPendingOrders
}

// MaxUnitsHeld is how many units of one product a user's pending orders may hold.
func (s Stage) MaxUnitsHeld() int {
	if s.MaxUnitsHeldPerProduct == 0 {
		return 10
	}
	return s.MaxUnitsHeldPerProduct
}

// Deployment is how a new version takes the traffic: CanaryPercent of it
// for IntervalMinutes, then all, rolled back on the function's alarms.
type Deployment struct {
	CanaryPercent   float64 `json:"canaryPercent"`
	IntervalMinutes float64 `json:"intervalMinutes"`
}

// Edge configures the CDN and web ACLs in front of the API.
type Edge struct {
	// RateLimitPer5Min blocks a viewer address that sends more requests
	// than this in five minutes, on any path.
	RateLimitPer5Min int `json:"rateLimitPer5Min"`
	// CostlyPerClientPer5Min blocks a caller (a bearer token, or a guest's
	// X-Session-Id) that sends more requests than this to the routes that
	// cost the most (contract.Route.Costly) in five minutes.
	CostlyPerClientPer5Min int `json:"costlyPerClientPer5Min"`
	// CostlyPerIPPer5Min is the same limit per viewer address, whatever the
	// token or session: minting new ones from one address does not escape it.
	CostlyPerIPPer5Min int `json:"costlyPerIpPer5Min"`
	// Origin is where the rotation of the origin-verification value stands.
	Origin OriginRotation `json:"origin"`
}

// wafMinimumRate is the smallest limit of an AWS WAF rate-based rule (AWS
// WAF Developer Guide, "Rate-based rule statement").
const wafMinimumRate = 10

// OriginSlots are the two secrets that hold origin-verification values:
// one is sent while the other is replaced, never both at once.
var OriginSlots = []string{"a", "b"}

// OriginRotation says which slot CloudFront sends in X-Origin-Verify and
// which slots the API's regional web ACL accepts. A rotation moves through
// NextOriginStep; Since is when the last step was made (RFC 3339), so that
// the next one waits for it to propagate.
type OriginRotation struct {
	Send   string   `json:"send"`
	Accept []string `json:"accept"`
	Since  string   `json:"since,omitempty"`
}

func (o OriginRotation) validate() error {
	if !slices.Contains(OriginSlots, o.Send) || !slices.Contains(o.Accept, o.Send) || len(o.Accept) > len(OriginSlots) ||
		len(o.Accept) == 2 && o.Accept[0] == o.Accept[1] {
		return fmt.Errorf("origin: send must be one of %v and accepted (accept %v, send %q)", OriginSlots, o.Accept, o.Send)
	}
	for _, a := range o.Accept {
		if !slices.Contains(OriginSlots, a) {
			return fmt.Errorf("origin: accept names an unknown slot %q", a)
		}
	}
	if o.Since != "" {
		if _, err := time.Parse(time.RFC3339, o.Since); err != nil {
			return fmt.Errorf("origin: since is not RFC 3339: %v", err)
		}
	}
	return nil
}

// EdgeRegion is where CloudFront's web ACLs live.
const EdgeRegion = "us-east-1"

// How long a step of the origin rotation waits before the next: AWS WAF
// applies a web ACL change within about a minute; CloudFront propagates a
// distribution change to every edge location in minutes, usually under 15.
// Both are AWS's behaviour, not settled offline: the margins are wide.
const (
	OriginWafSettle = 10 * time.Minute
	OriginCdnSettle = 45 * time.Minute
)

// OriginStep is the next step of an origin rotation: the profile to deploy,
// not before NotBefore, and what to do first.
type OriginStep struct {
	Next      OriginRotation
	NotBefore time.Time
	Do        string
}

// NextOriginStep is the rotation order of the origin-verification value:
//  1. put a new value in the slot that is not accepted, and accept it too;
//  2. once the web ACL has it (OriginWafSettle), send it from CloudFront;
//  3. once every edge location sends it (OriginCdnSettle), stop accepting
//     the old one.
//
// Accept's last slot is the newest. At no step does CloudFront send a
// value the web ACL does not accept, and an old value stops opening the
// API one full step after CloudFront stopped sending it.
func NextOriginStep(o OriginRotation, now time.Time) OriginStep {
	since, _ := time.Parse(time.RFC3339, o.Since) // zero when unset: no wait
	stamp := now.UTC().Format(time.RFC3339)
	newest := o.Accept[len(o.Accept)-1]
	switch {
	case len(o.Accept) == 1:
		other := OriginSlots[0]
		if other == o.Send {
			other = OriginSlots[1]
		}
		return OriginStep{Next: OriginRotation{Send: o.Send, Accept: []string{o.Send, other}, Since: stamp}, NotBefore: now,
			Do: "put a new random value in origin slot " + other + " (aws secretsmanager put-secret-value), then deploy: the web ACL accepts " + o.Send + " and " + other}
	case o.Send != newest:
		return OriginStep{Next: OriginRotation{Send: newest, Accept: o.Accept, Since: stamp}, NotBefore: since.Add(OriginWafSettle),
			Do: "deploy: CloudFront sends slot " + newest}
	default:
		return OriginStep{Next: OriginRotation{Send: newest, Accept: []string{newest}, Since: stamp}, NotBefore: since.Add(OriginCdnSettle),
			Do: "deploy: the web ACL stops accepting slot " + o.Accept[0]}
	}
}
