package httpapi

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/internal/openapi"
)

// tableColumn is the first cell's backticked text of each row of the
// Markdown table under heading in doc.
func tableColumn(t *testing.T, doc, heading string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n## "+heading+"\n")
	if !ok {
		t.Fatalf("docs/contract.md has no section %q", heading)
	}
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	cell := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
	var out []string
	for _, m := range cell.FindAllStringSubmatch(rest, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

// docs/contract.md, the prose contract, and docs/openapi.json list the same
// routes, problem names and headers: a change to one that the other does not
// follow fails here (issue 40).
func TestContractDocumentMatchesOpenAPI(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	ops, err := openapi.Load("../../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, op := range ops {
		if op.Status == "" {
			routes = append(routes, op.Key)
		}
	}
	slices.Sort(routes)
	if got := tableColumn(t, doc, "Routes"); !slices.Equal(got, routes) {
		t.Errorf("routes:\ncontract.md %v\nopenapi.json %v", got, routes)
	}

	var problemType struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal(openAPISchemas(t)["Problem"].Properties["type"], &problemType); err != nil {
		t.Fatal(err)
	}
	_, list, _ := strings.Cut(problemType.Description, "/problems/:")
	var problems []string
	for _, name := range strings.Split(strings.TrimSuffix(strings.TrimSpace(list), "."), ",") {
		problems = append(problems, strings.TrimSpace(name))
	}
	slices.Sort(problems)
	if got := tableColumn(t, doc, "Problems"); len(problems) < 20 || !slices.Equal(got, problems) {
		t.Errorf("problems:\ncontract.md %v\nopenapi.json %v", got, problems)
	}

	headers := openAPIHeaders(t)
	if got := tableColumn(t, doc, "Headers"); !slices.Equal(got, headers) {
		t.Errorf("headers:\ncontract.md %v\nopenapi.json %v", got, headers)
	}
}

// openAPIHeaders are the headers docs/openapi.json names: header parameters,
// response headers, and Authorization for its bearer security scheme.
func openAPIHeaders(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters      map[string]struct{ Name, In string }        `json:"parameters"`
			Responses       map[string]struct{ Headers map[string]any } `json:"responses"`
			SecuritySchemes map[string]struct{ Type, Scheme string }    `json:"securitySchemes"`
			Headers         map[string]any                              `json:"headers"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, s := range doc.Components.SecuritySchemes {
		if s.Type == "http" && strings.EqualFold(s.Scheme, "bearer") {
			set["Authorization"] = true
		}
	}
	for _, p := range doc.Components.Parameters {
		if p.In == "header" {
			set[p.Name] = true
		}
	}
	for _, r := range doc.Components.Responses {
		for h := range r.Headers {
			set[h] = true
		}
	}
	for _, ops := range doc.Paths {
		for _, rawOp := range ops {
			var op struct {
				Parameters []struct{ Name, In string }                 `json:"parameters"`
				Responses  map[string]struct{ Headers map[string]any } `json:"responses"`
			}
			if json.Unmarshal(rawOp, &op) != nil {
				continue
			}
			for _, p := range op.Parameters {
				if p.In == "header" {
					set[p.Name] = true
				}
			}
			for _, r := range op.Responses {
				for h := range r.Headers {
					set[h] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}
