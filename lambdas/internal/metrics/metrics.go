// Package metrics counts the shop's business events in CloudWatch's
// embedded metric format: the counts of one request (or one event) go out
// as one JSON log line, the request's own "request" line, which CloudWatch
// Logs turns into metrics in contract.MetricsNamespace, by function. No API
// call, no agent: the Lambda's log is the transport.
package metrics

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// The shop's metrics: the infra's dashboard graphs each (stacks.BusinessMetrics).
const (
	OrdersPlaced      = "OrdersPlaced"
	CheckoutConflicts = "CheckoutConflicts"
	IdempotentReplays = "IdempotentReplays"
	CacheUnavailable  = "CacheUnavailable"
	ImagesRejected    = "ImagesRejected"
	CacheFallbacks    = "CacheFallbacks"
	// The expiry job's, once a run: poison orders it set aside, and how
	// long the oldest order still due after the run has been due.
	OrdersQuarantined = contract.MetricOrdersQuarantined
	OldestDueAge      = contract.MetricOldestDueAge
)

// Units of CloudWatch metrics.
const (
	UnitCount   = "Count"
	UnitSeconds = "Seconds"
)

// Release is the function version that runs, as Lambda names it in every
// execution environment (AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION):
// the dimensions of the release signals (contract.MetricFailedAnswers,
// contract.MetricDenied), which a deployment's rollback alarm reads for the
// version it shifts to.
type Release struct {
	FunctionName, Version string
}

// ReleaseOf is the release of the running function: Lambda's variables, or
// locally (where they are unset) fn at $LATEST.
func ReleaseOf(fn string, getenv func(string) string) Release {
	r := Release{FunctionName: getenv("AWS_LAMBDA_FUNCTION_NAME"), Version: getenv("AWS_LAMBDA_FUNCTION_VERSION")}
	if r.FunctionName == "" {
		r.FunctionName = fn
	}
	if r.Version == "" {
		r.Version = "$LATEST"
	}
	return r
}

// Set is the counts of one request. Most requests count nothing: the map
// is made at the first count.
type Set struct {
	mu     sync.Mutex
	counts map[string]float64
	units  map[string]string // when not Count
	// release counts are published by release (Release's dimensions).
	release   map[string]float64
	releaseOf Release
}

// AddRelease counts n of name for the running release r: one of the
// release signals, whose names are never the shop's business metrics.
func (s *Set) AddRelease(r Release, name string, n float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release == nil {
		s.release = map[string]float64{}
	}
	s.releaseOf = r
	s.release[name] += n
}

type key struct{}

// With returns a context that collects counts into a new set.
func With(ctx context.Context) (context.Context, *Set) {
	s := &Set{}
	return context.WithValue(ctx, key{}, s), s
}

// Add counts n of name in ctx's set; false when ctx has none.
func Add(ctx context.Context, name string, n float64) bool {
	s, ok := ctx.Value(key{}).(*Set)
	if !ok {
		return false
	}
	s.add(name, n)
	return true
}

func (s *Set) add(name string, n float64) {
	s.mu.Lock()
	if s.counts == nil {
		s.counts = map[string]float64{}
	}
	s.counts[name] += n
	s.mu.Unlock()
}

// Put sets name to v, in unit: a value of its own (a gauge), not a count.
func (s *Set) Put(name string, v float64, unit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]float64{}
	}
	s.counts[name] = v
	if unit != UnitCount {
		if s.units == nil {
			s.units = map[string]string{}
		}
		s.units[name] = unit
	}
}

// Attrs are the embedded-metric attributes of the set for function fn: the
// _aws directive, the Function dimension and one value per metric; none
// when nothing was counted. Release counts get a directive of their own,
// by function name and version, and by function name alone (every version).
func (s *Set) Attrs(fn string, now time.Time) []slog.Attr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.counts) == 0 && len(s.release) == 0 {
		return nil
	}
	var directives []any
	attrs := make([]slog.Attr, 0, len(s.counts)+len(s.release)+4)
	if len(s.counts) > 0 {
		names := slices.Sorted(maps.Keys(s.counts))
		defs := make([]map[string]string, len(names))
		for i, name := range names {
			unit := UnitCount
			if u, ok := s.units[name]; ok {
				unit = u
			}
			defs[i] = map[string]string{"Name": name, "Unit": unit}
			attrs = append(attrs, slog.Float64(name, s.counts[name]))
		}
		directives = append(directives, map[string]any{"Namespace": contract.MetricsNamespace, "Dimensions": [][]string{{"Function"}}, "Metrics": defs})
		attrs = append(attrs, slog.String("Function", fn))
	}
	if len(s.release) > 0 {
		names := slices.Sorted(maps.Keys(s.release))
		defs := make([]map[string]string, len(names))
		for i, name := range names {
			defs[i] = map[string]string{"Name": name, "Unit": UnitCount}
			attrs = append(attrs, slog.Float64(name, s.release[name]))
		}
		directives = append(directives, map[string]any{"Namespace": contract.MetricsNamespace,
			"Dimensions": [][]string{{contract.DimFunctionName, contract.DimVersion}, {contract.DimFunctionName}}, "Metrics": defs})
		attrs = append(attrs, slog.String(contract.DimFunctionName, s.releaseOf.FunctionName), slog.String(contract.DimVersion, s.releaseOf.Version))
	}
	return append([]slog.Attr{slog.Any("_aws", map[string]any{"Timestamp": now.UnixMilli(), "CloudWatchMetrics": directives})}, attrs...)
}

// Emit logs the set as one line of its own, for work that has no request
// line (the images function's events, the expiry job).
func (s *Set) Emit(ctx context.Context, log *slog.Logger, fn string) {
	if attrs := s.Attrs(fn, time.Now()); attrs != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "metrics", attrs...)
	}
}

// Count counts one of name: into ctx's set, or on a line of its own when
// ctx has none.
func Count(ctx context.Context, log *slog.Logger, fn, name string) {
	if Add(ctx, name, 1) {
		return
	}
	var s Set
	s.add(name, 1)
	s.Emit(ctx, log, fn)
}
