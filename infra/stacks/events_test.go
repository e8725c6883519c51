package stacks

import (
	"fmt"
	"strings"
	"testing"
)

// The order events: the Orders table streams new and old images; the events
// function reads only order items' inserts and updates, reports partial
// batch failures, sends what it fails past its retries to a queue (alarmed),
// and may put events on its stage's bus alone: prod's own bus (kept with the
// data), the account's for a development stage. It runs outside the VPC.
func TestOrderEvents(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		data, api := "Shop-"+stage+"-Data", "Shop-"+stage+"-Api"
		streams := 0
		for id, tb := range ofType(data, "AWS::DynamoDB::Table") {
			view := js(get(tb.Properties, "StreamSpecification", "StreamViewType"))
			if strings.HasPrefix(id, "CheckoutOrdersTable") {
				streams++
				if view != `"NEW_AND_OLD_IMAGES"` {
					t.Errorf("%s: the Orders table streams %s", data, view)
				}
			} else if view != "null" {
				t.Errorf("%s/%s streams %s: nothing reads it", data, id, view)
			}
		}
		if streams != 1 {
			t.Fatalf("%s: %d Orders tables", data, streams)
		}
		buses := ofType(data, "AWS::Events::EventBus")
		if (len(buses) == 1) != (stage == "prod") {
			t.Errorf("%s: %d event buses; prod has its own, a development stage the account's", data, len(buses))
		}
		for id, b := range buses {
			if b.DeletionPolicy != "Retain" {
				t.Errorf("%s/%s: deletion policy %q: other systems' rules hang on it", data, id, b.DeletionPolicy)
			}
		}
		esm := only(t, api, "AWS::Lambda::EventSourceMapping").Properties
		filters := js(get(esm, "FilterCriteria"))
		if !strings.Contains(js(esm["EventSourceArn"]), "CheckoutOrdersTable") || js(esm["FunctionResponseTypes"]) != `["ReportBatchItemFailures"]` ||
			esm["BisectBatchOnFunctionError"] != true || !strings.Contains(js(get(esm, "DestinationConfig", "OnFailure", "Destination")), "EventsFailures") ||
			!strings.Contains(filters, `\"prefix\":\"ORDER#\"`) || !strings.Contains(filters, "INSERT") || !strings.Contains(filters, "MODIFY") ||
			esm["StartingPosition"] != "TRIM_HORIZON" {
			t.Errorf("%s: event source mapping %s", api, js(esm))
		}
		var events resource
		for id, fn := range ofType(api, "AWS::Lambda::Function") {
			if strings.HasPrefix(id, "EventsFunction") {
				events = fn
			}
		}
		if events.Properties == nil || events.Properties["VpcConfig"] != nil {
			t.Fatalf("%s: the events function is missing or in the VPC: %s", api, js(events.Properties))
		}
		wantBus := map[string]string{"dev-test": `{"Fn::ImportValue":"` + DevEventBusExports.Arn + `"}`, "prod": `"Fn::GetStackOutput"`}[stage]
		puts := 0
		for id, pol := range ofType(api, "AWS::IAM::Policy") {
			for _, st := range asList(get(pol.Properties, "PolicyDocument", "Statement")) {
				actions := fmt.Sprint(get(st, "Action"))
				if !strings.Contains(actions, "events:") {
					continue
				}
				puts++
				if actions != "events:PutEvents" || !strings.Contains(js(get(st, "Resource")), wantBus) || !strings.HasPrefix(id, "EventsRole") {
					t.Errorf("%s/%s: %s on %s", api, id, actions, js(get(st, "Resource")))
				}
				if stage == "prod" && !strings.Contains(js(get(st, "Resource")), "OrderEvents") {
					t.Errorf("%s: PutEvents on %s, not the stage's bus", api, js(get(st, "Resource")))
				}
			}
		}
		if puts != 1 {
			t.Errorf("%s: %d statements grant EventBridge actions, want the events function's PutEvents", api, puts)
		}
		alarmed := false
		for id, a := range ofType(api, "AWS::CloudWatch::Alarm") {
			if strings.HasPrefix(id, "MonitoringEventsFailures") && strings.Contains(js(a.Properties["Dimensions"]), "EventsFailures") {
				alarmed = true
			}
		}
		// A development stage has no alarms (issue 23): its developer watches it.
		if alarmed != (stage == "prod") {
			t.Errorf("%s: an alarm on the events' failure queue: %v, want %v", api, alarmed, stage == "prod")
		}
	}
	bus := only(t, "Shop-Account", "AWS::Events::EventBus")
	_ = bus
	exports := js(tpl["Shop-Account"].Outputs)
	for _, e := range []string{DevEventBusExports.Name, DevEventBusExports.Arn} {
		if !strings.Contains(exports, `"Name":"`+e+`"`) {
			t.Errorf("Shop-Account does not export %s", e)
		}
	}
	sample := only(t, "Shop-Account", "AWS::SQS::Queue")
	if sample.Properties["MessageRetentionPeriod"] != 86400.0 {
		t.Errorf("the sample consumer keeps events %v s", sample.Properties["MessageRetentionPeriod"])
	}
}
