package localapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// CORS is what API Gateway does for an HTTP API with a CORS configuration:
// it answers preflights itself (for an allowed origin with the allowed
// methods, headers and max age; for another origin with no allow header), and
// puts the allow-origin and expose headers on every response to an allowed
// origin. The lists are the contract's, as the CDK app configures the API.
type CORS struct {
	Origins []string
}

// preflight answers r if it is a CORS preflight, and reports whether it was.
func (c CORS) preflight(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodOptions || r.Header.Get("Origin") == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	if c.allowed(r) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		h.Set("Access-Control-Allow-Methods", strings.Join(contract.CORSAllowMethods(), ","))
		h.Set("Access-Control-Allow-Headers", strings.ToLower(strings.Join(contract.CORSAllowHeaders(), ",")))
		h.Set("Access-Control-Max-Age", strconv.Itoa(contract.CORSMaxAgeSeconds))
		h.Add("Vary", "Origin")
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// decorate adds the headers an allowed origin's response carries.
func (c CORS) decorate(w http.ResponseWriter, r *http.Request) {
	if !c.allowed(r) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	h.Set("Access-Control-Expose-Headers", strings.ToLower(strings.Join(contract.CORSExposeHeaders(), ",")))
	h.Add("Vary", "Origin")
}

func (c CORS) allowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o != "" && slices.Contains(c.Origins, o)
}
