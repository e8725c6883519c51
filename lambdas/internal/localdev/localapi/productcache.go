package localapi

import (
	"encoding/json"
	"net/http"

	"github.com/go-cdk-shop/shop/lambdas/internal/productcache"
)

// ProductCache serves /local/product-cache: GET reports the product reads
// and the table reads among them; PUT {"enabled": false} sends every read to
// the table, the baseline of the load measurement (cmd/viewload).
func ProductCache(c *productcache.Cache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut:
			var body struct {
				Enabled *bool `json:"enabled"`
			}
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&body); err != nil || body.Enabled == nil {
				writeJSON(w, http.StatusBadRequest, "application/problem+json", map[string]any{
					"type": "/problems/validation", "title": "Bad Request", "status": 400, "detail": `Send {"enabled": true|false}.`})
				return
			}
			c.SetEnabled(*body.Enabled)
		default:
			writeJSON(w, http.StatusMethodNotAllowed, "application/problem+json", map[string]any{
				"type": "/problems/method-not-allowed", "title": "Method Not Allowed", "status": 405})
			return
		}
		writeJSON(w, http.StatusOK, "application/json", c.Stats())
	})
}
