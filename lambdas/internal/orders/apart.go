package orders

import (
	"context"
	"errors"
	"sync"
)

// RunApart runs do on every job, up to workers at once, never two at once
// whose keys (keysOf) overlap: transactions that write the same item only
// conflict in DynamoDB, so a hot product's orders go one after another
// without a storm of retries, while orders that share nothing go side by
// side. Jobs start in their order among those free to run. After the first
// error no job starts; RunApart waits for those running and returns the
// errors joined.
func RunApart[J any](ctx context.Context, workers int, jobs []J, keysOf func(J) []string, do func(context.Context, J) error) error {
	workers = max(1, min(workers, len(jobs)))
	var (
		mu      sync.Mutex
		free    = sync.NewCond(&mu)
		busy    = map[string]bool{}
		waiting = jobs
		errs    []error
		wg      sync.WaitGroup
	)
	// next takes the first waiting job whose keys are all free, waiting for
	// one to finish when none is; ok is false when no job is left (or one
	// failed). The caller holds mu.
	next := func() (J, []string, bool) {
		for {
			if len(waiting) == 0 || len(errs) > 0 || ctx.Err() != nil {
				var zero J
				return zero, nil, false
			}
			for i, j := range waiting {
				keys := keysOf(j)
				if !anyBusy(busy, keys) {
					waiting = append(waiting[:i:i], waiting[i+1:]...)
					for _, k := range keys {
						busy[k] = true
					}
					return j, keys, true
				}
			}
			free.Wait()
		}
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			for {
				j, keys, ok := next()
				if !ok {
					free.Broadcast() // the others may be waiting for work that will not come
					return
				}
				mu.Unlock()
				err := do(ctx, j)
				mu.Lock()
				for _, k := range keys {
					delete(busy, k)
				}
				if err != nil {
					errs = append(errs, err)
				}
				free.Broadcast()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil && len(waiting) > 0 {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func anyBusy(busy map[string]bool, keys []string) bool {
	for _, k := range keys {
		if busy[k] {
			return true
		}
	}
	return false
}
