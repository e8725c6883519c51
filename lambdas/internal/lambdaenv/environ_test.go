package lambdaenv

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/fakeenv"
)

// Environ is Load's inverse for every function: what it writes, Load reads
// back to the same configuration, and it writes exactly the contract's
// variables (besides the local-only ones).
func TestEnvironIsLoadsInverse(t *testing.T) {
	for _, fn := range contract.Functions() {
		t.Run(string(fn), func(t *testing.T) {
			cfg, err := Load(fn, fakeenv.Plausible)
			if err != nil {
				t.Fatal(err)
			}
			cfg.DynamoEndpoint = "http://127.0.0.1:8000"
			env, err := Environ(fn, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			get := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				get[k] = v
				if !slices.Contains(contract.LocalOnly, k) {
					names = append(names, k)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, contract.Env(fn)) {
				t.Errorf("writes %v, contract %v", names, contract.Env(fn))
			}
			back, err := Load(fn, func(name string) string { return get[name] })
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Environ(fn, back)
			if !slices.Equal(sorted(again), sorted(env)) {
				t.Errorf("not a round trip:\n%v\n%v", env, again)
			}
		})
	}
}

// A configuration that lacks a required value is refused, naming it.
func TestEnvironNamesWhatIsMissing(t *testing.T) {
	cfg, _ := Load(contract.Catalog, fakeenv.Plausible)
	cfg.CacheScope = ""
	if _, err := Environ(contract.Catalog, cfg); err == nil || !strings.Contains(err.Error(), contract.EnvCacheScope) {
		t.Errorf("error %v, want one naming %s", err, contract.EnvCacheScope)
	}
}

func sorted(xs []string) []string { out := slices.Clone(xs); slices.Sort(out); return out }
