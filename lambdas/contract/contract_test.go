package contract

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every function has an environment, every name is an upper-case identifier,
// and no function is told a name twice or a name Lambda reserves.
func TestEnv(t *testing.T) {
	name := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	for _, fn := range Functions() {
		vars := Env(fn)
		if len(vars) == 0 {
			t.Errorf("%s: no environment", fn)
		}
		if len(slices.Compact(slices.Clone(vars))) != len(vars) {
			t.Errorf("%s: a variable is listed twice: %v", fn, vars)
		}
		for _, v := range vars {
			if !name.MatchString(v) {
				t.Errorf("%s: %q is not an environment variable name", fn, v)
			}
			if slices.Contains(LambdaProvided, v) || v == EnvDynamoEndpoint || v == EnvS3Endpoint {
				t.Errorf("%s: %s is not the CDK app's to set", fn, v)
			}
		}
	}
}

// Each cache user keeps to its scope's keys of its kinds: a stage's user to
// that stage's carts, products and views; a function's to its own kinds.
func TestCacheAccessKeepsToItsOwnKeys(t *testing.T) {
	patterns := func(access string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`~(\S+)`).FindAllStringSubmatch(access, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, c := range []struct {
		access string
		want   []string
	}{
		{StageCacheAccess("dev-a"), []string{"{cart:dev-a:*", "{product:dev-a/*", "{views:dev-a/*"}},
		{CacheAccess(Catalog, "prod"), []string{"{product:prod/*", "{views:prod/*"}},
		{CacheAccess(Cart, "prod"), []string{"{cart:prod:*"}},
		{CacheAccess(Orders, "prod"), []string{"{cart:prod:*", "{product:prod/*"}},
		{CacheAccess(Images, "prod"), []string{"{product:prod/*"}},
		{CacheAccess(Expiry, "prod"), []string{"{product:prod/*"}},
	} {
		if got := patterns(c.access); !slices.Equal(got, c.want) {
			t.Errorf("%q: keys %v, want %v", c.access, got, c.want)
		}
		for _, forbidden := range []string{"+@all", "~*", "&*", "+@dangerous"} {
			if strings.Contains(c.access, forbidden) {
				t.Errorf("%q grants %s", c.access, forbidden)
			}
		}
	}
	for _, fn := range Functions() {
		if UsesCache(fn) != slices.Contains(Env(fn), EnvCacheScope) {
			t.Errorf("%s: uses the cache %v, told its scope %v", fn, UsesCache(fn), slices.Contains(Env(fn), EnvCacheScope))
		}
		if UsesCache(fn) && !strings.HasPrefix(WarmKey(fn, "s"), strings.TrimSuffix(patterns(CacheAccess(fn, "s"))[0], "*")) {
			t.Errorf("%s: warm-up key %s outside its ACL", fn, WarmKey(fn, "s"))
		}
	}
}
