package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

func TestSetIsOneValidLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	ctx, s := With(context.Background())
	Add(ctx, OrdersPlaced, 1)
	Add(ctx, CacheFallbacks, 1)
	Add(ctx, CacheFallbacks, 1)
	s.Emit(ctx, log, "orders")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1: %s", len(lines), buf.String())
	}
	if err := Validate([]byte(lines[0])); err != nil {
		t.Fatalf("%v: %s", err, lines[0])
	}
	var got map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &got)
	if got[OrdersPlaced] != 1.0 || got[CacheFallbacks] != 2.0 || got["Function"] != "orders" {
		t.Fatalf("line %s", lines[0])
	}
}

// A value Put is set, not added, and carries its unit: the expiry job's
// lag is a number of seconds, which the alarm reads as a maximum.
func TestPutIsAValueInItsUnit(t *testing.T) {
	var buf bytes.Buffer
	var s Set
	s.Put(OldestDueAge, 12, UnitSeconds)
	s.Put(OldestDueAge, 30.5, UnitSeconds)
	s.Put(OrdersQuarantined, 0, UnitCount)
	s.Emit(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), "expiry")
	if err := Validate(buf.Bytes()); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	var got struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Metrics []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		OldestDueAge      float64
		OrdersQuarantined *float64
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	units := map[string]string{}
	for _, m := range got.AWS.CloudWatchMetrics[0].Metrics {
		units[m.Name] = m.Unit
	}
	if got.OldestDueAge != 30.5 || got.OrdersQuarantined == nil || *got.OrdersQuarantined != 0 ||
		units[OldestDueAge] != "Seconds" || units[OrdersQuarantined] != "Count" {
		t.Errorf("line %s", buf.String())
	}
}

func TestNothingCountedNothingLogged(t *testing.T) {
	var buf bytes.Buffer
	_, s := With(context.Background())
	s.Emit(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), "orders")
	if buf.Len() != 0 || s.Attrs("orders", time.Now()) != nil {
		t.Fatalf("logged %q", buf.String())
	}
}

func TestCountWithoutASetIsALineOfItsOwn(t *testing.T) {
	var buf bytes.Buffer
	Count(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), "expiry", CacheFallbacks)
	if err := Validate(buf.Bytes()); err != nil || !strings.Contains(buf.String(), `"CacheFallbacks":1`) {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if Add(context.Background(), CacheFallbacks, 1) {
		t.Fatal("Add without a set reported success")
	}
}

// The validator refuses what CloudWatch would drop.
func TestValidateRefuses(t *testing.T) {
	ok := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Shop","Dimensions":[["Function"]],"Metrics":[{"Name":"X","Unit":"Count"}]}]},"Function":"f","X":1}`
	if err := Validate([]byte(ok)); err != nil {
		t.Fatalf("a valid line: %v", err)
	}
	for name, line := range map[string]string{
		"no _aws":            `{"X":1}`,
		"no timestamp":       `{"_aws":{"CloudWatchMetrics":[{"Namespace":"Shop","Dimensions":[],"Metrics":[{"Name":"X"}]}]},"X":1}`,
		"float timestamp":    `{"_aws":{"Timestamp":1.5,"CloudWatchMetrics":[{"Namespace":"Shop","Dimensions":[],"Metrics":[{"Name":"X"}]}]},"X":1}`,
		"no directives":      `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"X":1}`,
		"empty namespace":    `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"","Dimensions":[],"Metrics":[{"Name":"X"}]}]},"X":1}`,
		"dimension missing":  `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Shop","Dimensions":[["Function"]],"Metrics":[{"Name":"X"}]}]},"X":1}`,
		"value not a number": `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Shop","Dimensions":[],"Metrics":[{"Name":"X"}]}]},"X":"1"}`,
		"unknown unit":       `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Shop","Dimensions":[],"Metrics":[{"Name":"X","Unit":"Apples"}]}]},"X":1}`,
	} {
		if Validate([]byte(line)) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Every metric the code counts is one the dashboard graphs.
func TestEveryMetricIsInTheContract(t *testing.T) {
	for _, name := range []string{OrdersPlaced, CheckoutConflicts, IdempotentReplays, CacheUnavailable, ImagesRejected, CacheFallbacks} {
		if len(contract.Metrics[name]) == 0 {
			t.Errorf("%s is not in contract.Metrics", name)
		}
	}
}
