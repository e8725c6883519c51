// Package bus publishes the shop's events on an EventBridge event bus.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/go-cdk-shop/shop/lambdas/internal/orderevents"
)

// API is what the bus calls of EventBridge.
type API interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ API = (*eventbridge.Client)(nil)

// Bus is one event bus.
type Bus struct {
	API  API
	Name string
}

// maxEntries is PutEvents' limit of entries a call.
const maxEntries = 10

// Publish puts evs on the bus, ten a call, and returns the error of each
// event that did not land, by event id (none: all landed).
func (b Bus) Publish(ctx context.Context, evs []orderevents.Event) map[string]error {
	failed := map[string]error{}
	for start := 0; start < len(evs); start += maxEntries {
		batch := evs[start:min(start+maxEntries, len(evs))]
		entries := make([]types.PutEventsRequestEntry, len(batch))
		for i, e := range batch {
			detail, err := json.Marshal(e.Detail)
			if err != nil {
				failed[e.EventID] = err
				continue
			}
			entries[i] = types.PutEventsRequestEntry{EventBusName: aws.String(b.Name), Source: aws.String(e.Source),
				DetailType: aws.String(e.DetailType), Detail: aws.String(string(detail))}
		}
		out, err := b.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			for _, e := range batch {
				failed[e.EventID] = fmt.Errorf("put events: %w", err)
			}
			continue
		}
		for i, r := range out.Entries {
			if r.ErrorCode != nil && i < len(batch) {
				failed[batch[i].EventID] = errors.New(aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage))
			}
		}
	}
	return failed
}
