package contract

import (
	"regexp"
	"slices"
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

func TestCacheAccessStringKeepsToCarts(t *testing.T) {
	re := regexp.MustCompile(`~(\S+)`)
	got := re.FindAllStringSubmatch(CacheAccessString, -1)
	var patterns []string
	for _, m := range got {
		patterns = append(patterns, m[1])
	}
	if !slices.Equal(patterns, []string{"{cart:*", "{product:*", "{views:*"}) {
		t.Errorf("key patterns %v, want only the shop's own", patterns)
	}
}
