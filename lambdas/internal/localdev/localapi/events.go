package localapi

import (
	"errors"
	"net/http"
)

// ErrUnknownEvent is what after answers for an event id it does not know.
var ErrUnknownEvent = errors.New("no such event")

// Events serves GET /local/events?after=<event_id>: what a consumer of the
// stage's event bus would have received after that event (from the start
// without after), in commit order, as {"items": [...]}.
func Events[E any](after func(id string) ([]E, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, "application/problem+json", map[string]any{
				"type": "/problems/method-not-allowed", "title": "Method Not Allowed", "status": 405})
			return
		}
		items, err := after(r.URL.Query().Get("after"))
		if errors.Is(err, ErrUnknownEvent) {
			writeJSON(w, http.StatusBadRequest, "application/problem+json", map[string]any{
				"type": "/problems/validation", "title": "Bad Request", "status": 400,
				"detail": "after names no event published here.", "errors": []map[string]string{{"field": "after", "message": "is not an event id published here"}}})
			return
		}
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, "application/problem+json", map[string]any{
				"type": "/problems/unavailable", "title": "Service Unavailable", "status": 503})
			return
		}
		if items == nil {
			items = []E{}
		}
		writeJSON(w, http.StatusOK, "application/json", map[string]any{"items": items})
	})
}
