// Package openapi reads the project's OpenAPI document (docs/openapi.json) so
// that tests can hold the code to it.
package openapi

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
)

// Operation is one method and path of the document.
type Operation struct {
	Key      string // "GET /products/{product_id}"
	Public   bool   // security: [] (no token at all)
	Optional bool   // security: [{cognito: []}, {}] (a guest or a token)
	Status   string // x-shop-status: "" (served) or "planned"
	Tags     []string
}

// Load reads the document at path and lists its operations, sorted by key.
func Load(path string) ([]Operation, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Security []map[string]any                      `json:"security"`
		Paths    map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	var ops []Operation
	for path, item := range doc.Paths {
		for method, rawOp := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				Security *[]map[string]any `json:"security"`
				Status   string            `json:"x-shop-status"`
				Tags     []string          `json:"tags"`
			}
			if err := json.Unmarshal(rawOp, &op); err != nil {
				return nil, err
			}
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			anonymous, token := len(sec) == 0, false
			for _, s := range sec {
				anonymous = anonymous || len(s) == 0 // {} among the alternatives
				token = token || len(s) > 0
			}
			ops = append(ops, Operation{Key: strings.ToUpper(method) + " " + path, Public: anonymous && !token,
				Optional: anonymous && token, Status: op.Status, Tags: op.Tags})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Key < ops[j].Key })
	return ops, nil
}
