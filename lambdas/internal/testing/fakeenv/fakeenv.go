// Package fakeenv gives every variable of the contract a value its reader
// accepts, for tests that load a function's configuration as Lambda would.
package fakeenv

import (
	"slices"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Plausible is a value every variable accepts; the local-only ones are
// empty, as in AWS.
func Plausible(name string) string {
	if slices.Contains(contract.LocalOnly, name) {
		return ""
	}
	switch name {
	case contract.EnvCurrency:
		return "EUR"
	case contract.EnvCursorSecret:
		return strings.Repeat("ab", 32)
	case contract.EnvCartTTLUser, contract.EnvCartTTLGuest, contract.EnvOrderHold:
		return "1h"
	case contract.EnvMaxPending:
		return "3"
	case contract.EnvMaxUnitsHeld:
		return "10"
	case contract.EnvCacheEndpoint:
		return "cache.example:6379"
	case contract.EnvReaperMode:
		return contract.ReaperReport
	case contract.EnvCheckFunction:
		return string(contract.Orders)
	}
	return "x"
}
