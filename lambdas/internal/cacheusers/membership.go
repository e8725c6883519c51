package cacheusers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Membership decides the custom resource's events
// (Custom::CacheUserGroupMembership) for the shared cache's user group
// Group. It trusts nothing the stage's template sends but the request
// itself: the stage is the one whose Network stack sent the event (its
// StackId, which CloudFormation writes), the user must be that stage's
// (contract.StageCacheUser) with exactly that stage's access string
// (contract.StageCacheAccess, read back from ElastiCache), and a delete
// removes only the membership this stack could have made. So a stage, or a
// preview's code, can neither join a user that reaches other stages' keys
// nor take another stage's user out of the group.
type Membership struct {
	Groups Groups
	Group  string
}

// Handle answers one event: the physical id (group/user) and an error that
// fails the stack operation.
func (m Membership) Handle(ctx context.Context, ev cfn.Event) (string, map[string]interface{}, error) {
	stage, stageErr := StageOfStack(ev.StackID)
	if ev.RequestType == cfn.RequestDelete {
		// Only what this stack could have made: its stage's user in the
		// shared group. Anything else (a failed create's id, a membership
		// that named another stage's user) is left as it is.
		if stageErr != nil || ev.PhysicalResourceID != m.Group+"/"+contract.StageCacheUser(stage) {
			return ev.PhysicalResourceID, nil, nil
		}
		return ev.PhysicalResourceID, nil, m.Groups.Remove(ctx, m.Group, contract.StageCacheUser(stage))
	}
	group, _ := ev.ResourceProperties["UserGroupId"].(string)
	user, _ := ev.ResourceProperties["UserId"].(string)
	id := group + "/" + user
	if stageErr != nil {
		return id, nil, stageErr
	}
	if group != m.Group {
		return id, nil, fmt.Errorf("user group %q is not the shared cache's (%s)", group, m.Group)
	}
	if want := contract.StageCacheUser(stage); user != want {
		return id, nil, fmt.Errorf("user %q is not stage %s's (%s)", user, stage, want)
	}
	out, err := m.Groups.API.DescribeUsers(ctx, &elasticache.DescribeUsersInput{UserId: aws.String(user)})
	if err != nil {
		return id, nil, fmt.Errorf("describe user %s: %w", user, err)
	}
	if len(out.Users) != 1 || !SameAccess(aws.ToString(out.Users[0].AccessString), contract.StageCacheAccess(stage)) {
		got := "none"
		if len(out.Users) == 1 {
			got = aws.ToString(out.Users[0].AccessString)
		}
		return id, nil, fmt.Errorf("user %s's access string %q is not stage %s's (%q)", user, got, stage, contract.StageCacheAccess(stage))
	}
	// An update whose group or user changed has a new id: CloudFormation
	// deletes the old membership after.
	return id, nil, m.Groups.Add(ctx, m.Group, user)
}

// StageOfStack is the stage whose Network stack stackID (a CloudFormation
// stack ARN, arn:...:stack/<name>/<guid>) is.
func StageOfStack(stackID string) (string, error) {
	parts := strings.Split(stackID, "/")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "arn:") || !strings.HasSuffix(parts[0], ":stack") {
		return "", fmt.Errorf("stack %q: not a stack's ARN", stackID)
	}
	name := parts[1]
	stage, ok := strings.CutPrefix(name, "Shop-")
	if ok {
		stage, ok = strings.CutSuffix(stage, "-"+contract.NetworkPart)
	}
	if !ok || contract.ValidStageName(stage) != nil || name != contract.StackName(stage, contract.NetworkPart) || slices.Contains(contract.ProtectedStages, stage) {
		return "", fmt.Errorf("stack %s is no development stage's %s stack", name, contract.NetworkPart)
	}
	return stage, nil
}

// SameAccess says whether two access strings hold the same rules, whatever
// their order or spacing: how ElastiCache writes back a user's access
// string is not settled offline (docs/stages.md).
func SameAccess(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
