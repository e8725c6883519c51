package contract

import "slices"

// Access says who may call a route, and so which authorizer guards it.
type Access string

const (
	// Public routes have no authorizer: anyone may call them.
	Public Access = "public"
	// Guest routes take a guest (an X-Session-Id from POST /sessions, no
	// token) or a signed-in customer, through the shop's Lambda authorizer.
	Guest Access = "guest"
	// User routes take a signed-in customer: an ID token of the customer pool.
	User Access = "user"
	// Staff routes take an ID token of the staff pool (MFA required) whose
	// caller is in AdminGroup.
	Staff Access = "staff"
	// Payment routes are the payment integration's: a client-credentials
	// access token of the payments client holding ScopeConfirmOrders.
	Payment Access = "payment"
)

// Throttle names the limit a route gets on the API stage.
type Throttle string

const (
	// StageThrottle is the stage's default rate and burst.
	StageThrottle Throttle = ""
	// StockThrottle is the stage's lower checkout limit, for the routes
	// that move stock (a transaction over several products each).
	StockThrottle Throttle = "stock"
)

// Route is one route of the REST API: the one place its method and path are
// written. The CDK app declares it on the API (authorizer, throttle, detailed
// metrics), the functions serve it (httpapi binds a handler by Key), the
// local API checks its access the way API Gateway would, and the OpenAPI
// document is tested against it.
type Route struct {
	Method   string   // GET, POST, ...
	Path     string   // API Gateway's path syntax: /products/{product_id}
	Function Function // the function that serves it
	Access   Access
	Throttle Throttle
	// Costly routes cost the most per request (a transaction over several
	// products, a cache write, a new session): with the edge profile, AWS
	// WAF limits each caller on them (a token, a guest session, and the
	// viewer's address whatever the token), so that one client cannot use
	// up the stage's throttle that everyone shares.
	Costly bool
	// SLO, when set, names the route's service level objective: the route
	// publishes its own metrics (ApiName, Stage, Method, Resource) where the
	// stage has detailed metrics, and the SLO's alarms read them.
	SLO string
}

// Key is the route key, as API Gateway writes it: "GET /products/{product_id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Scopes are the OAuth scopes the route's token must hold.
func (r Route) Scopes() []string {
	if r.Access == Payment {
		return []string{ScopeConfirmOrders}
	}
	return nil
}

var routes = []Route{
	// The catalogue: reads are public, writes are staff's.
	{Method: "GET", Path: "/products", Function: Catalog, Access: Public},
	{Method: "POST", Path: "/products", Function: Catalog, Access: Staff},
	{Method: "GET", Path: "/products/{product_id}", Function: Catalog, Access: Public},
	{Method: "PATCH", Path: "/products/{product_id}", Function: Catalog, Access: Staff},
	{Method: "DELETE", Path: "/products/{product_id}", Function: Catalog, Access: Staff},
	{Method: "POST", Path: "/products/{product_id}/image", Function: Catalog, Access: Staff},
	{Method: "GET", Path: "/trending", Function: Catalog, Access: Public},
	// Guest sessions and the cart, which a guest or a signed-in customer may
	// call, all but merge (a guest's cart into the signed-in caller's).
	{Method: "POST", Path: "/sessions", Function: Cart, Access: Public, Costly: true},
	{Method: "DELETE", Path: "/sessions/current", Function: Cart, Access: Guest},
	{Method: "GET", Path: "/cart", Function: Cart, Access: Guest},
	{Method: "DELETE", Path: "/cart", Function: Cart, Access: Guest, Costly: true},
	{Method: "PUT", Path: "/cart/items/{product_id}", Function: Cart, Access: Guest, Costly: true},
	{Method: "DELETE", Path: "/cart/items/{product_id}", Function: Cart, Access: Guest, Costly: true},
	{Method: "POST", Path: "/cart/merge", Function: Cart, Access: User, Costly: true},
	// Orders and the profile: a signed-in customer's, but confirm, which is
	// the payment integration's. The routes that move stock get the
	// checkout limit; checkout carries the shop's SLO.
	{Method: "POST", Path: "/orders", Function: Orders, Access: User, Throttle: StockThrottle, Costly: true, SLO: "Checkout"},
	{Method: "GET", Path: "/orders", Function: Orders, Access: User},
	{Method: "GET", Path: "/orders/{order_id}", Function: Orders, Access: User},
	{Method: "POST", Path: "/orders/{order_id}/cancel", Function: Orders, Access: User, Throttle: StockThrottle, Costly: true},
	{Method: "POST", Path: "/orders/{order_id}/confirm", Function: Orders, Access: Payment, Throttle: StockThrottle},
	{Method: "GET", Path: "/me", Function: Orders, Access: User},
	{Method: "PATCH", Path: "/me", Function: Orders, Access: User},
}

// Routes lists every route of the API, grouped by function.
func Routes() []Route { return slices.Clone(routes) }

// RouteByKey is the route whose Key is key.
func RouteByKey(key string) (Route, bool) {
	i := slices.IndexFunc(routes, func(r Route) bool { return r.Key() == key })
	if i < 0 {
		return Route{}, false
	}
	return routes[i], true
}

// RoutesOf lists the routes fn serves.
func RoutesOf(fn Function) []Route {
	var out []Route
	for _, r := range routes {
		if r.Function == fn {
			out = append(out, r)
		}
	}
	return out
}

// HTTPFunctions are the functions that serve routes, in the table's order.
func HTTPFunctions() []Function {
	var out []Function
	for _, r := range routes {
		if !slices.Contains(out, r.Function) {
			out = append(out, r.Function)
		}
	}
	return out
}

// DefaultRouteFunction serves the API's catch-all methods: every request no
// route matches, so that an unknown path is a problem+json 404 and a known
// path with another method a 405.
const DefaultRouteFunction = Catalog

// CostlyRoutes are the routes whose callers the edge limits one by one.
func CostlyRoutes() []Route {
	var out []Route
	for _, r := range routes {
		if r.Costly {
			out = append(out, r)
		}
	}
	return out
}
