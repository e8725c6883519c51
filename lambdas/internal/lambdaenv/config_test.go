package lambdaenv

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/fakeenv"
)

// Each function reads exactly the variables the contract gives it (which the
// CDK app's test holds the templates to), besides the local-only endpoints:
// a variable renamed in the code only, or in the contract only, fails here.
func TestLoadReadsExactlyTheContract(t *testing.T) {
	for _, fn := range contract.Functions() {
		t.Run(string(fn), func(t *testing.T) {
			read := map[string]bool{}
			_, err := Load(fn, func(name string) string { read[name] = true; return fakeenv.Plausible(name) })
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range slices.Concat(contract.LocalOnly, contract.LambdaProvided) {
				delete(read, name)
			}
			var got []string
			for name := range read {
				got = append(got, name)
			}
			slices.Sort(got)
			if want := contract.Env(fn); !slices.Equal(got, want) {
				t.Errorf("reads %v\ncontract %v", got, want)
			}
		})
	}
}

// An empty environment names every variable a function needs, in one error.
func TestLoadNamesEveryMissingVariable(t *testing.T) {
	optional := []string{contract.EnvCartTTLUser, contract.EnvCartTTLGuest, contract.EnvOrderHold, contract.EnvMaxPending, contract.EnvMaxUnitsHeld, contract.EnvCorsOrigins}
	for _, fn := range contract.Functions() {
		_, err := Load(fn, func(string) string { return "" })
		if err == nil {
			t.Fatalf("%s: no error without an environment", fn)
		}
		for _, name := range contract.Env(fn) {
			if !slices.Contains(optional, name) && !strings.Contains(err.Error(), name) {
				t.Errorf("%s: the error does not name %s: %v", fn, name, err)
			}
		}
	}
}

func TestLoadRefusesMalformedValues(t *testing.T) {
	tests := []struct {
		name, variable, value, want string
	}{
		{"currency in lower case", contract.EnvCurrency, "eur", "ISO 4217"},
		{"short cursor secret", contract.EnvCursorSecret, "short", "CURSOR_SECRET"},
		{"cart idle time without a unit", contract.EnvCartTTLGuest, "24", "CART_TTL_GUEST"},
		{"negative cart idle time", contract.EnvCartTTLUser, "-1h", "CART_TTL_USER"},
	}
	if _, err := Load(contract.Reaper, func(name string) string {
		if name == contract.EnvReaperMode {
			return "destroy"
		}
		return fakeenv.Plausible(name)
	}); err == nil || !strings.Contains(err.Error(), contract.EnvReaperMode) {
		t.Errorf("reaper mode destroy: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(contract.Orders, func(name string) string {
				if name == tt.variable {
					return tt.value
				}
				return fakeenv.Plausible(name)
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestLoadUsesDefaultCartIdleTimes(t *testing.T) {
	cfg, err := Load(contract.Cart, func(name string) string {
		if name == contract.EnvCartTTLUser || name == contract.EnvCartTTLGuest {
			return ""
		}
		return fakeenv.Plausible(name)
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CartTTL != DefaultCartTTL {
		t.Errorf("cart idle times %+v, want %+v", cfg.CartTTL, DefaultCartTTL)
	}
}

// CORS_ORIGINS is a comma-separated list; spaces and empty items drop out.
func TestLoadReadsTheCorsOrigins(t *testing.T) {
	cfg, err := Load(contract.Cart, func(name string) string {
		if name == contract.EnvCorsOrigins {
			return " https://a.example, ,https://b.example,"
		}
		return fakeenv.Plausible(name)
	})
	if err != nil || !slices.Equal(cfg.CorsOrigins, []string{"https://a.example", "https://b.example"}) {
		t.Fatalf("origins %q, %v", cfg.CorsOrigins, err)
	}
}
