package stacks

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/infra/components"
	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// functionSpec is one of a stage's functions: what it is, where it runs, and
// what its role may do beyond contract.Grants. Its environment is exactly
// contract.Env(fn), with the values of the stage (stageEnv).
type functionSpec struct {
	fn          contract.Function
	id          string // the construct id: a new one replaces the function and its role
	description string
	timeout     float64 // seconds
	// nextToCache runs the function in the VPC with the cache's client
	// security group, connecting as the cache's user: every function that
	// reads or writes products does, since the product cache must hear of
	// every write.
	nextToCache bool
	// indexes says why the role may act on its tables' /index/* ARNs.
	indexes string
	// imageKeys: the role acts on products/* of the images bucket.
	imageKeys bool
	// allAtOnce: with a gradual deployment (prod), the function's new
	// version takes all traffic at once: the expiry job runs once a minute,
	// so a 10% canary would see about one run in ten minutes and prove
	// nothing; its work is conditional and retried the next minute.
	allAtOnce bool
	// guardsCheckout: a shift of the function also rolls back on the
	// checkout SLO's fast burn (the API's functions: a bad catalogue, cart
	// or authorizer breaks checkout too).
	guardsCheckout bool
}

// apiFunctions are the Api stack's functions, in construct order.
var apiFunctions = []functionSpec{
	{fn: contract.Catalog, id: "Catalog", description: "The product catalogue: /products, /trending", timeout: 10, nextToCache: true,
		indexes: "Listing a category queries the table's by-category index", imageKeys: true, guardsCheckout: true},
	{fn: contract.Authorizer, id: "Authorizer", description: "Lets guests and signed-in users call the cart routes", timeout: 10, guardsCheckout: true},
	{fn: contract.Cart, id: "Cart", description: "Shopping carts: /cart", timeout: 10, nextToCache: true,
		indexes: "Table.Grant names the table's indexes too; the actions are key reads, which indexes do not serve", guardsCheckout: true},
	{fn: contract.Orders, id: "Orders", description: "Checkout, order history and profile: /orders, /me", timeout: 10, nextToCache: true,
		indexes: "Table.Grant names the table's indexes too; the actions are key reads and updates, which indexes do not serve", guardsCheckout: true},
	{fn: contract.Expiry, id: "Expiry", description: "Expires pending orders past their hold, every minute", timeout: 10, nextToCache: true,
		indexes: "The job queries the Orders table's sparse index of pending orders", allAtOnce: true},
	// Outside the VPC: it calls EventBridge, which no gateway endpoint
	// reaches, and nothing of the cache. A stream reader takes a new version
	// at once: a canary of a batch-by-batch reader shows little.
	{fn: contract.Events, id: "Events", description: "Publishes the order events from the Orders table's change stream", timeout: 20, allAtOnce: true},
}

// imagesFunction is the Media stack's function: the bucket invokes it.
var imagesFunction = functionSpec{fn: contract.Images, id: "Images", description: "Checks uploaded product images and links them to their product",
	timeout: 20, nextToCache: true, indexes: "Table.Grant names the table's indexes too; the action is a key update", imageKeys: true}

// stageEnv is what a stage's functions may be told: each variable's value,
// and the construct that produces it (whose fingerprint goes into the
// function's description, see components.InputsFingerprint).
type stageEnv struct {
	cache     components.Cache
	values    map[string]string
	producers []producer // in a fixed order: the fingerprint depends on it
}

type producer struct {
	vars      []string
	construct constructs.IConstruct
}

// newStageEnv gathers the values of every variable in contract.Env from the
// stage's stacks.
func newStageEnv(stage config.Stage, data *DataStack, network *NetworkStack, imgs components.ProductImages) stageEnv {
	identity, cache := data.Identity, network.Cache
	e := stageEnv{cache: cache, values: map[string]string{
		contract.EnvProductsTable:  *data.Products.Table().TableName(),
		contract.EnvOrdersTable:    *data.Orders.Orders().TableName(),
		contract.EnvCustomersTable: *data.Orders.Customers().TableName(),
		contract.EnvCursorSecret:   *data.CursorSecret.SecretValue().UnsafeUnwrap(),
		contract.EnvCurrency:       stage.Currency,
		contract.EnvImagesBucket:   *imgs.Bucket().BucketName(),
		contract.EnvImagesBaseURL:  *imgs.BaseURL(),
		contract.EnvCacheEndpoint:  *cache.Endpoint(),
		contract.EnvCacheName:      cache.Name(),
		contract.EnvCacheScope:     stage.Name,
		contract.EnvCartTTLUser:    fmt.Sprintf("%dh", stage.CartTTLUserHours),
		contract.EnvCartTTLGuest:   fmt.Sprintf("%dh", stage.CartTTLGuestHours),
		contract.EnvUserPoolID:     *identity.UserPool().UserPoolId(),
		contract.EnvUserPoolClient: *identity.Client().UserPoolClientId(),
		contract.EnvCorsOrigins:    strings.Join(stage.CorsOrigins, ","),
		contract.EnvOrderHold:      stage.OrderHold().String(),
		contract.EnvMaxPending:     strconv.Itoa(stage.MaxPending()),
		contract.EnvMaxUnitsHeld:   strconv.Itoa(stage.MaxUnitsHeld()),
		contract.EnvStage:          stage.Name,
	}}
	if data.EventBus != nil {
		e.values[contract.EnvEventBus] = *data.EventBus.EventBusName()
	} else {
		e.values[contract.EnvEventBus] = *awscdk.Fn_ImportValue(jsii.String(DevEventBusExports.Name))
	}
	e.producers = []producer{
		{[]string{contract.EnvProductsTable}, data.Products},
		{[]string{contract.EnvOrdersTable, contract.EnvCustomersTable}, data.Orders},
		{[]string{contract.EnvCursorSecret}, data.CursorSecret},
		{[]string{contract.EnvImagesBucket, contract.EnvImagesBaseURL}, imgs},
		{[]string{contract.EnvCacheEndpoint}, cache},
		{[]string{contract.EnvUserPoolID, contract.EnvUserPoolClient}, identity},
	}
	if data.EventBus != nil {
		e.producers = append(e.producers, producer{[]string{contract.EnvEventBus}, data.EventBus})
	}
	return e
}

// of is fn's environment, exactly contract.Env(fn), and its inputs: the
// producers of those values in other stacks than scope's.
func (e stageEnv) of(scope constructs.Construct, fn contract.Function) (map[string]string, []constructs.IConstruct) {
	names := contract.Env(fn)
	env := make(map[string]string, len(names))
	for _, name := range names {
		v, ok := e.values[name]
		if name == contract.EnvCacheUser {
			v, ok = e.cache.UserFor(fn), true // its own user in prod, the stage's on the shared cache
		}
		if !ok {
			panic(fmt.Sprintf("function %s reads %s, which the stage does not set", fn, name))
		}
		env[name] = v
	}
	var inputs []constructs.IConstruct
	for _, p := range e.producers {
		if stackPath(p.construct) == stackPath(scope) {
			continue // resolved within one stack: CloudFormation updates the function itself
		}
		if slices.ContainsFunc(p.vars, func(v string) bool { return slices.Contains(names, v) }) {
			inputs = append(inputs, p.construct)
		}
	}
	return env, inputs
}

// newShopFunction defines spec's function with its environment, its grants
// (contract.Grants, nothing else) and, next to the cache, its network and the
// right to connect.
func newShopFunction(scope constructs.Construct, spec functionSpec, stage config.Stage, distDir string, env stageEnv,
	data *DataStack, network *NetworkStack, imgs components.ProductImages) components.GoFunction {
	vars, inputs := env.of(scope, spec.fn)
	p := components.GoFunctionProps{
		Name: spec.fn, DistDir: distDir, Description: spec.description, Environment: vars, Inputs: inputs,
		ReservedConcurrency: stage.ReservedConcurrency[string(spec.fn)],
		MemoryMB:            stage.LambdaMemoryMB, TimeoutSeconds: spec.timeout, LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod,
		Live: stage.Deployment != nil,
	}
	if spec.nextToCache {
		p.Network, p.SecurityGroup = network.Network, network.Cache.Clients()
	}
	f := components.NewGoFunction(scope, spec.id, p)
	if spec.nextToCache {
		network.Cache.GrantConnect(f.Role(), spec.fn)
	}
	grant(f, spec.fn, data, imgs)
	if spec.imageKeys {
		allowImageKeys(f.Role())
	}
	if spec.indexes != "" {
		allowIndexes(f.Role(), spec.indexes)
	}
	return f
}

// newPreTrafficHook is the BeforeAllowTraffic hook of target's deployments
// (spec's function): a function of its own, told which function it checks
// and the ARN of the version a shift moves to, and allowed to invoke that
// version alone. It runs outside the VPC (it calls the Lambda and CodeDeploy
// APIs, which no gateway endpoint reaches) and holds nothing of the stage.
func newPreTrafficHook(scope constructs.Construct, spec functionSpec, stage config.Stage, distDir string, target components.GoFunction) components.GoFunction {
	version := target.Function().CurrentVersion()
	hook := components.NewGoFunction(scope, "PreTraffic"+spec.id, components.GoFunctionProps{
		Name: contract.PreTraffic, DistDir: distDir,
		Description: "Checks a new version of the " + string(spec.fn) + " function with read-only requests before it takes traffic",
		Environment: map[string]string{contract.EnvCheckFunction: string(spec.fn), contract.EnvCheckTarget: *version.FunctionArn()},
		// Four probes of at most 5 s each (pretraffic.PerProbe), a new
		// version's init included, and the report.
		MemoryMB: 256, TimeoutSeconds: 28, LogRetentionDays: stage.LogRetentionDays, Prod: stage.Prod,
	})
	version.GrantInvoke(hook.Role())
	return hook
}

// shiftOf is how spec's function takes a new version in stage.
func shiftOf(spec functionSpec, stage config.Stage) components.Shift {
	if spec.allAtOnce || stage.Deployment == nil {
		return components.Shift{}
	}
	return components.Shift{CanaryPercent: stage.Deployment.CanaryPercent, IntervalMinutes: stage.Deployment.IntervalMinutes}
}

// grant gives fn's role exactly the actions its code calls (contract.Grants).
func grant(f components.GoFunction, fn contract.Function, data *DataStack, imgs components.ProductImages) {
	role := f.Role()
	grants := contract.Grants(fn)
	// In a fixed order: the policy's statements, and the template, stay the same from synth to synth.
	for _, resource := range slices.Sorted(maps.Keys(grants)) {
		actions := grants[resource]
		switch resource {
		case contract.ResourceProducts:
			data.Products.Table().Grant(role, *jsii.Strings(actions...)...)
		case contract.ResourceOrders:
			data.Orders.Orders().Grant(role, *jsii.Strings(actions...)...)
		case contract.ResourceCustomers:
			data.Orders.Customers().Grant(role, *jsii.Strings(actions...)...)
		case contract.ResourceImages:
			imgs.GrantImages(role, actions...)
		case contract.ResourceImagesIndex:
			imgs.GrantList(role)
		default:
			panic("grant: no resource " + resource)
		}
	}
}

// allowIndexes records why a role may act on a table's /index/* ARNs.
func allowIndexes(role awsiam.IRole, why string) {
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String(why + "; the grant names this table's own indexes, not other tables"),
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.*\/index\/\*$/g`)}},
	}}, jsii.Bool(true))
}

// allowImageKeys records why a role may act on products/* of the images bucket.
func allowImageKeys(role awsiam.IRole) {
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Objects under products/ only: every product image key is products/<product_id>/<ulid>.<ext>"),
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.*ProductImagesBucket.*\/products\/\*$/g`)}},
	}}, jsii.Bool(true))
}

// output adds a stack output.
func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
}

// stackPath is the path of the stack c is in (its top-level construct under
// the app). Stack_Of cannot take the project's own L3 structs, which jsii
// knows only by their embedded construct.
func stackPath(c constructs.IConstruct) string {
	return strings.SplitN(*c.Node().Path(), "/", 2)[0]
}
