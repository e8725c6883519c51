package orderevents

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Publisher puts events on the bus and names those that did not land.
type Publisher func(ctx context.Context, evs []Event) map[string]error

// Handler is the events function: a batch of the Orders table's change
// records in, their events on the bus out. A record whose event cannot be
// built or published is reported as a batch item failure, so that Lambda
// retries from it (the events after it come again, with the same ids) and,
// past its retries, sends it to the failure destination.
type Handler struct {
	Stage   string
	Publish Publisher
	Log     *slog.Logger
}

// Handle answers one invocation.
func (h Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	var evs []Event
	recordOf := map[string]string{} // event id -> the record's sequence number
	for _, r := range ev.Records {
		c := Change{Name: r.EventName, Old: FromLambda(r.Change.OldImage), New: FromLambda(r.Change.NewImage), At: r.Change.ApproximateCreationDateTime.Time}
		if c.At.IsZero() {
			c.At = time.Now()
		}
		e, ok, err := FromChange(h.Stage, c)
		if err != nil {
			h.Log.ErrorContext(ctx, "undecodable order record", "sequence", r.Change.SequenceNumber, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			continue
		}
		if ok {
			evs = append(evs, e)
			recordOf[e.EventID] = r.Change.SequenceNumber
		}
	}
	for id, err := range h.Publish(ctx, evs) {
		h.Log.ErrorContext(ctx, "event not published", "event_id", id, "error", err.Error())
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: recordOf[id]})
	}
	h.Log.InfoContext(ctx, "order events", "records", len(ev.Records), "published", len(evs)-len(resp.BatchItemFailures))
	return resp, nil
}
