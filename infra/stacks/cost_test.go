package stacks

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/infra/cost"
)

func stageTemplates(t *testing.T, stage string) map[string]cost.Template {
	t.Helper()
	out := map[string]cost.Template{}
	for name, tp := range tpl {
		if !strings.HasPrefix(name, "Shop-"+stage+"-") && !(stage == "account" && name == config.AccountStackName) {
			continue
		}
		raw, _ := json.Marshal(tp)
		var c cost.Template
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}

// The idle month of each tier, from the synthesized templates, against a
// figure worked out by hand from prices.json (tolerance 1%). A development
// stage idles under a dollar (issue 23): what every one of them needs (the
// network, the cache, the cursor secret, the reaper) is the account's, once.
func TestIdleCostPerTier(t *testing.T) {
	const (
		alarmMetric = 0.10
		scheduled   = 43800.0 // rate(1 minute) over 730 hours
		// The expiry job: 43,800 requests at $0.20/M plus 43,800 x 50 ms x memory in GB x $0.0000133334.
		expiryDev  = scheduled*0.20/1e6 + scheduled*0.05*256.0/1024*0.0000133334 // 0.0161
		expiryProd = scheduled*0.20/1e6 + scheduled*0.05*512.0/1024*0.0000133334 // 0.0234
		cacheIdle  = 0.1 * 0.0837 * 730                                          // 100 MB minimum: 6.11
	)
	want := map[string]map[string]float64{
		"dev-test": {
			// No alarm, dashboard, secret or cache of its own: the expiry job.
			"Shop-dev-test-Api":     expiryDev,
			"Shop-dev-test-Data":    0,
			"Shop-dev-test-Network": 0,
			"Shop-dev-test-Media":   0,
		},
		"account": {
			// The shared development cache's minimum, the cursor secret, the
			// hourly reaper (730 invocations at 128 MB: a hundredth of a cent),
			// the development dashboard, its 3 cache alarms and their topic's key.
			config.AccountStackName: cacheIdle + 0.40 + 730*0.20/1e6 + 730*0.05*128.0/1024*0.0000133334 + 3 + 3*alarmMetric + 1,
		},
		"prod": {
			// 34 alarms on 42 metrics (the 5xx rate, 3 tables and 4 burn-rate
			// windows read two each; the expiry job's lag and poison orders
			// one each), 2 composite alarms, the dashboard, 5 detailed route
			// metrics of POST /orders at $0.30, the job.
			"Shop-prod-Api": 42*alarmMetric + 2*0.50 + 3 + 5*0.30 + expiryProd + 1 + 6*alarmMetric + 4*alarmMetric + 5 + 1 +
				3*alarmMetric + 4*alarmMetric, // + the alarm topic's key, each function's rollback alarm, the events function's 3 and its failure queue, the origin gate (web ACL, 1 rule); the failed answers of the 3 HTTP functions' new versions (1 metric each) and the authorizer's denial rate (4 metrics); the pre-traffic hooks idle at nothing
			"Shop-prod-Data":    3 * 0.40, // cursor secret, two origin slots
			"Shop-prod-Network": cacheIdle,
			"Shop-prod-Media":   alarmMetric, // the images function's rollback alarm
			"Shop-prod-Edge":    5 + 6*1.0,   // web ACL and 6 rules (4 rate limits, 2 managed groups)
		},
	}
	usage, err := cost.DefaultUsage(nil)
	if err != nil {
		t.Fatal(err)
	}
	for stage, stacks := range want {
		lines, err := cost.Estimate(stageTemplates(t, stage), cost.DefaultPrices(), usage)
		if err != nil {
			t.Fatal(err)
		}
		names, idle, busy := cost.Totals(lines)
		var total, wantTotal float64
		for stack, w := range stacks {
			if math.Abs(idle[stack]-w) > 0.01*w+0.001 {
				t.Errorf("%s idle = %.4f, want %.4f", stack, idle[stack], w)
			}
			wantTotal += w
		}
		for _, n := range names {
			total += idle[n]
			if busy[n] < idle[n] {
				t.Errorf("%s: under usage %.2f is less than idle %.2f", n, busy[n], idle[n])
			}
		}
		if len(names) > len(stacks) {
			t.Errorf("%s: priced stacks %v, want %d", stage, names, len(stacks))
		}
		t.Logf("%s: idle %.2f USD a month (hand-computed %.2f)", stage, total, wantTotal)
		if stage == "dev-test" && total > 1.00 {
			t.Errorf("a development stage idles at %.2f USD a month, over the dollar of issue 23", total)
		}
	}
}

// An override that names an unknown key is refused, not ignored.
func TestUsageOverride(t *testing.T) {
	u, err := cost.DefaultUsage([]byte(`{"apiRequests": 10, "note": "x"}`))
	if err != nil || u.APIRequests != 10 || u.Orders == 0 {
		t.Fatalf("override = %+v, %v", u, err)
	}
	if _, err := cost.DefaultUsage([]byte(`{"apiRequest": 10}`)); err == nil {
		t.Fatal("a misspelt key was accepted")
	}
}
