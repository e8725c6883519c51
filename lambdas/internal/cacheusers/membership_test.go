package cacheusers

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

func user(id, access string) string {
	return `<DescribeUsersResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><DescribeUsersResult><Users><member>` +
		`<UserId>` + id + `</UserId><UserName>` + id + `</UserName><Status>active</Status><Engine>valkey</Engine><AccessString>` + html.EscapeString(access) + `</AccessString>` +
		`</member></Users></DescribeUsersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeUsersResponse>`
}

func stackOf(name string) string {
	return "arn:aws:cloudformation:eu-west-1:123456789012:stack/" + name + "/0b3c5e60-0000-11ef-8000-0a1b2c3d4e5f"
}

// The membership trusts only the stack that sent the event: the stage is
// its Network stack's, the user that stage's with that stage's access
// string as ElastiCache reports it, and a delete removes only what that
// stack could have made. Each case runs the real SDK against scripted
// ElastiCache answers (issue 39).
func TestMembershipTrustsOnlyTheStack(t *testing.T) {
	const shared = "shop-dev"
	bob, alice := contract.StageCacheUser("dev-bob"), contract.StageCacheUser("dev-alice")
	create := func(stack, group, u string) cfn.Event {
		return cfn.Event{RequestType: cfn.RequestCreate, StackID: stackOf(stack), ResourceProperties: map[string]interface{}{"UserGroupId": group, "UserId": u}}
	}
	del := func(stack, physical string) cfn.Event {
		return cfn.Event{RequestType: cfn.RequestDelete, StackID: stackOf(stack), PhysicalResourceID: physical,
			ResourceProperties: map[string]interface{}{"UserGroupId": shared, "UserId": bob}}
	}
	reordered := strings.Join(reverse(strings.Fields(contract.StageCacheAccess("dev-bob"))), " ")
	tests := []struct {
		name    string
		ev      cfn.Event
		answers map[string][]string
		calls   string
		fails   string // in the error; empty: none
	}{
		{"its own user with its own access string: joins", create("Shop-dev-bob-Network", shared, bob),
			map[string][]string{"DescribeUsers": {user(bob, contract.StageCacheAccess("dev-bob"))}, "DescribeUserGroups": {group("active", "off"), group("active", "off", bob)}, "ModifyUserGroup": {modified}},
			"DescribeUsers; DescribeUserGroups; ModifyUserGroup +" + bob + "; DescribeUserGroups", ""},
		{"the same rules written back in another order: joins", create("Shop-dev-bob-Network", shared, bob),
			map[string][]string{"DescribeUsers": {user(bob, reordered)}, "DescribeUserGroups": {group("active", "off", bob)}},
			"DescribeUsers; DescribeUserGroups", ""},
		{"a user with ~* (every stage's keys): refused", create("Shop-dev-bob-Network", shared, bob),
			map[string][]string{"DescribeUsers": {user(bob, "on ~* &* +@all")}},
			"DescribeUsers", "access string"},
		{"another stage's access string: refused", create("Shop-dev-bob-Network", shared, bob),
			map[string][]string{"DescribeUsers": {user(bob, contract.StageCacheAccess("dev-alice"))}},
			"DescribeUsers", "access string"},
		{"another stage's user: refused before any call", create("Shop-dev-bob-Network", shared, alice), nil, "", "is not stage dev-bob's"},
		{"another group: refused", create("Shop-dev-bob-Network", "shop-prod-cart", bob), nil, "", "not the shared cache's"},
		{"from a stack that is no Network stack: refused", create("Shop-dev-bob-Zzz", shared, bob), nil, "", "no development stage's Network stack"},
		{"from prod's Network stack: refused", create("Shop-prod-Network", shared, contract.StageCacheUser("prod")), nil, "", "no development stage's"},
		{"a delete of its own membership: leaves", del("Shop-dev-bob-Network", shared+"/"+bob),
			map[string][]string{"DescribeUserGroups": {group("active", "off", bob), group("active", "off")}, "ModifyUserGroup": {modified}},
			"DescribeUserGroups; ModifyUserGroup -" + bob + "; DescribeUserGroups", ""},
		{"a delete of a membership naming another stage's user: nothing removed", del("Shop-dev-bob-Network", shared+"/"+alice), nil, "", ""},
		{"a delete from another stack naming bob's: nothing removed", del("Shop-dev-mallory-Network", shared+"/"+bob), nil, "", ""},
		{"a delete of a failed create's id: nothing removed", del("Shop-dev-bob-Network", "shop-prod-cart/"+bob), nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, waits := &script{answers: tt.answers}, 0
			if s.answers == nil {
				s.answers = map[string][]string{}
			}
			m := Membership{Groups: groups(s, &waits), Group: shared}
			_, _, err := m.Handle(context.Background(), tt.ev)
			if (err != nil) != (tt.fails != "") || (err != nil && !strings.Contains(err.Error(), tt.fails)) {
				t.Fatalf("error %v, want one with %q", err, tt.fails)
			}
			if got := strings.Join(s.calls, "; "); got != tt.calls {
				t.Errorf("calls %s\nwant  %s", got, tt.calls)
			}
		})
	}
}

func reverse(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[len(xs)-1-i] = x
	}
	return out
}

func TestStageOfStack(t *testing.T) {
	for stack, want := range map[string]string{
		stackOf("Shop-dev-bob-Network"): "dev-bob", stackOf("Shop-pr-42-Network"): "pr-42",
		stackOf("Shop-dev-bob-Api"): "", stackOf("Shop-Account"): "", stackOf("Shop-staging-Network"): "",
		stackOf("Other-dev-bob-Network"): "", "Shop-dev-bob-Network": "", stackOf("Shop-dev--bob-Network"): "",
	} {
		got, err := StageOfStack(stack)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("%s: %q, %v; want %q", stack, got, err, want)
		}
	}
}
