//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/servers"
)

// The local API starts its backends, serves the seed, and on shutdown leaves
// nothing running.
func TestRunServesAndShutsDownCleanly(t *testing.T) {
	port, err := servers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backends := make(chan map[string]string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	go func() {
		done <- run(ctx, log, fmt.Sprint(port), true, "", func(b map[string]string) { backends <- b })
	}()
	var eps map[string]string
	select {
	case eps = <-backends:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatal("not ready after 90 s")
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	resp, err := http.Get(base + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/products/P123")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Name     string `json:"name"`
		Price    int    `json:"price"`
		Category string `json:"category"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if p.Name != "Bluetooth Speaker" || p.Price != 4500 || p.Category != "Electronics" {
		t.Errorf("seeded P123 = %+v", p)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop within 15 s")
	}
	for name, ep := range eps {
		addr := strings.TrimPrefix(ep, "http://")
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listening on %s after shutdown", name, addr)
		}
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Error("the API still listens after shutdown")
	}
}
