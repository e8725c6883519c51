// Package streams reads the Orders table's change stream from DynamoDB Local
// the way the deployed event source mapping reads it from DynamoDB, builds
// the order events the events function would publish (orderevents), and
// keeps what a consumer of the bus would receive: make local serves it at
// GET /local/events. It checkpoints the last record it published per shard
// and resumes from there after a restart; a record read again after a crash
// gives the same event id, and is not kept twice.
package streams

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/localapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/orderevents"
)

// Reader reads one table's stream into its log of events.
type Reader struct {
	streams *dynamodbstreams.Client
	arn     string
	stage   string
	dir     string
	log     *slog.Logger

	mu         sync.Mutex
	events     []orderevents.Event
	seen       map[string]bool
	checkpoint map[string]string // shard id -> the last sequence number published

	// beforeCheckpoint, in tests, fails a poll after its events are kept
	// and before the checkpoint is written: a crash at the worst moment.
	beforeCheckpoint func() error
}

const (
	eventsFile     = "events.jsonl"
	checkpointFile = "checkpoint.json"
)

// Open finds table's stream and loads what an earlier run kept in dir.
func Open(ctx context.Context, db *dynamodb.Client, streams *dynamodbstreams.Client, table, stage, dir string, log *slog.Logger) (*Reader, error) {
	t, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, fmt.Errorf("the stream of %s: %w", table, err)
	}
	if t.Table.LatestStreamArn == nil {
		return nil, fmt.Errorf("%s has no stream", table)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Reader{streams: streams, arn: *t.Table.LatestStreamArn, stage: stage, dir: dir, log: log, seen: map[string]bool{}, checkpoint: map[string]string{}}
	if raw, err := os.ReadFile(filepath.Join(dir, checkpointFile)); err == nil {
		if err := json.Unmarshal(raw, &r.checkpoint); err != nil {
			return nil, fmt.Errorf("%s: %w", checkpointFile, err)
		}
	}
	if f, err := os.Open(filepath.Join(dir, eventsFile)); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e orderevents.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil && !r.seen[e.EventID] {
				r.events, r.seen[e.EventID] = append(r.events, e), true
			}
		}
	}
	return r, nil
}

// Run polls every interval until ctx ends.
func (r *Reader) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Poll(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("order events: poll", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads every shard from its checkpoint to its end, keeps the events,
// then checkpoints; it returns how many new events it kept.
func (r *Reader) Poll(ctx context.Context) (int, error) {
	desc, err := r.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(r.arn)})
	if err != nil {
		return 0, err
	}
	added := 0
	next := map[string]string{}
	for _, shard := range desc.StreamDescription.Shards {
		id := aws.ToString(shard.ShardId)
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(r.arn), ShardId: shard.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
		if seq, ok := r.checkpoint[id]; ok {
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
		}
		it, err := r.streams.GetShardIterator(ctx, in)
		if err != nil {
			return added, fmt.Errorf("shard %s: %w", id, err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := r.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return added, fmt.Errorf("shard %s: %w", id, err)
			}
			if len(out.Records) == 0 {
				break
			}
			var evs []orderevents.Event
			for _, rec := range out.Records {
				c := orderevents.Change{Name: string(rec.EventName), Old: plain(rec.Dynamodb.OldImage), New: plain(rec.Dynamodb.NewImage), At: aws.ToTime(rec.Dynamodb.ApproximateCreationDateTime)}
				e, ok, err := orderevents.FromChange(r.stage, c)
				if err != nil {
					r.log.Warn("order events: undecodable record", "sequence", aws.ToString(rec.Dynamodb.SequenceNumber), "error", err.Error())
				} else if ok {
					evs = append(evs, e)
				}
				next[id] = aws.ToString(rec.Dynamodb.SequenceNumber)
			}
			n, err := r.keep(evs)
			added += n
			if err != nil {
				return added, err
			}
			iter = out.NextShardIterator
		}
	}
	if len(next) == 0 {
		return added, nil
	}
	if r.beforeCheckpoint != nil {
		if err := r.beforeCheckpoint(); err != nil {
			return added, err
		}
	}
	return added, r.save(next)
}

// keep appends the events not kept yet to the log, durably.
func (r *Reader) keep(evs []orderevents.Event) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(r.dir, eventsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	for _, e := range evs {
		if r.seen[e.EventID] {
			continue // a record read again after a crash: the same event
		}
		line, _ := json.Marshal(e)
		if _, err := f.Write(append(line, '\n')); err != nil {
			return n, err
		}
		r.events, r.seen[e.EventID] = append(r.events, e), true
		n++
	}
	return n, f.Sync()
}

// save writes the checkpoint (the new positions over the old ones) atomically.
func (r *Reader) save(next map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, seq := range next {
		r.checkpoint[id] = seq
	}
	raw, _ := json.Marshal(r.checkpoint)
	tmp := filepath.Join(r.dir, checkpointFile+".tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.dir, checkpointFile))
}

// After is the events kept after the one with id (all of them for "", none
// when id is unknown), in the order they were committed.
func (r *Reader) After(id string) ([]orderevents.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == "" {
		return append([]orderevents.Event(nil), r.events...), nil
	}
	for i, e := range r.events {
		if e.EventID == id {
			return append([]orderevents.Event(nil), r.events[i+1:]...), nil
		}
	}
	return nil, localapi.ErrUnknownEvent
}

// plain decodes a stream image into plain values.
func plain(image map[string]types.AttributeValue) map[string]any {
	if image == nil {
		return nil
	}
	out := make(map[string]any, len(image))
	for k, v := range image {
		out[k] = value(v)
	}
	return out
}

func value(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value // orderevents reads numbers from their text
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberL:
		out := make([]any, len(v.Value))
		for i, e := range v.Value {
			out[i] = value(e)
		}
		return out
	case *types.AttributeValueMemberM:
		return plain(v.Value)
	}
	return nil
}
