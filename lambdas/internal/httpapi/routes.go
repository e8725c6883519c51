package httpapi

import "slices"

// AllRoutes are the routes of every function, with handlers that must not be
// called: for knowing which routes exist and who may call them.
func AllRoutes() []Route {
	return slices.Concat((&Catalog{}).Routes(), (&Cart{}).Routes(), (&Orders{}).Routes())
}
