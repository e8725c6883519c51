// Package cacheusers puts a development stage's cache user into the
// account's shared cache's user group, and takes it out: the custom resource
// that each development stage holds (cmd/cacheusers). An
// AWS::ElastiCache::UserGroup has one list of users, and many stages deploy
// and are destroyed at once (previews, the reaper), so membership changes
// one user at a time through ModifyUserGroup, which ElastiCache refuses while
// the group is modifying: it waits for the group, with backoff, within the
// invocation's time.
package cacheusers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/smithy-go"
)

// API is what membership calls of ElastiCache.
type API interface {
	DescribeUserGroups(context.Context, *elasticache.DescribeUserGroupsInput, ...func(*elasticache.Options)) (*elasticache.DescribeUserGroupsOutput, error)
	ModifyUserGroup(context.Context, *elasticache.ModifyUserGroupInput, ...func(*elasticache.Options)) (*elasticache.ModifyUserGroupOutput, error)
	DescribeUsers(context.Context, *elasticache.DescribeUsersInput, ...func(*elasticache.Options)) (*elasticache.DescribeUsersOutput, error)
}

var _ API = (*elasticache.Client)(nil)

// Groups changes user groups' members.
type Groups struct {
	API API
	// Sleep waits between attempts; tests replace it.
	Sleep func(context.Context, time.Duration) error
}

// backoff is the wait before attempt n (from 1): exponential from a second,
// at most 20 s, with full jitter so that stages changing the group at once
// spread out.
func backoff(n int) time.Duration {
	d := time.Second << min(n-1, 5)
	return time.Duration(rand.Int64N(int64(min(d, 20*time.Second)))) + 100*time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Add makes user a member of group, and returns once the group is active
// with it; a member already is left as it is. It gives up when ctx ends.
func (g Groups) Add(ctx context.Context, group, user string) error {
	return g.change(ctx, group, user, true)
}

// Remove takes user out of group; a user that is not in it, or a group that
// no longer exists, is done already (a delete may run twice).
func (g Groups) Remove(ctx context.Context, group, user string) error {
	return g.change(ctx, group, user, false)
}

func (g Groups) change(ctx context.Context, group, user string, add bool) error {
	wait := g.Sleep
	if wait == nil {
		wait = sleep
	}
	for n := 1; ; n++ {
		state, err := g.describe(ctx, group)
		var notFound *types.UserGroupNotFoundFault
		switch {
		case errors.As(err, &notFound) && !add:
			return nil
		case throttled(err):
			if err := wait(ctx, backoff(n)); err != nil {
				return fmt.Errorf("describe user group %s: throttled until the time ran out: %w", group, err)
			}
			continue
		case err != nil:
			return fmt.Errorf("describe user group %s: %w", group, err)
		}
		member := slices.Contains(state.UserIds, user)
		if state.Status == "active" && member == add {
			return nil // done, and the group has applied it
		}
		if state.Status == "active" {
			in := &elasticache.ModifyUserGroupInput{UserGroupId: aws.String(group)}
			if add {
				in.UserIdsToAdd = []string{user}
			} else {
				in.UserIdsToRemove = []string{user}
			}
			_, err := g.API.ModifyUserGroup(ctx, in)
			var busy *types.InvalidUserGroupStateFault
			var gone *types.UserNotFoundFault
			var full *types.UserGroupQuotaExceededFault
			switch {
			case err == nil, errors.As(err, &busy), throttled(err):
				// Applied, or another stage's change came first, or the
				// API is busy: wait for active.
			case errors.As(err, &gone) && !add:
				return nil
			case errors.As(err, &full):
				return fmt.Errorf("user group %s is full (UserGroupQuotaExceeded): make destroy the development stages no one uses (make stages lists them): %w", group, err)
			default:
				return fmt.Errorf("modify user group %s: %w", group, err)
			}
		}
		if err := wait(ctx, backoff(n)); err != nil {
			return fmt.Errorf("user group %s: still %s, %s %s not applied: %w", group, state.Status, map[bool]string{true: "adding", false: "removing"}[add], user, err)
		}
	}
}

// throttled says whether err is ElastiCache's answer to too many requests:
// worth a wait, never a failed stack.
func throttled(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded":
		return true
	}
	return false
}

type groupState struct {
	Status  string
	UserIds []string
}

func (g Groups) describe(ctx context.Context, group string) (groupState, error) {
	out, err := g.API.DescribeUserGroups(ctx, &elasticache.DescribeUserGroupsInput{UserGroupId: aws.String(group)})
	if err != nil {
		return groupState{}, err
	}
	if len(out.UserGroups) == 0 {
		return groupState{}, &types.UserGroupNotFoundFault{Message: aws.String(group)}
	}
	ug := out.UserGroups[0]
	return groupState{Status: aws.ToString(ug.Status), UserIds: ug.UserIds}, nil
}
