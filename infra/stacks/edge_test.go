package stacks

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// wafRequest is what the edge web ACL's rules read of a request.
type wafRequest struct {
	ip, method, path string
	headers          map[string]string // lower-case names
}

// transform applies AWS WAF's text transformations by name, as the AWS WAF
// Developer Guide ("Text transformation options") describes them.
func transform(s string, types []string) string {
	for _, typ := range types {
		switch typ {
		case "URL_DECODE":
			if u, err := url.PathUnescape(s); err == nil {
				s = u
			}
		case "LOWERCASE":
			s = strings.ToLower(s)
		case "NORMALIZE_PATH": // repeated slashes, "." and ".." segments not at the start
			for strings.Contains(s, "//") {
				s = strings.ReplaceAll(s, "//", "/")
			}
			var out []string
			for i, seg := range strings.Split(s, "/") {
				switch {
				case seg == "." && i > 0:
				case seg == ".." && len(out) > 1:
					out = out[:len(out)-1]
				default:
					out = append(out, seg)
				}
			}
			s = strings.Join(out, "/")
		case "NONE":
		default:
			panic("transform " + typ + " not modelled")
		}
	}
	return s
}

func transformsOf(v any) []string {
	var out []string
	list := asList(v)
	sort.Slice(list, func(i, j int) bool { return get(list[i], "Priority").(float64) < get(list[j], "Priority").(float64) })
	for _, t := range list {
		out = append(out, fmt.Sprint(get(t, "Type")))
	}
	return out
}

// matches evaluates the statements the edge web ACL's scope-downs use.
func matches(t *testing.T, st any, r wafRequest) bool {
	t.Helper()
	m, _ := st.(map[string]any)
	for kind, body := range m {
		switch kind {
		case "AndStatement":
			for _, s := range asList(get(body, "Statements")) {
				if !matches(t, s, r) {
					return false
				}
			}
			return true
		case "OrStatement":
			for _, s := range asList(get(body, "Statements")) {
				if matches(t, s, r) {
					return true
				}
			}
			return false
		case "NotStatement":
			return !matches(t, get(body, "Statement"), r)
		case "RegexMatchStatement":
			return regexp.MustCompile(get(body, "RegexString").(string)).MatchString(transform(field(t, get(body, "FieldToMatch"), r), transformsOf(get(body, "TextTransformations"))))
		case "RegexPatternSetReferenceStatement":
			value := transform(field(t, get(body, "FieldToMatch"), r), transformsOf(get(body, "TextTransformations")))
			for _, p := range patternSet(t, get(body, "Arn")) {
				if regexp.MustCompile(p).MatchString(value) {
					return true
				}
			}
			return false
		}
		t.Fatalf("statement %s not modelled", kind)
	}
	return false
}

func field(t *testing.T, f any, r wafRequest) string {
	switch {
	case get(f, "Method") != nil:
		return r.method
	case get(f, "UriPath") != nil:
		return r.path
	}
	t.Fatalf("field %s not modelled", js(f))
	return ""
}

func patternSet(t *testing.T, arn any) []string {
	id, _ := get(arn, "Fn::GetAtt", 0).(string)
	set, ok := tpl["Shop-prod-Edge"].Resources[id]
	if !ok || set.Type != "AWS::WAFv2::RegexPatternSet" {
		t.Fatalf("pattern set %s not in the edge stack", js(arn))
	}
	var out []string
	for _, p := range asList(set.Properties["RegularExpressionList"]) {
		out = append(out, p.(string))
	}
	return out
}

// edgeWaf is the edge web ACL's rate rules in priority order, counting
// requests as AWS WAF does within one evaluation window: a rule counts a
// request its scope-down matches under its key (the address, or the
// custom keys' values; a request missing one is not counted), and blocks
// a key past its limit.
type edgeWaf struct {
	rules  []any
	counts map[string]int
}

func newEdgeWaf(t *testing.T) *edgeWaf {
	acl := only(t, "Shop-prod-Edge", "AWS::WAFv2::WebACL").Properties
	rules := asList(acl["Rules"])
	sort.Slice(rules, func(i, j int) bool { return get(rules[i], "Priority").(float64) < get(rules[j], "Priority").(float64) })
	return &edgeWaf{rules: rules, counts: map[string]int{}}
}

// blockedBy sends r and names the rule that blocks it ("" if none).
func (w *edgeWaf) blockedBy(t *testing.T, r wafRequest) string {
	for _, rule := range w.rules {
		rate := get(rule, "Statement", "RateBasedStatement")
		if rate == nil {
			continue // managed groups: not rate rules
		}
		if scope := get(rate, "ScopeDownStatement"); scope != nil && !matches(t, scope, r) {
			continue
		}
		key := []string{fmt.Sprint(get(rule, "Name"))}
		switch get(rate, "AggregateKeyType") {
		case "IP":
			key = append(key, r.ip)
		case "CUSTOM_KEYS":
			missing := false
			for _, k := range asList(get(rate, "CustomKeys")) {
				v, ok := r.headers[fmt.Sprint(get(k, "Header", "Name"))]
				missing = missing || !ok
				key = append(key, v)
			}
			if missing {
				continue
			}
		default:
			t.Fatalf("aggregate key %v not modelled", get(rate, "AggregateKeyType"))
		}
		k := strings.Join(key, "|")
		w.counts[k]++
		if float64(w.counts[k]) > get(rate, "Limit").(float64) {
			return fmt.Sprint(get(rule, "Name"))
		}
	}
	return ""
}

// No prod route is reachable without passing a rate rule keyed on the
// caller: the edge web ACL's first rule counts every request by the
// viewer's own address (no forwarded header, which a client sets), and no
// rule before it lets a request through; the API's regional web ACL admits
// only what came through the CDN (TestApiEdge).
func TestEveryRouteIsBehindACallerKeyedRateRule(t *testing.T) {
	w := newEdgeWaf(t)
	first := get(w.rules[0], "Statement", "RateBasedStatement")
	if first == nil || get(first, "AggregateKeyType") != "IP" || get(first, "ScopeDownStatement") != nil {
		t.Fatalf("first rule = %s, want a rate rule on every request by address", js(w.rules[0]))
	}
	for _, rule := range w.rules {
		if get(rule, "Action", "Allow") != nil {
			t.Errorf("rule %v allows requests past the rate rules", get(rule, "Name"))
		}
	}
	if acl := js(only(t, "Shop-prod-Edge", "AWS::WAFv2::WebACL").Properties); strings.Contains(acl, "ForwardedIPConfig") {
		t.Error("a rule reads the address from a forwarded header, which the client sets")
	}
	if get(only(t, "Shop-prod-Edge", "AWS::WAFv2::WebACL").Properties, "Scope") != "CLOUDFRONT" {
		t.Error("the edge web ACL is not CloudFront's: its IP is not the viewer's")
	}
}

// The per-client rules cover exactly the costly routes (contract.Costly),
// in every spelling of their paths that could reach them.
func TestCostlyRulesMatchThePathVariants(t *testing.T) {
	w := newEdgeWaf(t)
	var scope any
	for _, rule := range w.rules {
		if get(rule, "Name") == "CostlyPerToken" {
			scope = get(rule, "Statement", "RateBasedStatement", "ScopeDownStatement")
		}
	}
	if scope == nil {
		t.Fatal("no CostlyPerToken rule")
	}
	concrete := strings.NewReplacer("{product_id}", "P-1", "{order_id}", "O1")
	for _, r := range contract.Routes() {
		path := concrete.Replace(r.Path)
		variants := []string{path, "/" + path, strings.ToUpper(path), path + "/", strings.Replace(path, "/", "//", 2),
			strings.Replace(path, "/", "/./", 1), "/x/.." + path, strings.Replace(path, path[1:2], fmt.Sprintf("%%%02X", path[1]), 1)}
		for _, v := range variants {
			for _, method := range []string{r.Method, strings.ToLower(r.Method)} {
				if got := matches(t, scope, wafRequest{method: method, path: v}); got != r.Costly {
					t.Errorf("%s %s (route %s): costly scope matches %v, want %v", method, v, r.Key(), got, r.Costly)
				}
			}
		}
	}
}

// Minting a new token (or guest session) for every request does not
// escape the limits: the address rule counts them all. One token spread
// over many addresses trips the token rule.
func TestRotatingTokensFromOneAddressTripsALimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header string
		want   string
	}{
		{"new token each request", "authorization", "CostlyPerIp"},
		{"new guest session each request", "x-session-id", "CostlyPerIp"},
		{"no token at all", "", "CostlyPerIp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newEdgeWaf(t)
			for i := 1; i <= 10_000; i++ {
				r := wafRequest{ip: "198.51.100.7", method: "POST", path: "/orders", headers: map[string]string{}}
				if tc.header != "" {
					r.headers[tc.header] = fmt.Sprintf("minted-%d", i)
				}
				if rule := w.blockedBy(t, r); rule != "" {
					if rule != tc.want || i > 301 {
						t.Fatalf("request %d blocked by %s, want %s by request 301", i, rule, tc.want)
					}
					return
				}
			}
			t.Fatal("10,000 requests with new credentials from one address, none blocked")
		})
	}
	w := newEdgeWaf(t)
	for i := 1; i <= 1000; i++ {
		r := wafRequest{ip: fmt.Sprintf("203.0.113.%d", i%250), method: "PUT", path: "/cart/items/P1",
			headers: map[string]string{"x-session-id": "one-session"}}
		if rule := w.blockedBy(t, r); rule != "" {
			if rule != "CostlyPerSession" || i != 101 {
				t.Fatalf("request %d blocked by %s, want CostlyPerSession at 101", i, rule)
			}
			return
		}
	}
	t.Fatal("one session from 250 addresses was never limited")
}
