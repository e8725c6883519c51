// Package cost estimates what a stage costs a month from its synthesized
// templates, offline: each resource of a priced type is priced from the
// dated table in prices.json, idle (what the resource costs when nothing
// calls the shop) and under a usage profile (usage.json). The numbers come
// from the templates: an alarm or a log group more moves the total.
package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

//go:embed prices.json
var pricesJSON []byte

//go:embed usage.json
var usageJSON []byte

// HoursPerMonth is the month of the prices: 730 hours.
const HoursPerMonth = 730

// Prices is the dated price table.
type Prices struct {
	Region string `json:"region"`
	Date   string `json:"date"`
	Note   string `json:"note"`
	Prices map[string]struct {
		USD    float64 `json:"usd"`
		Source string  `json:"source"`
	} `json:"prices"`
}

// Usage is a month of traffic.
type Usage struct {
	APIRequests         float64 `json:"apiRequests"`
	FunctionDurationMs  float64 `json:"functionDurationMs"`
	ReadUnitsPerRequest float64 `json:"readUnitsPerRequest"`
	Orders              float64 `json:"orders"`
	WriteUnitsPerOrder  float64 `json:"writeUnitsPerOrder"`
	TableGB             float64 `json:"tableGB"`
	ECPUPerRequest      float64 `json:"ecpuPerRequest"`
	CacheGB             float64 `json:"cacheGB"`
	ImagesUploaded      float64 `json:"imagesUploaded"`
	ImageMB             float64 `json:"imageMB"`
	ImageViews          float64 `json:"imageViews"`
	LogBytesPerRequest  float64 `json:"logBytesPerRequest"`
	MonthlyActiveUsers  float64 `json:"monthlyActiveUsers"`
	StaffUsers          float64 `json:"staffUsers"`
	ScheduledDurationMs float64 `json:"scheduledDurationMs"`
}

// DefaultPrices and DefaultUsage are the tables kept in the repository.
func DefaultPrices() Prices {
	var p Prices
	if err := json.Unmarshal(pricesJSON, &p); err != nil {
		panic(err)
	}
	return p
}

// DefaultUsage is usage.json; override lays another file's keys over it.
func DefaultUsage(override []byte) (Usage, error) {
	var u Usage
	if err := json.Unmarshal(usageJSON, &u); err != nil {
		panic(err)
	}
	if len(override) > 0 {
		var extra map[string]any
		if err := json.Unmarshal(override, &extra); err != nil {
			return u, fmt.Errorf("usage: %w", err)
		}
		delete(extra, "note")
		b, _ := json.Marshal(extra)
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&u); err != nil {
			return u, fmt.Errorf("usage: %w", err)
		}
	}
	return u, nil
}

// Template is the part of a CloudFormation template the estimate reads.
type Template struct {
	Resources map[string]struct {
		Type       string         `json:"Type"`
		Properties map[string]any `json:"Properties"`
	} `json:"Resources"`
}

// Line is one priced item of a stack.
type Line struct {
	Stack, Resource, What string
	Idle, Busy            float64 // USD a month
}

// Estimate prices the stacks. Stacks with a REST API carry the traffic's
// cost, the one with the tables the table traffic, and so on: each
// usage-driven cost lands on the stack of the resource that bills it.
func Estimate(stacks map[string]Template, p Prices, u Usage) ([]Line, error) {
	price := func(k string) float64 {
		v, ok := p.Prices[k]
		if !ok {
			panic("cost: no price " + k)
		}
		return v.USD
	}
	// Counts across the stage, to spread traffic over its resources.
	count := map[string]int{}
	for _, t := range stacks {
		for _, r := range t.Resources {
			count[r.Type]++
		}
	}
	var lines []Line
	add := func(stack, id, what string, idle, busy float64) {
		lines = append(lines, Line{stack, id, what, idle, busy})
	}
	lambdaGBs := func(memoryMB, ms, n float64) float64 {
		return n*price("lambdaRequestMillion")/1e6 + n*ms/1000*memoryMB/1024*price("lambdaArmGBSecond")
	}
	perMonth := func(rate string) (float64, bool) {
		m := regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`).FindStringSubmatch(rate)
		if m == nil {
			return 0, false
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]float64{"minute": 60, "minutes": 60, "hour": 1, "hours": 1, "day": 1.0 / 24, "days": 1.0 / 24}[m[2]]
		return HoursPerMonth * unit / n, true
	}
	apiMemory := 0.0
	for _, name := range slices.Sorted(maps.Keys(stacks)) {
		for _, id := range slices.Sorted(maps.Keys(stacks[name].Resources)) {
			r := stacks[name].Resources[id]
			if r.Type == "AWS::Lambda::Function" && strings.Contains(name, "-Api") {
				if m, ok := r.Properties["MemorySize"].(float64); ok {
					apiMemory = max(apiMemory, m)
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(stacks)) {
		t := stacks[name]
		for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
			r := t.Resources[id]
			props := r.Properties
			switch r.Type {
			case "AWS::ElastiCache::ServerlessCache":
				storage := max(price("cacheMinStorageGB"), u.CacheGB)
				add(name, id, "cache storage (at least 100 MB) and ECPUs",
					price("cacheMinStorageGB")*price("cacheStorageGBHour")*HoursPerMonth,
					storage*price("cacheStorageGBHour")*HoursPerMonth+u.APIRequests*u.ECPUPerRequest*price("cacheECPUMillion")/1e6)
			case "AWS::CloudWatch::Alarm":
				metrics := 1
				if ms, ok := props["Metrics"].([]any); ok {
					metrics = 0
					for _, m := range ms {
						if _, ok := m.(map[string]any)["MetricStat"]; ok {
							metrics++
						}
					}
				}
				c := float64(metrics) * price("alarmMetricMonth")
				add(name, id, fmt.Sprintf("alarm on %d metric(s)", metrics), c, c)
			case "AWS::CloudWatch::CompositeAlarm":
				add(name, id, "composite alarm", price("compositeAlarmMonth"), price("compositeAlarmMonth"))
			case "AWS::CloudWatch::Dashboard":
				add(name, id, "dashboard", price("dashboardMonth"), price("dashboardMonth"))
			case "AWS::SecretsManager::Secret":
				add(name, id, "secret", price("secretMonth"), price("secretMonth"))
			case "AWS::KMS::Key":
				add(name, id, "customer managed key", price("kmsKeyMonth"), price("kmsKeyMonth"))
			case "AWS::Lambda::EventSourceMapping":
				// The order events: about two an order (placed, then confirmed,
				// cancelled or expired). Reading a DynamoDB stream from Lambda
				// is free; the reader's invocations, a batch of ten at most.
				events := 2 * u.Orders
				add(name, id, "order events on the bus (2 an order), and their reader", 0,
					events*price("eventBridgeEventMillion")/1e6+lambdaGBs(128, u.ScheduledDurationMs, events/5))
			case "AWS::CodeDeploy::DeploymentGroup":
				// Listed so that the estimate shows it: CodeDeploy charges
				// nothing for Lambda deployments; the shift's rollback alarm
				// is priced with the alarms.
				add(name, id, "gradual deployment (CodeDeploy for Lambda: no charge)", 0, 0)
			case "AWS::WAFv2::WebACL":
				rules, _ := props["Rules"].([]any)
				fixed := price("wafWebAclMonth") + float64(len(rules))*price("wafRuleMonth")
				add(name, id, fmt.Sprintf("web ACL with %d rules, and its requests", len(rules)), fixed, fixed+u.APIRequests*price("wafRequestMillion")/1e6)
			case "AWS::EC2::VPCEndpoint":
				if props["VpcEndpointType"] == "Interface" {
					subnets, _ := props["SubnetIds"].([]any)
					c := float64(len(subnets)) * price("interfaceEndpointAZHour") * HoursPerMonth
					add(name, id, "interface endpoint", c, c)
				}
			case "AWS::Events::Rule":
				rate, _ := props["ScheduleExpression"].(string)
				n, ok := perMonth(rate)
				if !ok {
					continue
				}
				memory := 128.0
				if targets, ok := props["Targets"].([]any); ok && len(targets) > 0 {
					if fn := refOf(targets[0].(map[string]any)["Arn"]); fn != "" {
						if m, ok := t.Resources[fn].Properties["MemorySize"].(float64); ok {
							memory = m
						}
					}
				}
				c := lambdaGBs(memory, u.ScheduledDurationMs, n)
				add(name, id, fmt.Sprintf("%s: %.0f invocations", rate, n), c, c)
			case "AWS::ApiGateway::RestApi":
				// The API's requests, the functions behind them, and their log lines.
				logs := u.APIRequests * u.LogBytesPerRequest / 1e9
				add(name, id, "REST API requests", 0, u.APIRequests*price("restApiRequestMillion")/1e6)
				add(name, id, "function invocations behind the API", 0, lambdaGBs(apiMemory, u.FunctionDurationMs, u.APIRequests))
				add(name, id, "request log lines (ingested, kept a month)", 0, logs*(price("logsIngestGB")+price("logsStorageGBMonth")))
			case "AWS::ApiGateway::Stage":
				if settings, ok := props["MethodSettings"].([]any); ok {
					detailed := 0
					for _, s := range settings {
						if s.(map[string]any)["MetricsEnabled"] == true {
							detailed++
						}
					}
					// 5 metrics (Count, 4XXError, 5XXError, Latency, IntegrationLatency) per method.
					if detailed > 0 {
						c := float64(5*detailed) * price("customMetricMonth")
						add(name, id, fmt.Sprintf("detailed metrics of %d route(s)", detailed), c, c)
					}
				}
			case "AWS::DynamoDB::Table":
				share := 1 / float64(count["AWS::DynamoDB::Table"])
				busy := share * (u.APIRequests*u.ReadUnitsPerRequest*price("dynamoReadMillion")/1e6 +
					u.Orders*u.WriteUnitsPerOrder*price("dynamoWriteMillion")/1e6 + u.TableGB*price("dynamoStorageGBMonth"))
				if pitr, ok := props["PointInTimeRecoverySpecification"].(map[string]any); ok && pitr["PointInTimeRecoveryEnabled"] == true {
					busy += share * u.TableGB * price("dynamoPitrGBMonth")
				}
				add(name, id, "on-demand table: requests, storage, backups", 0, busy)
			case "AWS::S3::Bucket":
				if strings.Contains(id, "Log") {
					continue // access logs: priced with the traffic they record, which the estimate leaves out
				}
				stored := u.ImagesUploaded * u.ImageMB / 1000 * 6 // six months of uploads on average
				add(name, id, "images: storage, uploads, reads by the CDN", 0,
					stored*price("s3StorageGBMonth")+u.ImagesUploaded*price("s3PutThousand")/1000+u.ImageViews*0.1*price("s3GetThousand")/1000)
			case "AWS::CloudFront::Distribution":
				if strings.Contains(name, "-Media") {
					add(name, id, "image CDN: data out and requests", 0,
						u.ImageViews*u.ImageMB/1000*price("cloudfrontGBOut")+u.ImageViews/1e4*price("cloudfrontHttps10k"))
				} else {
					add(name, id, "API CDN: requests", 0, u.APIRequests/1e4*price("cloudfrontHttps10k"))
				}
			case "AWS::Cognito::UserPool":
				if get(props, "UserPoolAddOns", "AdvancedSecurityMode") == "ENFORCED" {
					users := u.MonthlyActiveUsers
					if strings.Contains(id, "Staff") {
						users = u.StaffUsers
					}
					add(name, id, "threat protection (Plus) per active user", 0, users*price("cognitoPlusMAU"))
				}
			}
		}
	}
	return lines, nil
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// refOf is the logical id of {"Fn::GetAtt": [id, "Arn"]} or {"Ref": id}.
func refOf(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		s, _ := ga[0].(string)
		return s
	}
	s, _ := m["Ref"].(string)
	return s
}

// Totals sums lines per stack.
func Totals(lines []Line) (stacks []string, idle, busy map[string]float64) {
	idle, busy = map[string]float64{}, map[string]float64{}
	for _, l := range lines {
		idle[l.Stack] += l.Idle
		busy[l.Stack] += l.Busy
	}
	return slices.Sorted(maps.Keys(idle)), idle, busy
}

// Print writes the table: per stack and in total, idle and under the usage
// profile; with detail, every priced resource.
func Print(w io.Writer, stage string, lines []Line, p Prices, u Usage, detail bool) {
	fmt.Fprintf(w, "Monthly cost of stage %s, USD, %s prices of %s (free tiers not deducted: they are per account)\n", stage, p.Region, p.Date)
	fmt.Fprintf(w, "usage: %.0f API requests, %.0f orders, %.0f image uploads, %.0f image views, %.1f GB in the cache\n\n",
		u.APIRequests, u.Orders, u.ImagesUploaded, u.ImageViews, u.CacheGB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stack\tidle\tunder usage\t")
	stacks, idle, busy := Totals(lines)
	var ti, tb float64
	for _, s := range stacks {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t\n", s, idle[s], busy[s])
		ti, tb = ti+idle[s], tb+busy[s]
	}
	fmt.Fprintf(tw, "total\t%.2f\t%.2f\t\n", ti, tb)
	tw.Flush()
	if detail {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "stack\tresource\twhat\tidle\tunder usage")
		for _, l := range lines {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.2f\n", l.Stack, l.Resource, l.What, l.Idle, l.Busy)
		}
		tw.Flush()
	}
}
