package orderevents

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var at = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func order(status string, seq int64) map[string]any {
	m := map[string]any{"user_id": "u1", "sk": "ORDER#O1", "order_id": "O1", "status": status, "currency": "EUR", "total": int64(9000),
		"items": []any{map[string]any{"product_id": "P1", "name": "Lamp", "unit_price": int64(4500), "quantity": int64(2), "line_total": int64(9000)}}}
	if seq > 0 {
		m["sequence"] = seq
	}
	return m
}

func TestFromChange(t *testing.T) {
	tests := []struct {
		name      string
		change    Change
		want      string // detail type, "" for none
		id        string
		wantError bool
	}{
		{"placed", Change{Name: "INSERT", New: order("pending", 1)}, "order.placed", "O1-1", false},
		{"confirmed", Change{Name: "MODIFY", Old: order("pending", 1), New: order("confirmed", 2)}, "order.confirmed", "O1-2", false},
		{"cancelled", Change{Name: "MODIFY", Old: order("pending", 1), New: order("cancelled", 2)}, "order.cancelled", "O1-2", false},
		{"expired", Change{Name: "MODIFY", Old: order("pending", 1), New: order("expired", 2)}, "order.expired", "O1-2", false},
		{"an order placed before sequences: 1", Change{Name: "INSERT", New: order("pending", 0)}, "order.placed", "O1-1", false},
		{"no status change: none", Change{Name: "MODIFY", Old: order("confirmed", 2), New: order("confirmed", 2)}, "", "", false},
		{"a TTL removal: none", Change{Name: "REMOVE", Old: order("expired", 2)}, "", "", false},
		{"an idempotency record: none", Change{Name: "INSERT", New: map[string]any{"user_id": "u1", "sk": "IDEM#k", "state": "done"}}, "", "", false},
		{"an unknown status: an error", Change{Name: "MODIFY", Old: order("pending", 1), New: order("lost", 2)}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.change.At = at
			e, ok, err := FromChange("dev-a", tt.change)
			if (err != nil) != tt.wantError {
				t.Fatalf("error %v", err)
			}
			if ok != (tt.want != "") || e.DetailType != tt.want || e.EventID != tt.id {
				t.Fatalf("%+v, %v; want %s %s", e, ok, tt.want, tt.id)
			}
			if ok && (e.Source != "shop.orders" || e.Detail.Stage != "dev-a" || e.Detail.OccurredAt != "2026-12-06T12:00:00Z" ||
				len(e.Detail.Items) != 1 || e.Detail.Items[0].Quantity != 2 || e.Detail.Total != 9000 || e.Detail.EventID != e.EventID) {
				t.Errorf("detail %+v", e.Detail)
			}
		})
	}
}

// occurred_at is the order's own time of the change: created_at for the
// placement, updated_at after; the record's rounded-down time only when
// the item has neither, and never before created_at (issue 40: DynamoDB
// Local stamped a placement 26 seconds before the order was created).
func TestOccurredAtIsTheOrdersOwnTime(t *testing.T) {
	with := func(m map[string]any, kv ...string) map[string]any {
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	rounded := time.Date(2026, 12, 6, 23, 31, 0, 0, time.UTC) // the record's time
	for _, c := range []struct {
		name   string
		change Change
		want   string
	}{
		{"placed: created_at, not the rounded record time", Change{Name: "INSERT", At: rounded,
			New: with(order("pending", 1), "created_at", "2026-12-06T23:31:26Z")}, "2026-12-06T23:31:26Z"},
		{"confirmed: updated_at", Change{Name: "MODIFY", At: rounded, Old: order("pending", 1),
			New: with(order("confirmed", 2), "created_at", "2026-12-06T23:20:00Z", "updated_at", "2026-12-06T23:31:40Z")}, "2026-12-06T23:31:40Z"},
		{"an item without updated_at: the record's time", Change{Name: "MODIFY", At: rounded, Old: order("pending", 1),
			New: with(order("cancelled", 2), "created_at", "2026-12-06T23:20:00Z")}, "2026-12-06T23:31:00Z"},
		{"the record's time before created_at: raised to it", Change{Name: "MODIFY", At: rounded, Old: order("pending", 1),
			New: with(order("cancelled", 2), "created_at", "2026-12-06T23:31:26Z")}, "2026-12-06T23:31:26Z"},
		{"an updated_at before created_at (clock skew): raised", Change{Name: "MODIFY", At: rounded, Old: order("pending", 1),
			New: with(order("expired", 2), "created_at", "2026-12-06T23:31:26Z", "updated_at", "2026-12-06T23:31:25Z")}, "2026-12-06T23:31:26Z"},
		{"neither time: the record's", Change{Name: "INSERT", At: rounded, New: order("pending", 1)}, "2026-12-06T23:31:00Z"},
	} {
		e, ok, err := FromChange("dev-a", c.change)
		if err != nil || !ok || e.Detail.OccurredAt != c.want {
			t.Errorf("%s: occurred_at %q (%v, %v), want %s", c.name, e.Detail.OccurredAt, ok, err, c.want)
		}
	}
}

func lambdaRecord(seq, name string, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{SequenceNumber: seq, OldImage: old, NewImage: new,
		ApproximateCreationDateTime: events.SecondsEpochTime{Time: at}}}
}

func image(status string, seq string) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"user_id": events.NewStringAttribute("u1"), "sk": events.NewStringAttribute("ORDER#O" + seq), "order_id": events.NewStringAttribute("O" + seq),
		"status": events.NewStringAttribute(status), "sequence": events.NewNumberAttribute("1"), "currency": events.NewStringAttribute("EUR"),
		"total": events.NewNumberAttribute("100"), "items": events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
			"product_id": events.NewStringAttribute("P1"), "quantity": events.NewNumberAttribute("1")})}),
	}
}

// A batch: what publishes is not reported; a record whose event did not
// land, or that cannot be decoded, is a batch item failure, by its
// sequence number; records that are no event are neither.
func TestHandlerReportsWhatDidNotLand(t *testing.T) {
	var published []string
	h := Handler{Stage: "prod", Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Publish: func(_ context.Context, evs []Event) map[string]error {
		failed := map[string]error{}
		for _, e := range evs {
			if e.Detail.OrderID == "O2" {
				failed[e.EventID] = errors.New("ThrottlingException")
				continue
			}
			published = append(published, e.EventID+" "+e.DetailType)
		}
		return failed
	}}
	bad := image("lost", "3")
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		lambdaRecord("100", "INSERT", nil, image("pending", "1")),
		lambdaRecord("101", "INSERT", nil, image("pending", "2")),
		lambdaRecord("102", "MODIFY", image("pending", "3"), bad),
		lambdaRecord("103", "INSERT", nil, map[string]events.DynamoDBAttributeValue{"user_id": events.NewStringAttribute("u1"), "sk": events.NewStringAttribute("IDEM#k")}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	slices.Sort(failed)
	if !slices.Equal(failed, []string{"101", "102"}) || !slices.Equal(published, []string{"O1-1 order.placed"}) {
		t.Errorf("failed %v, published %v", failed, published)
	}
}
