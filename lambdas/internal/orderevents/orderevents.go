// Package orderevents turns the Orders table's change records into the
// order events of the contract (docs/contract.md, "Order events"): one event per
// committed status change, read from the table's change stream, never from
// the request that made it. The Lambda function (cmd/events) and the local
// stream reader (localdev/streams) both build events here.
package orderevents

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
)

// Detail is an event's detail, as the contract and docs/asyncapi.json give
// it. EventID is the order's id and its sequence: unique per status change,
// and the same however often a record is delivered.
type Detail struct {
	EventID    string        `json:"event_id"`
	OrderID    string        `json:"order_id"`
	UserID     string        `json:"user_id"`
	Status     string        `json:"status"`
	Sequence   int64         `json:"sequence"`
	Items      []orders.Item `json:"items"`
	Currency   string        `json:"currency"`
	Total      int64         `json:"total"`
	OccurredAt string        `json:"occurred_at"`
	Stage      string        `json:"stage"`
}

// Event is what goes on the bus: source, detail type and detail.
type Event struct {
	EventID    string `json:"event_id"`
	DetailType string `json:"detail_type"`
	Source     string `json:"source"`
	Detail     Detail `json:"detail"`
}

// Change is one record of the change stream, its images decoded from
// DynamoDB's format into plain values (string, int64, []any, map[string]any).
type Change struct {
	Name     string // INSERT, MODIFY or REMOVE
	Old, New map[string]any
	At       time.Time // the record's approximate creation time (rounded down: see occurredAt)
}

// orderPrefix starts an order item's sort key (the table also holds
// idempotency records and the owner index).
const orderPrefix = "ORDER#"

// FromChange is the event of a change, and false when it is none: not an
// order, no status change (a TTL removal, a record's other updates).
func FromChange(stage string, c Change) (Event, bool, error) {
	img := c.New
	if c.Name == "REMOVE" || img == nil || !strings.HasPrefix(str(img[contract.SortKey]), orderPrefix) {
		return Event{}, false, nil
	}
	status := str(img["status"])
	if c.Name == "MODIFY" && str(c.Old["status"]) == status {
		return Event{}, false, nil
	}
	kind, ok := contract.OrderEventTypes[status]
	if !ok {
		return Event{}, false, fmt.Errorf("order %s: status %q has no event", str(img["order_id"]), status)
	}
	seq := integer(img[contract.OrderSequence])
	if seq == 0 {
		seq = 1 // placed before orders counted their changes
	}
	d := Detail{OrderID: str(img["order_id"]), UserID: str(img[contract.UserID]), Status: status, Sequence: seq,
		Currency: str(img["currency"]), Total: integer(img["total"]), OccurredAt: occurredAt(c, img), Stage: stage}
	if d.OrderID == "" || d.UserID == "" {
		return Event{}, false, fmt.Errorf("an order item without order_id or user_id: %v", img[contract.SortKey])
	}
	d.EventID = d.OrderID + "-" + strconv.FormatInt(seq, 10)
	items, _ := img["items"].([]any)
	d.Items = make([]orders.Item, 0, len(items))
	for _, raw := range items {
		it, _ := raw.(map[string]any)
		d.Items = append(d.Items, orders.Item{ProductID: str(it["product_id"]), Name: str(it["name"]), UnitPrice: integer(it["unit_price"]),
			Quantity: int(integer(it["quantity"])), LineTotal: integer(it["line_total"])})
	}
	return Event{EventID: d.EventID, DetailType: kind, Source: contract.OrderEventSource, Detail: d}, true, nil
}

// occurredAt is when the change was committed, as the order records it:
// its created_at for the placement and its updated_at for a later change,
// both written in the transaction that commits the change. An item without
// them (written before updated_at existed) falls back to the record's time;
// and no change is ever dated before the order's creation. The record's
// own time is only approximate: DynamoDB rounds it down (to the second in
// AWS, much further in DynamoDB Local), so an event could otherwise say it
// happened before its order existed.
func occurredAt(c Change, img map[string]any) string {
	created, hasCreated := parseTime(img["created_at"])
	at := c.At
	switch updated, ok := parseTime(img["updated_at"]); {
	case c.Name == "INSERT" && hasCreated:
		at = created
	case c.Name != "INSERT" && ok:
		at = updated
	}
	if hasCreated && at.Before(created) {
		at = created
	}
	return at.UTC().Format(time.RFC3339)
}

func parseTime(v any) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, str(v))
	return t, err == nil
}

func str(v any) string { s, _ := v.(string); return s }

func integer(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}
