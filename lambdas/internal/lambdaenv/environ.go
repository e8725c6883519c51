package lambdaenv

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Environ is cfg as fn's environment, Load's inverse: exactly the variables
// contract.Env(fn) names, each with its value in cfg, then the local-only
// variables cfg sets. The harnesses that start a function's binary (make
// cold) take its environment from here, from the configuration the local
// API runs on, so a variable the contract adds is never missing from them:
// an empty required one fails Load's check here, naming it.
func Environ(fn contract.Function, cfg Config) ([]string, error) {
	reaperMode := contract.ReaperReport
	if cfg.ReaperDelete {
		reaperMode = contract.ReaperDelete
	}
	values := map[string]string{
		contract.EnvProductsTable: cfg.ProductsTable, contract.EnvOrdersTable: cfg.OrdersTable, contract.EnvCustomersTable: cfg.CustomersTable,
		contract.EnvCursorSecret: cfg.CursorSecret, contract.EnvCurrency: cfg.Currency,
		contract.EnvImagesBucket: cfg.ImagesBucket, contract.EnvImagesBaseURL: cfg.ImagesBaseURL,
		contract.EnvCacheEndpoint: cfg.CacheEndpoint, contract.EnvCacheName: cfg.CacheName, contract.EnvCacheUser: cfg.CacheUser, contract.EnvCacheScope: cfg.CacheScope,
		contract.EnvCartTTLUser: duration(cfg.CartTTL.User), contract.EnvCartTTLGuest: duration(cfg.CartTTL.Guest),
		contract.EnvUserPoolID: cfg.UserPoolID, contract.EnvUserPoolClient: cfg.UserPoolClientID,
		contract.EnvCorsOrigins: strings.Join(cfg.CorsOrigins, ","),
		contract.EnvOrderHold:   duration(cfg.OrderLimits.Hold), contract.EnvMaxPending: count(cfg.OrderLimits.MaxPending), contract.EnvMaxUnitsHeld: count(cfg.OrderLimits.MaxUnitsHeld),
		contract.EnvReaperTopic: cfg.ReaperTopic, contract.EnvReaperMode: reaperMode,
		contract.EnvEventBus: cfg.EventBus, contract.EnvStage: cfg.Stage,
		contract.EnvCacheUserGroup: cfg.CacheUserGroup,
		contract.EnvCheckFunction:  string(cfg.CheckFunction), contract.EnvCheckTarget: cfg.CheckTarget,
	}
	var out []string
	for _, name := range contract.Env(fn) {
		v, ok := values[name]
		if !ok {
			return nil, fmt.Errorf("environ %s: the contract's %s has no value in lambdaenv.Config", fn, name)
		}
		if v != "" {
			out = append(out, name+"="+v)
		}
	}
	local := map[string]string{contract.EnvDynamoEndpoint: cfg.DynamoEndpoint, contract.EnvS3Endpoint: cfg.S3Endpoint,
		contract.EnvCachePassword: cfg.CachePassword, contract.EnvCacheCAFile: cfg.CacheCAFile}
	for _, name := range contract.LocalOnly {
		if v := local[name]; v != "" {
			out = append(out, name+"="+v)
		}
	}
	env := map[string]string{}
	for _, kv := range out {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if _, err := Load(fn, func(name string) string { return env[name] }); err != nil {
		return nil, fmt.Errorf("environ: %w", err)
	}
	return out, nil
}

// duration and count write what Load reads back; zero is unset (Load's
// default).
func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func count(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
