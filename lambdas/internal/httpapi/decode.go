package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// object is a JSON request body read member by member, so that every wrong
// member is reported by name in one answer: unknown, null, or of the wrong type.
type object struct {
	members map[string]json.RawMessage
	used    map[string]bool
	v       shop.Violations
}

// decodeObject reads body as exactly one JSON object whose members are all in allowed.
func decodeObject(body []byte, allowed ...string) (*object, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, shop.Invalid("body", "is required: a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, shop.Invalid("body", "is not valid JSON (at byte "+strconv.FormatInt(syn.Offset, 10)+")")
		case errors.As(err, &typ), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, shop.Invalid("body", "must be a JSON object")
		default:
			return nil, shop.Invalid("body", "is not valid JSON")
		}
	}
	if members == nil {
		return nil, shop.Invalid("body", "must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, shop.Invalid("body", "must hold one JSON object and nothing after it")
	}
	o := &object{members: members, used: map[string]bool{}}
	known := map[string]bool{}
	for _, a := range allowed {
		known[a] = true
	}
	var unknown []string
	for name := range members {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown) // a stable order of errors for clients and tests
	for _, name := range unknown {
		o.v.Add(name, "is not a known field")
	}
	return o, nil
}

func (o *object) raw(name string) (json.RawMessage, bool) {
	m, ok := o.members[name]
	if !ok {
		return nil, false
	}
	if string(m) == "null" {
		o.v.Add(name, "must not be null")
		return nil, false
	}
	return m, true
}

// String reads member name as a string into *dst, leaving it nil when absent.
func (o *object) String(name string, dst **string) {
	m, ok := o.raw(name)
	if !ok {
		return
	}
	var s string
	if m[0] != '"' || json.Unmarshal(m, &s) != nil {
		o.v.Add(name, "must be a string")
		return
	}
	*dst = &s
}

// Int reads member name as an integer into *dst, leaving it nil when absent.
// 4.5, 1e3, "45" and numbers beyond int64 are refused, never rounded.
func (o *object) Int(name string, dst **int64) {
	m, ok := o.raw(name)
	if !ok {
		return
	}
	s := string(m)
	if strings.ContainsAny(s, ".eE") || s[0] == '"' || s == "true" || s == "false" || s[0] == '{' || s[0] == '[' {
		o.v.Add(name, "must be an integer")
		return
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		o.v.Add(name, "must be an integer within range")
		return
	}
	*dst = &n
}

// ReadOnly refuses member name, which responses carry and requests may not
// set, saying why.
func (o *object) ReadOnly(name, why string) {
	if _, ok := o.members[name]; ok {
		o.v.Add(name, "is read-only: "+why)
	}
}

// Err reports the violations found while reading.
func (o *object) Err() error { return o.v.Err() }

// listQuery reads the query of a list route: only the known parameters; an
// optional limit of at most maxLimit (0 when absent); a category, when
// known and present, must not be empty.
func listQuery(q map[string]string, maxLimit int, known ...string) (int, error) {
	for name := range q {
		if !slices.Contains(known, name) {
			return 0, shop.Invalid(name, "is not a known query parameter")
		}
	}
	limit, err := queryInt(q, "limit", maxLimit)
	if err != nil {
		return 0, err
	}
	if cat, ok := q["category"]; ok && cat == "" {
		return 0, shop.Invalid("category", "must not be empty")
	}
	return limit, nil
}

// queryInt reads an optional integer query parameter of at most max (0 when absent).
func queryInt(q map[string]string, name string, max int) (int, error) {
	s, ok := q[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n == 0 && s != "0" {
		return 0, shop.Invalid(name, "must be an integer")
	}
	if n == 0 {
		return 0, shop.Invalid(name, "must be an integer from 1 to "+strconv.Itoa(max))
	}
	return n, nil
}
