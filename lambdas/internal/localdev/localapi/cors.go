package localapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// CORS is what the REST API's preflight methods do (the mock integrations
// CDK adds for the API's CORS options): answer preflights (for an allowed
// origin with the allowed methods, headers and max age; for another origin
// with no allow header). The allow-origin and expose headers of the other
// answers are the functions' (httpapi.Router.AllowOrigins), as in AWS. The
// lists are the contract's, as the CDK app configures the API.
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

func (c CORS) allowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o != "" && slices.Contains(c.Origins, o)
}
