// Command coldstart measures each function's cold path the way Lambda runs
// it: the function's bootstrap, built for this machine like the deployed
// one, is started under the Lambda Runtime Interface Emulator against the
// local backends, invoked twice with a request of its own, and stopped;
// -starts times per function, interleaved, beside an empty aws-lambda-go
// handler built the same way (the floor). It reports the medians of the
// emulator's INIT REPORT, of the first invoke and of the second (warm) one,
// and the binary's size, each beside the floor's. Loopback only. `make
// bench` runs it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/authorizer"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

func main() {
	rie := flag.String("rie", "dist/aws-lambda-rie", "the Runtime Interface Emulator")
	bin := flag.String("bin", "dist/host", "a directory of <function>/bootstrap and floor/bootstrap, built for this machine")
	starts := flag.Int("starts", 7, "cold starts per function (at most 50)")
	flag.BoolVar(&verbose, "v", false, "print each start's emulator and function output")
	flag.Parse()
	rieAbs, err1 := filepath.Abs(*rie)
	binAbs, err2 := filepath.Abs(*bin)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
	if err := run(rieAbs, binAbs, min(max(*starts, 1), 50)); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

var verbose bool

// A subject is one function and the request it is started for.
type subject struct {
	name  contract.Function
	event string
	// ok says whether the function's answer is the success it should be:
	// a broken function is fast, and must not be measured as such.
	ok func(body []byte) bool
}

// The requests read productID; the image event links an upload of
// imageProductID, another product, so that it never empties productID's
// cache entry between the first request and the second.
const productID, imageProductID = "P-COLD", "P-COLD-IMAGE"

func apiOK(body []byte) bool {
	var r struct{ StatusCode int }
	return json.Unmarshal(body, &r) == nil && r.StatusCode == http.StatusOK
}

func noError(body []byte) bool { return !bytes.Contains(body, []byte(`"errorMessage"`)) }

func run(rie, bin string, starts int) error {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dev, err := localdev.Start(ctx, localdev.Options{ImagesBaseURL: "https://cdn.invalid", Log: quiet, Output: io.Discard})
	if err != nil {
		return err
	}
	defer dev.Stop()
	imageKey, err := seed(ctx, dev)
	if err != nil {
		return err
	}
	env, err := environment(dev)
	if err != nil {
		return err
	}
	// The requests, built as the local API builds every event (REST API
	// proxy events, payload 1.0; the authorizer's REQUEST event).
	user := map[string]string{"sub": "u-cold", "token_use": "id"}
	arn := "arn:aws:execute-api:us-east-1:000000000000:cold/shop/GET/cart"
	subjects := []subject{
		{"floor", `{}`, noError},
		{contract.Catalog, event("GET /products/{product_id}", "/products/"+productID, map[string]string{"product_id": productID}, nil), apiOK},
		{contract.Cart, event("GET /cart", "/cart", nil, user), apiOK},
		{contract.Orders, event("GET /orders", "/orders", nil, user), apiOK},
		{contract.Authorizer, marshal(authorizer.Request(arn, nil)), func(b []byte) bool { return bytes.Contains(b, []byte(`"Effect":"Allow"`)) }},
		{contract.Images, `{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"` + localdev.BucketName + `"},"object":{"key":"` + imageKey + `","size":16}}}]}`, noError},
		{contract.Expiry, `{}`, noError},
	}
	results := map[contract.Function]*samples{}
	for i := 0; i < starts; i++ { // interleaved: a slow moment of the machine touches every function alike
		for _, s := range subjects {
			m, err := start(ctx, rie, filepath.Join(bin, string(s.name), "bootstrap"), env[s.name], s)
			if err != nil {
				return fmt.Errorf("%s, start %d: %w", s.name, i+1, err)
			}
			if results[s.name] == nil {
				results[s.name] = &samples{}
			}
			results[s.name].add(m)
		}
	}
	report(os.Stdout, bin, subjects, results, starts)
	return nil
}

// event is the proxy event of a call of route key on path by caller (nil:
// no caller), as the local API sends it.
func event(key, path string, params, caller map[string]string) string {
	route, ok := contract.RouteByKey(key)
	if !ok {
		panic("coldstart: no route " + key)
	}
	ev := httpapi.NewEvent(route.Method, path, &route, params, time.Now())
	httpapi.Authorize(&ev, route.Access, caller)
	return marshal(ev)
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// seed writes the product the requests read and an uploaded image of it.
func seed(ctx context.Context, dev *localdev.Harness) (string, error) {
	now := time.Now().UTC().Format(time.RFC3339)
	for _, id := range []string{productID, imageProductID} {
		p := catalog.Product{ProductID: id, Name: "Cold start", Price: 100, Currency: "EUR", Category: "bench", Quantity: 5, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := dynamo.NewProducts(dev.DB, dev.Config.ProductsTable).Create(ctx, p); err != nil {
			return "", err
		}
	}
	key := contract.ImagesPrefix + imageProductID + "/" + shop.NewID("", time.Now()) + ".jpg"
	jpeg := []byte("\xFF\xD8\xFF\xE0 cold start!!!!")
	_, err := dev.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(localdev.BucketName), Key: aws.String(key),
		Body: bytes.NewReader(jpeg), ContentType: aws.String("image/jpeg")})
	return key, err
}

// environment is each function's environment: lambdaenv.Environ of the
// configuration the local API runs on (dev.Config), with the connection
// values a separate process needs (the cache's address, user and
// password, which the local API's clients hold), plus what Lambda itself
// sets. A variable the contract adds has its value from there, or Environ
// refuses, naming it: the harness never starts a function that refuses to
// start and looks fast.
func environment(dev *localdev.Harness) (map[contract.Function][]string, error) {
	cfg := dev.Config
	cfg.ImagesBaseURL = "https://cdn.invalid"
	cfg.CacheEndpoint, cfg.CacheName, cfg.CacheUser = dev.Redis.Addr, "local", dev.Redis.User
	cfg.CachePassword, cfg.CacheCAFile = dev.Redis.Password, dev.Redis.CAFile()
	cfg.DynamoEndpoint = dev.Endpoints["dynamodb"]
	cfg.UserPoolID, cfg.UserPoolClientID = "us-east-1_local", "local"
	lambda := []string{
		// One set of credentials for both local servers: DynamoDB Local
		// takes any, VersityGW checks them.
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + dev.S3AccessKey, "AWS_SECRET_ACCESS_KEY=" + dev.S3SecretKey,
		"PATH=" + os.Getenv("PATH"),
	}
	out := map[contract.Function][]string{"floor": lambda}
	for _, fn := range []contract.Function{contract.Catalog, contract.Cart, contract.Orders, contract.Authorizer, contract.Images, contract.Expiry} {
		env, err := lambdaenv.Environ(fn, cfg)
		if err != nil {
			return nil, err
		}
		out[fn] = append(slices.Clone(lambda), env...)
	}
	return out, nil
}

// measurement is one cold start.
type measurement struct{ init, first, second time.Duration }

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// start runs bootstrap under the emulator, invokes it twice and stops it.
func start(ctx context.Context, rie, bootstrap string, env []string, s subject) (measurement, error) {
	addr, err := freeAddr()
	if err != nil {
		return measurement{}, err
	}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, bootstrap)
	cmd.Env = env
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return measurement{}, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	if err := waitListening(addr, 10*time.Second); err != nil {
		return measurement{}, fmt.Errorf("%w\n%s", err, out.String())
	}
	var m measurement
	for i, d := range []*time.Duration{&m.first, &m.second} {
		t0 := time.Now()
		body, err := invoke(ctx, addr, s.event)
		*d = time.Since(t0)
		if err != nil || !s.ok(body) {
			return measurement{}, fmt.Errorf("invoke %d: %v: %s\n%s", i+1, err, body, out.String())
		}
	}
	if verbose {
		fmt.Fprintf(os.Stderr, "--- %s\n%s", s.name, out.String())
	}
	match := initReport.FindStringSubmatch(out.String())
	if match == nil {
		return measurement{}, fmt.Errorf("no INIT REPORT in\n%s", out.String())
	}
	ms, _ := strconv.ParseFloat(match[1], 64)
	m.init = time.Duration(ms * float64(time.Millisecond))
	return m, nil
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func invoke(ctx context.Context, addr, event string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/2015-03-31/functions/function/invocations", strings.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// freeAddr is a loopback address no one listens on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			return c.Close()
		}
		time.Sleep(2 * time.Millisecond)
	}
	return errors.New("the emulator did not listen on " + addr)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type samples struct{ init, first, second, extra, lazy []time.Duration }

// add keeps one start. extra is what the first request costs over the
// warm one (the emulator starts the runtime at the first invoke, so the
// init is in it); lazy is that less the init: the set-up left to the first
// request.
func (s *samples) add(m measurement) {
	s.init = append(s.init, m.init)
	s.first = append(s.first, m.first)
	s.second = append(s.second, m.second)
	s.extra = append(s.extra, m.first-m.second)
	s.lazy = append(s.lazy, m.first-m.init-m.second)
}

func median(d []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(d))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func report(w io.Writer, bin string, subjects []subject, r map[contract.Function]*samples, starts int) {
	floor := r["floor"]
	fi, fx, fl := median(floor.init), median(floor.extra), median(floor.lazy)
	size := func(fn contract.Function) int64 {
		st, err := os.Stat(filepath.Join(bin, string(fn), "bootstrap"))
		if err != nil {
			return 0
		}
		return st.Size()
	}
	fmt.Fprintf(w, "\nCold path under the Runtime Interface Emulator: medians of %d starts per function, ms; first includes the init\n", starts)
	fmt.Fprintln(w, "(targets: init <= 1.3x the floor's; first-second <= the floor's. lazy = first-init-second, the set-up left to the first request)")
	fmt.Fprintf(w, "%-11s %7s %7s %7s %7s %12s %8s %7s %8s %10s %8s\n", "function", "init", "x floor", "first", "second", "first-second", "floor's", "lazy", "floor's", "bytes", "x floor")
	for _, s := range subjects {
		m := r[s.name]
		i := median(m.init)
		fmt.Fprintf(w, "%-11s %7s %7.2f %7s %7s %12s %8s %7s %8s %10d %8.2f\n", s.name, ms(i), float64(i)/float64(fi), ms(median(m.first)), ms(median(m.second)),
			ms(median(m.extra)), ms(fx), ms(median(m.lazy)), ms(fl), size(s.name), float64(size(s.name))/float64(size("floor")))
	}
}
