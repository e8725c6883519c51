// Command viewload measures the product cache from a second process: it
// seeds products into a running local API (`make local`), then reads them
// with a Zipf-distributed load, once with the product cache on and once
// with it forced off, and reports the hit ratio, the table reads per 1,000
// product reads and the latencies side by side, then GET /trending's.
// It refuses any address but loopback. `make load-views` runs it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "the local API (loopback only)")
	products := flag.Int("products", 1000, "products to seed and read")
	reads := flag.Int("reads", 20000, "product reads per run (bounded at 100,000)")
	s := flag.Float64("s", 1.1, "Zipf exponent (> 1)")
	trending := flag.Int("trending", 500, "GET /trending calls")
	workers := flag.Int("workers", 4, "concurrent clients")
	flag.Parse()
	if err := run(*base, *products, min(*reads, 100_000), *s, *trending, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "viewload:", err)
		os.Exit(1)
	}
}

type client struct {
	base  string
	http  *http.Client
	token string
}

func (c *client) do(method, path string, body any, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" && method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

type stats struct {
	Reads      int64 `json:"reads"`
	TableReads int64 `json:"table_reads"`
}

func run(base string, products, reads int, s float64, trending, workers int) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address: this load runs against the local API only", base)
	}
	if s <= 1 || products < 2 {
		return errors.New("want -s > 1 and at least 2 products")
	}
	c := &client{base: base, http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}}
	var tok struct {
		Token string `json:"token"`
	}
	if code, err := c.do(http.MethodPost, "/local/token", map[string]any{"sub": "viewload", "email": "viewload@example.com", "groups": []string{"admin"}}, &tok); err != nil || code != 200 {
		return fmt.Errorf("mint a token: %d %v", code, err)
	}
	c.token = tok.Token
	run := time.Now().UnixMilli()
	ids := make([]string, products)
	for i := range ids {
		ids[i] = fmt.Sprintf("Z%d-%04d", run, i)
	}
	start := time.Now()
	if err := parallel(workers, products, func(i int) error {
		code, err := c.do(http.MethodPost, "/products", map[string]any{"product_id": ids[i], "name": "Load " + ids[i],
			"price": 100 + i, "category": fmt.Sprintf("Load%d", i%10), "quantity": 10}, nil)
		if err == nil && code != 201 {
			err = fmt.Errorf("create %s: %d", ids[i], code)
		}
		return err
	}); err != nil {
		return err
	}
	fmt.Printf("seeded %d products in %v\n", products, time.Since(start).Round(time.Millisecond))

	// The same sequence of products for both runs.
	seq := make([]int, reads)
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), s, 1, uint64(products-1))
	for i := range seq {
		seq[i] = int(z.Uint64())
	}
	fmt.Printf("\n%d reads of GET /products/{id}, Zipf s=%.2f over %d products, %d clients\n", reads, s, products, workers)
	fmt.Printf("%-10s %10s %22s %10s %10s %10s\n", "cache", "hit ratio", "table reads per 1,000", "p50", "p99", "max")
	for _, on := range []bool{true, false} {
		var before, after stats
		if code, err := c.do(http.MethodPut, "/local/product-cache", map[string]bool{"enabled": on}, &before); err != nil || code != 200 {
			return fmt.Errorf("switch the product cache: %d %v", code, err)
		}
		lat, err := timed(workers, reads, func(i int) (int, error) { return c.do(http.MethodGet, "/products/"+ids[seq[i]], nil, nil) })
		if err != nil {
			return err
		}
		if _, err := c.do(http.MethodGet, "/local/product-cache", nil, &after); err != nil {
			return err
		}
		n, table := after.Reads-before.Reads, after.TableReads-before.TableReads
		if n != int64(reads) {
			return fmt.Errorf("the server counted %d reads, want %d", n, reads)
		}
		fmt.Printf("%-10s %9.1f%% %22.1f %10v %10v %10v\n", map[bool]string{true: "on", false: "off"}[on],
			100*float64(n-table)/float64(n), 1000*float64(table)/float64(n), lat.q(0.5), lat.q(0.99), lat.q(1))
	}
	if _, err := c.do(http.MethodPut, "/local/product-cache", map[string]bool{"enabled": true}, nil); err != nil {
		return err
	}
	lat, err := timed(workers, trending, func(i int) (int, error) {
		path := "/trending"
		if i%2 == 1 {
			path += fmt.Sprintf("?category=Load%d", i%10)
		}
		return c.do(http.MethodGet, path, nil, nil)
	})
	if err != nil {
		return err
	}
	fmt.Printf("\n%d GET /trending (half of them per category): p50 %v, p99 %v, max %v\n", trending, lat.q(0.5), lat.q(0.99), lat.q(1))
	return nil
}

type latencies []time.Duration

func (l latencies) q(p float64) time.Duration {
	return l[min(len(l)-1, int(p*float64(len(l))))].Round(10 * time.Microsecond)
}

// timed runs n calls on workers clients, each expected to answer 200, and
// returns their latencies, sorted.
func timed(workers, n int, call func(i int) (int, error)) (latencies, error) {
	lat := make(latencies, n)
	err := parallel(workers, n, func(i int) error {
		start := time.Now()
		code, err := call(i)
		lat[i] = time.Since(start)
		if err == nil && code != 200 {
			err = fmt.Errorf("call %d: status %d", i, code)
		}
		return err
	})
	slices.Sort(lat)
	return lat, err
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(workers, n int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
