package stacks

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// stageOf is the stage of a stack name (Shop-<stage>-<part>), or "Account".
func stageOf(stack string) string {
	rest := strings.TrimPrefix(stack, "Shop-")
	if i := strings.LastIndex(rest, "-"); i > 0 {
		return rest[:i]
	}
	return rest
}

// inIsolatedSubnets says whether subnets (a template value as JSON) are the
// stage's two isolated subnets: its own VPC's in prod, the account's shared
// development network's otherwise.
func inIsolatedSubnets(stage, subnets string) bool {
	if stage == "prod" {
		return strings.Count(subnets, "isolatedSubnet") == 2 && !strings.Contains(subnets, "ImportValue")
	}
	return strings.Count(subnets, `{"Fn::ImportValue":"`+DevNetworkExports.SubnetIDs+`"}`) == 2 &&
		strings.Contains(subnets, `"Fn::Select":[0`) && strings.Contains(subnets, `"Fn::Select":[1`)
}

// Development stages run in the account's shared network and define none of
// their own; prod has its own VPC.
func TestDevelopmentStagesShareTheAccountNetwork(t *testing.T) {
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::VPCEndpoint", "AWS::EC2::FlowLog"} {
		if n := len(ofType("Shop-dev-test-Network", typ)); n != 0 {
			t.Errorf("Shop-dev-test-Network defines %d × %s", n, typ)
		}
	}
	exported := map[string]bool{}
	for _, o := range tpl["Shop-Account"].Outputs {
		if name, ok := get(o, "Export", "Name").(string); ok {
			exported[name] = true
		}
	}
	for _, name := range []string{DevNetworkExports.VpcID, DevNetworkExports.SubnetIDs, DevNetworkExports.AZs} {
		if !exported[name] {
			t.Errorf("Shop-Account does not export %s: %v", name, exported)
		}
	}
	// The stage's functions reach the account's cache through its client
	// security group: a stage adds no group and no rule (a group holds 60).
	for _, typ := range []string{"AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress", "AWS::ElastiCache::ServerlessCache", "AWS::ElastiCache::UserGroup"} {
		if n := len(ofType("Shop-dev-test-Network", typ)); n != 0 {
			t.Errorf("the dev stage has %d %s of its own", n, typ)
		}
	}
	for _, name := range []string{DevCacheExports.Endpoint, DevCacheExports.Name, DevCacheExports.ARN, DevCacheExports.ClientsSG, DevCacheUsersServiceToken, DevImagesOacExport, DevCursorSecretExport} {
		if !exported[name] {
			t.Errorf("Shop-Account does not export %s", name)
		}
	}
}

func TestNetwork(t *testing.T) {
	for _, stack := range []string{"Shop-Account", "Shop-prod-Network"} {
		testNetwork(t, stack)
	}
}

func testNetwork(t *testing.T, stack string) {
	only(t, stack, "AWS::EC2::VPC")
	for _, typ := range []string{"AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP", "AWS::EC2::VPCEndpoint"} {
		n := len(ofType(stack, typ))
		if want := map[string]int{"AWS::EC2::VPCEndpoint": 2}[typ]; n != want {
			t.Errorf("%d × %s, want %d", n, typ, want)
		}
	}
	var services []string
	for _, ep := range ofType(stack, "AWS::EC2::VPCEndpoint") {
		if ep.Properties["VpcEndpointType"] != "Gateway" {
			t.Errorf("endpoint type %v, want Gateway (free)", ep.Properties["VpcEndpointType"])
		}
		if pol := js(ep.Properties["PolicyDocument"]); !strings.Contains(pol, `"Condition":{"StringEquals":{"aws:ResourceAccount":{"Ref":"AWS::AccountId"}}}`) ||
			strings.Count(pol, `"Effect"`) != 1 {
			t.Errorf("%s: endpoint policy %s, want only this account's resources", stack, pol)
		}
		services = append(services, js(ep.Properties["ServiceName"]))
	}
	sort.Strings(services)
	if !strings.Contains(services[0], ".dynamodb") || !strings.Contains(services[1], ".s3") {
		t.Errorf("endpoints for %v, want DynamoDB and S3", services)
	}
	subnets := ofType(stack, "AWS::EC2::Subnet")
	if len(subnets) != 2 {
		t.Errorf("%d subnets, want 2 (two availability zones)", len(subnets))
	}
	for id, sn := range subnets {
		if sn.Properties["MapPublicIpOnLaunch"] == true {
			t.Errorf("%s maps public IPs", id)
		}
	}
	for id, r := range ofType(stack, "AWS::EC2::Route") {
		t.Errorf("route %s: isolated subnets have no routes out: %s", id, js(r.Properties))
	}
	fl := only(t, stack, "AWS::EC2::FlowLog").Properties
	if fl["TrafficType"] != "ALL" || fl["LogDestinationType"] != "cloud-watch-logs" || fl["ResourceType"] != "VPC" {
		t.Errorf("flow log = %s", js(fl))
	}
}

func TestCartCache(t *testing.T) {
	// Prod's own cache, and the account's shared development cache.
	for _, c := range []struct{ stack, name, limits, stage string }{
		{"Shop-prod-Network", "shop-prod-cart", `{"DataStorage":{"Maximum":10,"Unit":"GB"},"ECPUPerSecond":{"Maximum":100000}}`, "prod"},
		{"Shop-Account", DevCacheName, `{"DataStorage":{"Maximum":5,"Unit":"GB"},"ECPUPerSecond":{"Maximum":20000}}`, "dev-test"},
	} {
		stack := c.stack
		props := only(t, stack, "AWS::ElastiCache::ServerlessCache").Properties
		prefix := map[string]string{"Shop-prod-Network": "CartCache", "Shop-Account": "DevCache"}[stack]
		checks := []struct {
			name string
			got  any
			want string
		}{
			{"engine", props["Engine"], `"valkey"`},
			{"name", props["ServerlessCacheName"], `"` + c.name + `"`},
			{"limits", props["CacheUsageLimits"], c.limits},
			{"user group", props["UserGroupId"], `{"Ref":"` + prefix + `UserGroup` + refSuffix(t, stack, "AWS::ElastiCache::UserGroup") + `"}`},
		}
		for _, ch := range checks {
			if js(ch.got) != ch.want {
				t.Errorf("%s: cache %s = %s, want %s", stack, ch.name, js(ch.got), ch.want)
			}
		}
		if sn := js(props["SubnetIds"]); stack == "Shop-prod-Network" && !inIsolatedSubnets(c.stage, sn) {
			t.Errorf("%s: cache subnets %s, want the two isolated subnets", stack, sn)
		}
	}
	// Prod: a user per function that uses the cache, and the disabled default user.
	g := only(t, "Shop-prod-Network", "AWS::ElastiCache::UserGroup").Properties
	if n := len(g["UserIds"].([]any)); n != 6 {
		t.Errorf("prod's user group holds %d users, want the 5 functions' and the disabled default user", n)
	}
	for id, u := range ofType("Shop-prod-Network", "AWS::ElastiCache::User") {
		if u.Properties["UserName"] == "default" {
			continue
		}
		if js(u.Properties["AuthenticationMode"]) != `{"Type":"iam"}` || u.Properties["UserId"] != u.Properties["UserName"] || u.Properties["Passwords"] != nil {
			t.Errorf("%s: user = %s, want IAM authentication, id = name, no password", id, js(u.Properties))
		}
	}
	// The shared cache's group holds only its default user: stages' users
	// join it through the custom resource, which every development stage has.
	if shared := only(t, "Shop-Account", "AWS::ElastiCache::UserGroup").Properties; len(shared["UserIds"].([]any)) != 1 {
		t.Errorf("the shared group lists %s; its members come and go through the custom resource", js(shared["UserIds"]))
	}
	m := only(t, "Shop-dev-test-Network", "Custom::CacheUserGroupMembership").Properties
	if m["UserGroupId"] != DevCacheName || !strings.Contains(js(m["UserId"]), "DevCacheUser") ||
		js(m["ServiceToken"]) != `{"Fn::ImportValue":"`+DevCacheUsersServiceToken+`"}` {
		t.Errorf("membership = %s", js(m))
	}
}

// refSuffix is the hash CDK appends to the logical id of the only resource of typ.
func refSuffix(t *testing.T, stack, typ string) string {
	for id := range ofType(stack, typ) {
		return id[len(id)-8:]
	}
	t.Fatalf("%s: no %s", stack, typ)
	return ""
}

// The cache admits its ports only from the cart functions' security group,
// and those functions may reach only the cache and HTTPS (the endpoints).
func TestCacheSecurityGroups(t *testing.T) {
	stack := "Shop-prod-Network"
	var cacheSG, clientSG map[string]any
	for id, sg := range ofType(stack, "AWS::EC2::SecurityGroup") {
		switch {
		case strings.HasPrefix(id, "CartCacheCacheSecurityGroup"):
			cacheSG = sg.Properties
		case strings.HasPrefix(id, "CartCacheClientSecurityGroup"):
			clientSG = sg.Properties
		}
	}
	if cacheSG == nil || clientSG == nil {
		t.Fatal("cache and client security groups not found")
	}
	if cacheSG["SecurityGroupIngress"] != nil || !strings.Contains(js(cacheSG["SecurityGroupEgress"]), "255.255.255.255/32") {
		t.Errorf("cache security group: ingress %s egress %s, want no inline ingress and no egress", js(cacheSG["SecurityGroupIngress"]), js(cacheSG["SecurityGroupEgress"]))
	}
	if eg := js(clientSG["SecurityGroupEgress"]); eg != `[{"CidrIp":"0.0.0.0/0","Description":"DynamoDB and S3 through the gateway endpoints","FromPort":443,"IpProtocol":"tcp","ToPort":443}]` {
		t.Errorf("client egress = %s", eg)
	}
	in := only(t, stack, "AWS::EC2::SecurityGroupIngress").Properties
	if in["FromPort"] != 6379.0 || in["ToPort"] != 6380.0 || !strings.Contains(js(in["SourceSecurityGroupId"]), "ClientSecurityGroup") || !strings.Contains(js(in["GroupId"]), "CacheSecurityGroup") {
		t.Errorf("cache ingress = %s", js(in))
	}
	out := only(t, stack, "AWS::EC2::SecurityGroupEgress").Properties
	if out["FromPort"] != 6379.0 || out["ToPort"] != 6380.0 || !strings.Contains(js(out["DestinationSecurityGroupId"]), "CacheSecurityGroup") {
		t.Errorf("client egress to the cache = %s", js(out))
	}
}

// The cache users' ACLs are the contract's, which the local redis-server
// tests run under: in prod one user per function, each with its function's
// keys (contract.CacheAccess); a development stage's one user, with its
// stage's keys (contract.StageCacheAccess), on the account's shared cache.
func TestCacheAccessStrings(t *testing.T) {
	users := map[string]string{}
	for _, u := range ofType("Shop-prod-Network", "AWS::ElastiCache::User") {
		users[fmt.Sprint(u.Properties["UserId"])] = fmt.Sprint(u.Properties["AccessString"])
	}
	for _, fn := range contract.Functions() {
		if contract.UsesCache(fn) && users["shop-prod-"+string(fn)] != contract.CacheAccess(fn, "prod") {
			t.Errorf("prod's %s user: %q, want %q", fn, users["shop-prod-"+string(fn)], contract.CacheAccess(fn, "prod"))
		}
	}
	dev := only(t, "Shop-dev-test-Network", "AWS::ElastiCache::User").Properties
	if dev["AccessString"] != contract.StageCacheAccess("dev-test") || dev["UserId"] != "shop-dev-test-cart" {
		t.Errorf("dev-test's user = %s", js(dev))
	}
}
