package components

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Thresholds are the alarms' limits, from the stage profile.
type Thresholds struct {
	// Api5xxPercent: 5xx responses as a share of requests.
	Api5xxPercent float64
	// ApiLatencyP99Ms: the API's p99 latency.
	ApiLatencyP99Ms float64
	// DurationPercentOfTimeout: a function's p99 duration against its timeout.
	DurationPercentOfTimeout float64
	// CacheUsePercent: ECPU and storage against the cache's limits.
	CacheUsePercent float64
	// PeriodMinutes and EvaluationPeriods: how long a breach must last.
	PeriodMinutes     float64
	EvaluationPeriods float64
}

// MonitoringProps configure a stage's monitoring.
type MonitoringProps struct {
	Stage string
	// Full is the production tier: every alarm below. Without it, a
	// development stage gets the dashboard and the few alarms marked
	// "every tier" (alarms cost money too).
	Full       bool
	AlarmEmail string // subscribes to the alarm topic when set
	Thresholds Thresholds
}

// Monitoring is a stage's signals: the alarm topic, the dashboard, and the
// alarms of what each stack declares on it. The widgets and alarms follow
// CloudWatch's recommended alarms for each service.
type Monitoring interface {
	constructs.Construct
	Topic() awssns.Topic
	Dashboard() awscloudwatch.Dashboard
	// Api watches a REST API's stage (ApiStageName), by the API's name.
	Api(apiName *string)
	// Function watches a function whose timeout is timeoutSeconds.
	Function(name string, fn awslambda.IFunction, timeoutSeconds float64)
	// Table watches a DynamoDB table.
	Table(name string, t awsdynamodb.ITable)
	// Cache watches a serverless cache and its limits.
	Cache(name string, maxECPUPerSecond, maxStorageGB float64)
	// FailureQueue watches a queue of failed events: any message is an alarm.
	FailureQueue(name string, q awssqs.IQueue)
	// Expiry alarms on the expiry job fn's own signals in namespace, the
	// metrics quarantined (poison orders set aside: any) and lag (the age of
	// the oldest order still due after a run: maxLagSeconds, or the job not
	// reporting at all).
	Expiry(namespace, fn, quarantined, lag string, maxLagSeconds float64)
	// Business graphs the shop's own metrics (embedded-metric lines in
	// namespace, one dimension Function), by metric name and function.
	Business(namespace string, metrics map[string][]string)
	// Slo adds multi-window burn-rate alarms on one route's availability.
	Slo(name string, errors, requests awscloudwatch.IMetric, objective float64)
	// LatencySlo alarms when a route's p99 latency reaches thresholdMs.
	LatencySlo(name string, p99 awscloudwatch.IMetric, thresholdMs float64)
	// RollbackAlarms are the SLOs' fastest burn alarms (14.4x over 5 min):
	// a gradual deployment rolls back when one fires during its shift.
	RollbackAlarms() []awscloudwatch.IAlarm
}

type monitoring struct {
	constructs.Construct
	props     MonitoringProps
	topic     awssns.Topic
	dashboard awscloudwatch.Dashboard
	action    awscloudwatch.IAlarmAction
	rollback  []awscloudwatch.IAlarm
}

// NewMonitoring defines the topic and the dashboard; the stacks add signals.
func NewMonitoring(scope constructs.Construct, id string, props MonitoringProps) Monitoring {
	t := props.Thresholds
	if t.PeriodMinutes <= 0 || t.EvaluationPeriods < 1 || t.Api5xxPercent <= 0 || t.ApiLatencyP99Ms <= 0 ||
		t.DurationPercentOfTimeout <= 0 || t.CacheUsePercent <= 0 {
		panic(fmt.Sprintf("Monitoring %s: every threshold must be positive: %+v", id, t))
	}
	this := constructs.NewConstruct(scope, &id)
	topic := awssns.NewTopic(this, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("Shop " + props.Stage + " alarms"),
		MasterKey:   alarmsKey(this, props.Full),
		EnforceSSL:  jsii.Bool(true),
	})
	if !props.Full {
		cdknag.NagSuppressions_AddResourceSuppressions(topic, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-SNS2"),
			Reason: jsii.String("A development stage's alarm notices carry alarm names and states, no customer data; " +
				"CloudWatch cannot publish with the aws/sns key, and a key of the stage's own costs more than the stage idles at"),
		}}, jsii.Bool(false))
	}
	if props.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.AlarmEmail), nil))
	}
	dashboard := awscloudwatch.NewDashboard(this, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		// Dashboards are global to the account: the region keeps two
		// regions' stages of one name apart.
		DashboardName:   jsii.String("Shop-" + props.Stage + "-" + *awscdk.Aws_REGION()),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})
	return &monitoring{Construct: this, props: props, topic: topic, dashboard: dashboard,
		action: awscloudwatchactions.NewSnsAction(topic)}
}

// alarmsKey is the alarm topic's key: CloudWatch alarms can publish only to
// a topic without server-side encryption or with a customer managed key
// whose policy lets cloudwatch.amazonaws.com use it; with the AWS managed
// aws/sns key their notices are dropped (Amazon SNS Developer Guide,
// "Configuring AWS KMS permissions": encrypted topics and AWS service event
// sources). Prod gets such a key, rotated yearly; a development stage none.
func alarmsKey(scope constructs.Construct, full bool) awskms.IKey {
	if !full {
		return nil
	}
	key := awskms.NewKey(scope, jsii.String("AlarmsKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the alarm topic; CloudWatch alarms may use it to publish"),
		EnableKeyRotation: jsii.Bool(true),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}), jsii.Bool(false))
	return key
}

func (m *monitoring) Topic() awssns.Topic                    { return m.topic }
func (m *monitoring) RollbackAlarms() []awscloudwatch.IAlarm { return m.rollback }
func (m *monitoring) Dashboard() awscloudwatch.Dashboard     { return m.dashboard }

func (m *monitoring) period() awscdk.Duration {
	return awscdk.Duration_Minutes(jsii.Number(m.props.Thresholds.PeriodMinutes))
}

func (m *monitoring) metric(namespace, name, statistic string, dims map[string]*string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(namespace), MetricName: jsii.String(name), Statistic: jsii.String(statistic),
		DimensionsMap: &dims, Period: m.period(),
	})
}

// alarm defines one alarm on metric, in every tier or in the full one only.
func (m *monitoring) alarm(id, description string, metric awscloudwatch.IMetric, threshold float64, everyTier bool) {
	m.alarmOver(id, description, metric, threshold, everyTier, m.props.Thresholds.EvaluationPeriods, awscloudwatch.TreatMissingData_NOT_BREACHING)
}

// alarmOver is alarm over periods periods, treating missing data as missing says.
func (m *monitoring) alarmOver(id, description string, metric awscloudwatch.IMetric, threshold float64, everyTier bool, periods float64, missing awscloudwatch.TreatMissingData) {
	if !everyTier && !m.props.Full {
		return
	}
	a := awscloudwatch.NewAlarm(m.Construct, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(periods),
		DatapointsToAlarm:  jsii.Number(periods),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   missing,
	})
	a.AddAlarmAction(m.action)
	a.AddOkAction(m.action)
}

func (m *monitoring) graph(title string, left []awscloudwatch.IMetric, right []awscloudwatch.IMetric) {
	props := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(8), Height: jsii.Number(6)}
	if len(right) > 0 {
		props.Right = &right
	}
	m.dashboard.AddWidgets(awscloudwatch.NewGraphWidget(props))
}

func (m *monitoring) Api(apiName *string) {
	dims := map[string]*string{"ApiName": apiName, "Stage": jsii.String(ApiStageName)}
	count := m.metric("AWS/ApiGateway", "Count", "Sum", dims)
	e5, e4 := m.metric("AWS/ApiGateway", "5XXError", "Sum", dims), m.metric("AWS/ApiGateway", "4XXError", "Sum", dims)
	p99 := m.metric("AWS/ApiGateway", "Latency", "p99", dims)
	m.graph("API requests and errors", []awscloudwatch.IMetric{count}, []awscloudwatch.IMetric{e4, e5})
	m.graph("API latency", []awscloudwatch.IMetric{m.metric("AWS/ApiGateway", "Latency", "p50", dims), p99,
		m.metric("AWS/ApiGateway", "IntegrationLatency", "p99", dims)}, nil)
	rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("IF(requests > 0, 100 * errors / requests, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"errors": e5, "requests": count},
		Label:        jsii.String("5xx % of requests"), Period: m.period(),
	})
	m.alarm("Api5xx", fmt.Sprintf("The API answers 5xx to %v%% or more of requests", m.props.Thresholds.Api5xxPercent), rate, m.props.Thresholds.Api5xxPercent, true)
	m.alarm("ApiLatency", fmt.Sprintf("The API's p99 latency is %v ms or more", m.props.Thresholds.ApiLatencyP99Ms), p99, m.props.Thresholds.ApiLatencyP99Ms, false)
}

func (m *monitoring) Function(name string, fn awslambda.IFunction, timeoutSeconds float64) {
	dims := map[string]*string{"FunctionName": fn.FunctionName()}
	errs, throttles := m.metric("AWS/Lambda", "Errors", "Sum", dims), m.metric("AWS/Lambda", "Throttles", "Sum", dims)
	duration := m.metric("AWS/Lambda", "Duration", "p99", dims)
	m.graph(name+" function", []awscloudwatch.IMetric{m.metric("AWS/Lambda", "Invocations", "Sum", dims), errs, throttles,
		m.metric("AWS/Lambda", "ConcurrentExecutions", "Maximum", dims)}, []awscloudwatch.IMetric{duration})
	id := "Function" + strings.ToUpper(name[:1]) + name[1:]
	m.alarm(id+"Errors", "The "+name+" function fails (errors are unhandled: handled ones are answers)", errs, 1, true)
	m.alarm(id+"Throttles", "The "+name+" function is throttled (concurrency)", throttles, 1, false)
	limit := timeoutSeconds * 1000 * m.props.Thresholds.DurationPercentOfTimeout / 100
	m.alarm(id+"Duration", fmt.Sprintf("The %s function's p99 duration is %v%% of its %v s timeout or more", name, m.props.Thresholds.DurationPercentOfTimeout, timeoutSeconds),
		duration, limit, false)
}

func (m *monitoring) Table(name string, t awsdynamodb.ITable) {
	dims := map[string]*string{"TableName": t.TableName()}
	reads, writes := m.metric("AWS/DynamoDB", "ReadThrottleEvents", "Sum", dims), m.metric("AWS/DynamoDB", "WriteThrottleEvents", "Sum", dims)
	m.graph(name+" table", []awscloudwatch.IMetric{m.metric("AWS/DynamoDB", "ConsumedReadCapacityUnits", "Sum", dims),
		m.metric("AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Sum", dims)}, []awscloudwatch.IMetric{reads, writes})
	throttled := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("reads + writes"), UsingMetrics: &map[string]awscloudwatch.IMetric{"reads": reads, "writes": writes},
		Label: jsii.String("throttle events"), Period: m.period(),
	})
	m.alarm("Table"+strings.ToUpper(name[:1])+name[1:]+"Throttles", "The "+name+" table throttles reads or writes", throttled, 1, false)
}

func (m *monitoring) Cache(name string, maxECPU, maxStorageGB float64) {
	dims := map[string]*string{"CacheClusterId": jsii.String(name)}
	ecpu := m.metric("AWS/ElastiCache", "ElastiCacheProcessingUnits", "Sum", dims)
	bytes := m.metric("AWS/ElastiCache", "BytesUsedForCache", "Maximum", dims)
	throttled := m.metric("AWS/ElastiCache", "ThrottledCmds", "Sum", dims)
	m.graph("Cache ECPU and throttled commands", []awscloudwatch.IMetric{ecpu}, []awscloudwatch.IMetric{throttled})
	m.graph("Cache storage and latency", []awscloudwatch.IMetric{bytes}, []awscloudwatch.IMetric{
		m.metric("AWS/ElastiCache", "SuccessfulReadRequestLatency", "p99", dims), m.metric("AWS/ElastiCache", "SuccessfulWriteRequestLatency", "p99", dims)})
	m.alarm("CacheThrottled", "The cache throttles commands: its ECPU limit is reached", throttled, 1, true)
	pct := m.props.Thresholds.CacheUsePercent / 100
	m.alarm("CacheEcpu", fmt.Sprintf("The cache uses %v%% of its ECPU limit or more", m.props.Thresholds.CacheUsePercent),
		ecpu, maxECPU*pct*m.props.Thresholds.PeriodMinutes*60, false)
	m.alarm("CacheStorage", fmt.Sprintf("The cache holds %v%% of its storage limit or more", m.props.Thresholds.CacheUsePercent),
		bytes, maxStorageGB*pct*1e9, false)
}

func (m *monitoring) FailureQueue(name string, q awssqs.IQueue) {
	visible := q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: m.period()})
	m.graph(name+" failures", []awscloudwatch.IMetric{visible,
		q.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: m.period()})}, nil)
	m.alarm(strings.ToUpper(name[:1])+name[1:]+"Failures", "Events of the "+name+" function failed every attempt and wait in its failure queue", visible, 1, true)
}

func (m *monitoring) Expiry(namespace, fn, quarantined, lag string, maxLagSeconds float64) {
	dims := map[string]*string{"Function": jsii.String(fn)}
	poison := m.metric(namespace, quarantined, "Sum", dims)
	age := m.metric(namespace, lag, "Maximum", dims)
	m.graph("Expiry lag and poison orders", []awscloudwatch.IMetric{age}, []awscloudwatch.IMetric{poison})
	m.alarmOver("ExpiryQuarantined", "The expiry job set a pending order aside that it cannot read: its units stay held until it is mended (docs/operations.md)",
		poison, 1, true, 1, awscloudwatch.TreatMissingData_NOT_BREACHING)
	// The job runs every minute and reports its lag each run: no report at
	// all is as much an alarm as a backlog.
	m.alarmOver("ExpiryLag", fmt.Sprintf("Orders due for %v s or more are still pending, or the expiry job does not report: their units stay held", maxLagSeconds),
		age, maxLagSeconds, true, 1, awscloudwatch.TreatMissingData_BREACHING)
}

func (m *monitoring) Business(namespace string, metrics map[string][]string) {
	var left []awscloudwatch.IMetric
	for _, name := range slices.Sorted(maps.Keys(metrics)) {
		for _, fn := range metrics[name] {
			mt := m.metric(namespace, name, "Sum", map[string]*string{"Function": jsii.String(fn)})
			left = append(left, mt.With(&awscloudwatch.MetricOptions{Label: jsii.String(name + " (" + fn + ")")}))
		}
	}
	m.graph("Shop", left, nil)
}

func (m *monitoring) LatencySlo(name string, p99 awscloudwatch.IMetric, thresholdMs float64) {
	m.graph(name+" latency", []awscloudwatch.IMetric{p99}, nil)
	m.alarm(name+"LatencyP99", fmt.Sprintf("%s: p99 latency is %v ms or more", name, thresholdMs), p99, thresholdMs, false)
}

// Slo: an availability objective (e.g. 0.999) on errors over requests, with
// the multi-window burn-rate alarms of the SRE workbook: 14.4x over 1 h and
// 5 min (2% of a 30-day budget in an hour), 6x over 6 h and 30 min. Each
// pair is one composite alarm: both windows must burn.
func (m *monitoring) Slo(name string, errors, requests awscloudwatch.IMetric, objective float64) {
	if !m.props.Full {
		return
	}
	budget := 1 - objective
	ratio := func(minutes float64) awscloudwatch.MathExpression {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("IF(requests > 0, errors / requests, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{"errors": errors, "requests": requests},
			Period:       awscdk.Duration_Minutes(jsii.Number(minutes)),
			Label:        jsii.String(fmt.Sprintf("error ratio over %v min", minutes)),
		})
	}
	for _, w := range []struct {
		long, short, burn float64
	}{{60, 5, 14.4}, {360, 30, 6}} {
		var rules []awscloudwatch.IAlarmRule
		for _, minutes := range []float64{w.long, w.short} {
			a := awscloudwatch.NewAlarm(m.Construct, jsii.String(fmt.Sprintf("%sBurn%vx%vm", name, w.burn, minutes)), &awscloudwatch.AlarmProps{
				AlarmDescription:   jsii.String(fmt.Sprintf("%s: the error budget of %v%% burns %vx over %v min", name, 100*objective, w.burn, minutes)),
				Metric:             ratio(minutes),
				Threshold:          jsii.Number(math.Round(w.burn*budget*1e6) / 1e6),
				EvaluationPeriods:  jsii.Number(1),
				ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
				TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			})
			rules = append(rules, awscloudwatch.AlarmRule_FromAlarm(a, awscloudwatch.AlarmState_ALARM))
			if minutes == 5 {
				m.rollback = append(m.rollback, a)
			}
		}
		c := awscloudwatch.NewCompositeAlarm(m.Construct, jsii.String(fmt.Sprintf("%sBurn%vx", name, w.burn)), &awscloudwatch.CompositeAlarmProps{
			AlarmDescription: jsii.String(fmt.Sprintf("%s: the error budget burns %vx over %v min and %v min", name, w.burn, w.long, w.short)),
			AlarmRule:        awscloudwatch.AlarmRule_AllOf(rules...),
		})
		c.AddAlarmAction(m.action)
		c.AddOkAction(m.action)
	}
}
