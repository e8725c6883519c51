package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// newMonitoring declares the stage's signals: the API, every function, the
// tables, the cache, the images failure queue, the shop's own metrics and,
// in prod, the checkout SLO.
func newMonitoring(stack awscdk.Stack, s *ApiStack, props ApiStackProps) components.Monitoring {
	stage, alarms := props.Stage, props.Stage.Alarms()
	m := components.NewMonitoring(stack, "Monitoring", components.MonitoringProps{
		Stage: stage.Name, Full: stage.Prod, AlarmEmail: alarms.AlarmEmail, Thresholds: thresholds(alarms),
	})
	apiName := s.Api.Api().RestApiName()
	m.Api(apiName)
	for _, spec := range apiFunctions {
		m.Function(string(spec.fn), s.Functions[spec.fn].Function(), spec.timeout)
	}
	m.Function(string(imagesFunction.fn), props.Media.Linker.Function(), imagesFunction.timeout)
	m.Table("products", props.Data.Products.Table())
	m.Table("orders", props.Data.Orders.Orders())
	m.Table("customers", props.Data.Orders.Customers())
	if stage.OwnNetwork { // the shared development cache is the account's to watch
		m.Cache(stage.CacheName(), stage.CacheMaxECPU, stage.CacheMaxStorageGB)
	}
	m.FailureQueue("images", props.Media.Failures)
	m.FailureQueue("events", s.EventsFailures)
	business := map[string][]string{}
	for name, fns := range contract.Metrics {
		for _, fn := range fns {
			business[name] = append(business[name], string(fn))
		}
	}
	m.Business(contract.MetricsNamespace, business)
	// The contract returns an expired order's units within two minutes
	// (docs/contract.md, Orders); the job runs every minute. Five minutes
	// of lag is well past that.
	m.Expiry(contract.MetricsNamespace, string(contract.Expiry), contract.MetricOrdersQuarantined, contract.MetricOldestDueAge, expiryMaxLagSeconds)
	// Each SLO from its route's own metrics (detailed metrics: see
	// ShopApiProps.DetailedMetrics).
	for _, r := range contract.Routes() {
		if r.SLO == "" {
			continue
		}
		dims := map[string]*string{"ApiName": apiName, "Stage": jsii.String(components.ApiStageName), "Method": jsii.String(r.Method), "Resource": jsii.String(r.Path)}
		metric := func(name, statistic string) awscloudwatch.IMetric {
			return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/ApiGateway"), MetricName: jsii.String(name),
				Statistic: jsii.String(statistic), DimensionsMap: &dims, Period: awscdk.Duration_Minutes(jsii.Number(alarms.PeriodMinutes))})
		}
		m.Slo(r.SLO, metric("5XXError", "Sum"), metric("Count", "Sum"), alarms.CheckoutAvailability)
		m.LatencySlo(r.SLO, metric("Latency", "p99"), alarms.ApiLatencyP99Ms)
	}
	return m
}

// expiryMaxLagSeconds is the age of the oldest due order that alarms.
const expiryMaxLagSeconds = 300

// thresholds are a profile's alarm settings as the monitoring takes them.
func thresholds(alarms config.Monitoring) components.Thresholds {
	return components.Thresholds{Api5xxPercent: alarms.Api5xxPercent, ApiLatencyP99Ms: alarms.ApiLatencyP99Ms,
		DurationPercentOfTimeout: alarms.DurationPercentOfTimeout, CacheUsePercent: alarms.CacheUsePercent,
		PeriodMinutes: alarms.PeriodMinutes, EvaluationPeriods: alarms.EvaluationPeriods}
}
