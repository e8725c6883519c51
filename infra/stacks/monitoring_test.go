package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/infra/config"
)

// alarmSpec is what an alarm watches, read from the template.
func alarmSpec(a resource) string {
	p := a.Properties
	if p["Metrics"] != nil { // metric math: the expression and its inputs
		var parts []string
		for _, m := range p["Metrics"].([]any) {
			mm := m.(map[string]any)
			if e, ok := mm["Expression"]; ok {
				parts = append(parts, fmt.Sprint(e))
				continue
			}
			stat := get(mm, "MetricStat")
			parts = append(parts, fmt.Sprintf("%s/%s %s %v", get(stat, "Metric", "Namespace"), get(stat, "Metric", "MetricName"), get(stat, "Stat"), get(stat, "Period")))
		}
		return strings.Join(parts, "; ")
	}
	stat := p["Statistic"]
	if stat == nil {
		stat = p["ExtendedStatistic"]
	}
	return fmt.Sprintf("%s/%s %s %v", p["Namespace"], p["MetricName"], stat, p["Period"])
}

// Every alarm of prod and of the account's development monitoring: what it
// watches, its threshold and how long a breach must last, and that it tells
// the alarm topic. An expiring development stage has none (issue 23).
func TestAlarmsPerTier(t *testing.T) {
	want := map[string]map[string]string{
		"base": {
			"Api5xx":                "IF(requests > 0, 100 * errors / requests, 0); AWS/ApiGateway/5XXError Sum 300; AWS/ApiGateway/Count Sum 300 >= 1 x3",
			"FunctionCatalogErrors": "AWS/Lambda/Errors Sum 300 >= 1 x3", "FunctionCartErrors": "AWS/Lambda/Errors Sum 300 >= 1 x3",
			"FunctionOrdersErrors": "AWS/Lambda/Errors Sum 300 >= 1 x3", "FunctionAuthorizerErrors": "AWS/Lambda/Errors Sum 300 >= 1 x3",
			"FunctionExpiryErrors": "AWS/Lambda/Errors Sum 300 >= 1 x3", "FunctionImagesErrors": "AWS/Lambda/Errors Sum 300 >= 1 x3",
			"CacheThrottled":       "AWS/ElastiCache/ThrottledCmds Sum 300 >= 1 x3",
			"ImagesFailures":       "AWS/SQS/ApproximateNumberOfMessagesVisible Maximum 300 >= 1 x3",
			"FunctionEventsErrors": "AWS/Lambda/Errors Sum 300 >= 1 x3",
			"EventsFailures":       "AWS/SQS/ApproximateNumberOfMessagesVisible Maximum 300 >= 1 x3",
			"ExpiryQuarantined":    "Shop/OrdersQuarantined Sum 300 >= 1 x1",
			"ExpiryLag":            "Shop/OldestDueAge Maximum 300 >= 300 x1",
		},
	}
	prod := map[string]string{
		"ApiLatency":              "AWS/ApiGateway/Latency p99 300 >= 2000 x3",
		"CacheEcpu":               "AWS/ElastiCache/ElastiCacheProcessingUnits Sum 300 >= 2.4e+07 x3", // 100,000/s x 80% x 300 s
		"CacheStorage":            "AWS/ElastiCache/BytesUsedForCache Maximum 300 >= 8e+09 x3",        // 10 GB x 80%
		"TableProductsThrottles":  "reads + writes; AWS/DynamoDB/ReadThrottleEvents Sum 300; AWS/DynamoDB/WriteThrottleEvents Sum 300 >= 1 x3",
		"TableOrdersThrottles":    "reads + writes; AWS/DynamoDB/ReadThrottleEvents Sum 300; AWS/DynamoDB/WriteThrottleEvents Sum 300 >= 1 x3",
		"TableCustomersThrottles": "reads + writes; AWS/DynamoDB/ReadThrottleEvents Sum 300; AWS/DynamoDB/WriteThrottleEvents Sum 300 >= 1 x3",
		"CheckoutLatencyP99":      "AWS/ApiGateway/Latency p99 300 >= 2000 x3",
		"CheckoutBurn144x60m":     "IF(requests > 0, errors / requests, 0); AWS/ApiGateway/5XXError Sum 3600; AWS/ApiGateway/Count Sum 3600 >= 0.0144 x1",
		"CheckoutBurn144x5m":      "IF(requests > 0, errors / requests, 0); AWS/ApiGateway/5XXError Sum 300; AWS/ApiGateway/Count Sum 300 >= 0.0144 x1",
		"CheckoutBurn6x360m":      "IF(requests > 0, errors / requests, 0); AWS/ApiGateway/5XXError Sum 21600; AWS/ApiGateway/Count Sum 21600 >= 0.006 x1",
		"CheckoutBurn6x30m":       "IF(requests > 0, errors / requests, 0); AWS/ApiGateway/5XXError Sum 1800; AWS/ApiGateway/Count Sum 1800 >= 0.006 x1",
	}
	for _, fn := range []string{"Catalog", "Cart", "Orders", "Authorizer", "Expiry", "Images", "Events"} {
		timeout := map[bool]string{true: "16000", false: "8000"}[fn == "Images" || fn == "Events"] // 80% of 20 s or 10 s
		prod["Function"+fn+"Throttles"] = "AWS/Lambda/Throttles Sum 300 >= 1 x3"
		prod["Function"+fn+"Duration"] = "AWS/Lambda/Duration p99 300 >= " + timeout + " x3"
	}
	want["Shop-prod-Api"] = map[string]string{}
	for k, v := range want["base"] {
		want["Shop-prod-Api"][k] = v
	}
	for k, v := range prod {
		want["Shop-prod-Api"][k] = v
	}
	delete(want, "base")
	// The shared development cache, on the account's development topic.
	want[config.AccountStackName] = map[string]string{
		"CacheThrottled": "AWS/ElastiCache/ThrottledCmds Sum 300 >= 1 x3",
		"CacheEcpu":      "AWS/ElastiCache/ElastiCacheProcessingUnits Sum 300 >= 4.8e+06 x3", // 20,000/s x 80% x 300 s
		"CacheStorage":   "AWS/ElastiCache/BytesUsedForCache Maximum 300 >= 4e+09 x3",        // 5 GB x 80%
	}
	for _, stack := range []string{"Shop-dev-test-Api", "Shop-dev-test-Data", "Shop-dev-test-Network", "Shop-dev-test-Media"} {
		for _, kind := range []string{"AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm", "AWS::SNS::Topic", "AWS::KMS::Key", "AWS::CloudWatch::Dashboard"} {
			if n := len(ofType(stack, kind)); n != 0 {
				t.Errorf("%s: %d %s in an expiring development stage", stack, n, kind)
			}
		}
	}
	for _, stack := range []string{"Shop-prod-Api", config.AccountStackName} {
		prefix := map[bool]string{true: "Monitoring", false: "DevMonitoring"}[stack == "Shop-prod-Api"]
		topic := ""
		for id := range ofType(stack, "AWS::SNS::Topic") {
			if strings.HasPrefix(id, prefix+"Alarms") {
				topic = id
			}
		}
		if topic == "" {
			t.Fatalf("%s: no alarm topic", stack)
		}
		got := map[string]string{}
		for id, a := range ofType(stack, "AWS::CloudWatch::Alarm") {
			if strings.HasPrefix(id, "Shifts") {
				continue // a gradual deployment's rollback alarms: TestGradualDeployments
			}
			if !strings.HasPrefix(id, prefix) {
				continue
			}
			name := strings.TrimPrefix(id, prefix)
			name = name[:len(name)-8] // the hash CDK appends
			got[name] = fmt.Sprintf("%s >= %v x%v", alarmSpec(a), a.Properties["Threshold"], a.Properties["EvaluationPeriods"])
			if !strings.Contains(js(a.Properties["AlarmActions"]), topic) || !strings.Contains(js(a.Properties["OKActions"]), topic) {
				if !strings.HasPrefix(name, "CheckoutBurn") { // the composite alarms notify
					t.Errorf("%s/%s does not tell the topic: %s", stack, id, js(a.Properties["AlarmActions"]))
				}
			}
			if missing := map[bool]string{true: "breaching", false: "notBreaching"}[name == "ExpiryLag"]; a.Properties["TreatMissingData"] != missing {
				t.Errorf("%s/%s: missing data %v", stack, id, a.Properties["TreatMissingData"])
			}
		}
		for name, spec := range want[stack] {
			if got[name] != spec {
				t.Errorf("%s: alarm %s = %q, want %q", stack, name, got[name], spec)
			}
		}
		var extra []string
		for name := range got {
			if _, ok := want[stack][name]; !ok {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			t.Errorf("%s: alarms not in the tier: %v", stack, extra)
		}
		composites := ofType(stack, "AWS::CloudWatch::CompositeAlarm")
		if stack == "Shop-prod-Api" {
			if len(composites) != 2 {
				t.Errorf("%s: %d burn-rate composite alarms, want 2", stack, len(composites))
			}
			for id, c := range composites {
				rule := js(c.Properties["AlarmRule"])
				if !strings.Contains(rule, "AND") || !strings.Contains(js(c.Properties["AlarmActions"]), topic) {
					t.Errorf("%s/%s: rule %s, actions %s", stack, id, rule, js(c.Properties["AlarmActions"]))
				}
			}
		} else if len(composites) != 0 {
			t.Errorf("%s: SLO alarms outside prod", stack)
		}
		t.Logf("%s: %d alarms, %d composite", stack, len(got), len(composites))
	}
}

// alarmMetrics are the metrics an alarm reads: its own, or each MetricStat
// of its metric math, as namespace, name and dimensions.
func alarmMetrics(a resource) []map[string]any {
	if ms, ok := a.Properties["Metrics"].([]any); ok {
		var out []map[string]any
		for _, m := range ms {
			if metric, ok := get(m, "MetricStat", "Metric").(map[string]any); ok {
				out = append(out, metric)
			}
		}
		return out
	}
	return []map[string]any{{"Namespace": a.Properties["Namespace"], "MetricName": a.Properties["MetricName"], "Dimensions": a.Properties["Dimensions"]}}
}

// API Gateway publishes a route's own metrics (dimensions ApiName, Stage,
// Method, Resource) only for a method whose stage MethodSetting enables
// metrics (API Gateway Developer Guide, "Amazon API Gateway dimensions
// and metrics": "detailed CloudWatch metrics"); an alarm on any other route
// watches a metric that never has data, and with missing data not
// breaching it stays OK forever. Every such alarm of every stage names the
// stage's API, its stage, and a method whose setting, read as API Gateway
// reads it, enables metrics.
func TestRouteAlarmsReadMetricsTheStagePublishes(t *testing.T) {
	checked := 0
	for name := range tpl {
		if len(ofType(name, "AWS::ApiGateway::Stage")) == 0 {
			continue
		}
		st := only(t, name, "AWS::ApiGateway::Stage").Properties
		api := fmt.Sprint(get(only(t, name, "AWS::ApiGateway::RestApi").Properties, "Name"))
		methods := restMethods(name)
		detailed := map[string]bool{}
		for _, ms := range asList(st["MethodSettings"]) {
			if get(ms, "MetricsEnabled") != true {
				continue
			}
			keys, err := methodSettingTarget(fmt.Sprint(get(ms, "ResourcePath")), fmt.Sprint(get(ms, "HttpMethod")), methods)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			for _, k := range keys {
				detailed[k] = true
			}
		}
		for id, a := range ofType(name, "AWS::CloudWatch::Alarm") {
			for _, m := range alarmMetrics(a) {
				if m["Namespace"] != "AWS/ApiGateway" {
					continue
				}
				dims := map[string]string{}
				for _, d := range asList(m["Dimensions"]) {
					dims[fmt.Sprint(get(d, "Name"))] = fmt.Sprint(get(d, "Value"))
				}
				if dims["ApiName"] != api || dims["Stage"] != fmt.Sprint(st["StageName"]) {
					t.Errorf("%s/%s: reads %s of API %q stage %q, not this stack's %q stage %q", name, id, m["MetricName"], dims["ApiName"], dims["Stage"], api, st["StageName"])
				}
				if _, perRoute := dims["Resource"]; !perRoute {
					continue
				}
				checked++
				if key := dims["Method"] + " " + dims["Resource"]; !detailed[key] {
					t.Errorf("%s/%s: reads %s of %s, whose MethodSetting enables no metrics (enabled: %v)", name, id, m["MetricName"], key, detailed)
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no alarm reads a route's own metrics: the checkout SLO should")
	}
}

// A dashboard in prod (and in long-lived stages), with the API, every
// function, the tables, the cache, the failure queue and the shop's own
// metrics; one for the account's shared development cache.
func TestDashboard(t *testing.T) {
	d := only(t, config.AccountStackName, "AWS::CloudWatch::Dashboard").Properties
	if body := js(d["DashboardBody"]); !strings.Contains(body, `\"CacheClusterId\",\"`+DevCacheName+`\"`) {
		t.Errorf("the account's dashboard does not show the shared cache: %s", body)
	}
	for _, stage := range []string{"prod"} {
		stack := "Shop-" + stage + "-Api"
		d := only(t, stack, "AWS::CloudWatch::Dashboard").Properties
		// Dashboards are global to the account: the region keeps two
		// regions' stages of one name apart.
		if js(d["DashboardName"]) != `{"Fn::Join":["",["Shop-`+stage+`-",{"Ref":"AWS::Region"}]]}` {
			t.Errorf("%s: dashboard %v", stack, d["DashboardName"])
		}
		body := js(d["DashboardBody"])
		for _, s := range []string{`API requests and errors`, `API latency`, `catalog function`, `images function`, `expiry function`,
			`products table`, `Cache ECPU`, `images failures`, `OrdersPlaced`, `CheckoutConflicts`, `IdempotentReplays`,
			`CacheUnavailable`, `ImagesRejected`, `CacheFallbacks`, `ThrottledCmds`, `BytesUsedForCache`, `ConcurrentExecutions`} {
			if !strings.Contains(body, s) {
				t.Errorf("%s: the dashboard has no %s", stack, s)
			}
		}
	}
}

// The images function's failed events go to an encrypted queue, kept 14
// days, after two retries.
func TestImagesFailureDestination(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Media"
		q := only(t, stack, "AWS::SQS::Queue").Properties
		if q["SqsManagedSseEnabled"] != true || q["MessageRetentionPeriod"] != float64(14*24*3600) {
			t.Errorf("%s: failure queue %s", stack, js(q))
		}
		cfg := only(t, stack, "AWS::Lambda::EventInvokeConfig").Properties
		if cfg["MaximumRetryAttempts"] != float64(2) || !strings.Contains(js(get(cfg, "DestinationConfig", "OnFailure")), "ImagesFailures") ||
			!strings.Contains(js(cfg["FunctionName"]), "Images") {
			t.Errorf("%s: async config %s", stack, js(cfg))
		}
	}
}

// dashboardMetrics are the metrics a dashboard graphs, as namespace, name
// and dimension names, read from its synthesized body.
func dashboardMetrics(t *testing.T, d resource) map[string][]string {
	t.Helper()
	var body strings.Builder
	for _, part := range asList(get(d.Properties, "DashboardBody", "Fn::Join", 1)) {
		if s, ok := part.(string); ok {
			body.WriteString(s)
		} else {
			body.WriteString("token") // a Ref: a value, never a name
		}
	}
	var parsed struct {
		Widgets []struct {
			Properties struct {
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body.String()), &parsed); err != nil {
		t.Fatalf("dashboard body: %v", err)
	}
	out := map[string][]string{}
	for _, w := range parsed.Widgets {
		for _, m := range w.Properties.Metrics {
			if len(m) < 2 {
				continue
			}
			ns, _ := m[0].(string)
			name, _ := m[1].(string)
			var dims []string
			for i := 2; i+1 < len(m); i += 2 {
				if d, ok := m[i].(string); ok {
					dims = append(dims, d)
				}
			}
			out[ns+" "+name] = dims
		}
	}
	return out
}

// docs/operations.md names every metric the synthesized dashboards graph,
// and their dimensions, as they are (issue 40: after the switch to a REST
// API it still named the earlier API's metrics and an ApiId dimension).
func TestOperationsNamesTheDashboardsMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, old := range []string{"ApiId", "`4xx`", "`5xx`"} {
		if strings.Contains(doc, old) {
			t.Errorf("docs/operations.md names %s, which the REST API does not publish", old)
		}
	}
	seen := 0
	for _, stack := range []string{"Shop-prod-Api", config.AccountStackName} {
		for key, dims := range dashboardMetrics(t, only(t, stack, "AWS::CloudWatch::Dashboard")) {
			seen++
			ns, name, _ := strings.Cut(key, " ")
			for _, word := range append([]string{ns, name}, dims...) {
				if !strings.Contains(doc, "`"+word+"`") {
					t.Errorf("%s's dashboard graphs %s %v: docs/operations.md does not name `%s`", stack, key, dims, word)
				}
			}
		}
	}
	if seen < 10 {
		t.Errorf("%d metrics read from the dashboards: the body was not read", seen)
	}
}
