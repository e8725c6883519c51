package orders

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// RunApart runs every job once, never two with a shared key at once, and
// runs jobs that share nothing side by side up to the workers given.
func TestRunApart(t *testing.T) {
	for _, tc := range []struct {
		name        string
		jobs        [][]string
		workers     int
		wantMaxBusy int32 // the most jobs running at once
	}{
		{"disjoint jobs fill the workers", disjoint(40), 8, 8},
		{"one hot key runs one at a time", withKey(disjoint(40), "hot"), 8, 1},
		{"one worker", disjoint(10), 1, 1},
		{"more workers than jobs", disjoint(3), 8, 3},
		{"no jobs", nil, 8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			holders := map[string]int{}
			ran := make([]atomic.Int32, len(tc.jobs))
			var running, maxBusy atomic.Int32
			gate := make(chan struct{})
			var once sync.Once
			idx := make([]int, len(tc.jobs))
			for i := range idx {
				idx[i] = i
			}
			err := RunApart(context.Background(), tc.workers, idx, func(i int) []string { return tc.jobs[i] }, func(_ context.Context, i int) error {
				mu.Lock()
				for _, k := range tc.jobs[i] {
					if holders[k] > 0 {
						t.Errorf("job %d runs while another holds %q", i, k)
					}
					holders[k]++
				}
				mu.Unlock()
				n := running.Add(1)
				for m := maxBusy.Load(); n > m && !maxBusy.CompareAndSwap(m, n); m = maxBusy.Load() {
				}
				if n == tc.wantMaxBusy { // enough side by side: let them all go
					once.Do(func() { close(gate) })
				}
				<-gate
				running.Add(-1)
				mu.Lock()
				for _, k := range tc.jobs[i] {
					holders[k]--
				}
				mu.Unlock()
				ran[i].Add(1)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := range ran {
				if n := ran[i].Load(); n != 1 {
					t.Errorf("job %d ran %d times", i, n)
				}
			}
			if got := maxBusy.Load(); got != tc.wantMaxBusy {
				t.Errorf("%d jobs ran at once at most, want %d", got, tc.wantMaxBusy)
			}
		})
	}
}

// After a job fails no other starts; those running finish, and the errors
// come back joined.
func TestRunApartStopsAtTheFirstError(t *testing.T) {
	var started atomic.Int32
	boom := errors.New("boom")
	err := RunApart(context.Background(), 1, []int{0, 1, 2, 3}, func(int) []string { return nil }, func(_ context.Context, i int) error {
		started.Add(1)
		if i == 1 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || started.Load() != 2 {
		t.Errorf("err %v after %d jobs started; want boom after 2", err, started.Load())
	}
}

func disjoint(n int) [][]string {
	jobs := make([][]string, n)
	for i := range jobs {
		jobs[i] = []string{fmt.Sprint("customer:", i), fmt.Sprint("product:", i)}
	}
	return jobs
}

func withKey(jobs [][]string, key string) [][]string {
	for i := range jobs {
		jobs[i] = append(jobs[i], key)
	}
	return jobs
}
