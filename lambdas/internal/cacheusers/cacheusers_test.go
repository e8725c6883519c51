package cacheusers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
)

// script answers ElastiCache's query API in memory, in order per action,
// and records the calls: the real SDK serializes and parses every one.
type script struct {
	answers map[string][]string // action -> bodies ("!Code" answers that error)
	calls   []string
}

func (s *script) Do(r *http.Request) (*http.Response, error) {
	raw, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(raw))
	action := form.Get("Action")
	call := action
	if v := form.Get("UserIdsToAdd.member.1"); v != "" {
		call += " +" + v
	}
	if v := form.Get("UserIdsToRemove.member.1"); v != "" {
		call += " -" + v
	}
	s.calls = append(s.calls, call)
	queue := s.answers[action]
	if len(queue) == 0 {
		return nil, fmt.Errorf("no answer left for %s", action)
	}
	body, status := queue[0], 200
	s.answers[action] = queue[1:]
	if code, ok := strings.CutPrefix(body, "!"); ok {
		body, status = `<ErrorResponse><Error><Type>Sender</Type><Code>`+code+`</Code><Message>refused</Message></Error><RequestId>r</RequestId></ErrorResponse>`, 400
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"text/xml"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func group(status string, users ...string) string {
	var m strings.Builder
	for _, u := range users {
		fmt.Fprintf(&m, "<member>%s</member>", u)
	}
	return `<DescribeUserGroupsResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><DescribeUserGroupsResult><UserGroups><member>` +
		`<UserGroupId>shop-dev</UserGroupId><Status>` + status + `</Status><UserIds>` + m.String() + `</UserIds></member></UserGroups>` +
		`</DescribeUserGroupsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeUserGroupsResponse>`
}

const modified = `<ModifyUserGroupResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><ModifyUserGroupResult><UserGroupId>shop-dev</UserGroupId><Status>modifying</Status></ModifyUserGroupResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ModifyUserGroupResponse>`

func groups(s *script, waits *int) Groups {
	client := elasticache.NewFromConfig(aws.Config{Region: "eu-west-1", HTTPClient: s, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	return Groups{API: client, Sleep: func(ctx context.Context, d time.Duration) error {
		*waits++
		if *waits > 5 {
			return errors.New("out of time")
		}
		return ctx.Err()
	}}
}

func TestMembership(t *testing.T) {
	tests := []struct {
		name    string
		add     bool
		answers map[string][]string
		calls   string
		waits   int
		fails   bool
	}{
		{"join: modify, then wait until the group is active with the user", true,
			map[string][]string{"DescribeUserGroups": {group("active", "off"), group("modifying", "off"), group("active", "off", "u1")}, "ModifyUserGroup": {modified}},
			"DescribeUserGroups; ModifyUserGroup +u1; DescribeUserGroups; DescribeUserGroups", 2, false},
		{"join again: a member already, nothing changes", true,
			map[string][]string{"DescribeUserGroups": {group("active", "off", "u1")}},
			"DescribeUserGroups", 0, false},
		{"another stage's change first: wait, then join", true,
			map[string][]string{"DescribeUserGroups": {group("active", "off"), group("modifying", "off", "u2"), group("active", "off", "u2"), group("active", "off", "u1", "u2")},
				"ModifyUserGroup": {"!InvalidUserGroupState", modified}},
			"DescribeUserGroups; ModifyUserGroup +u1; DescribeUserGroups; DescribeUserGroups; ModifyUserGroup +u1; DescribeUserGroups", 3, false},
		{"leave", false,
			map[string][]string{"DescribeUserGroups": {group("active", "off", "u1"), group("active", "off")}, "ModifyUserGroup": {modified}},
			"DescribeUserGroups; ModifyUserGroup -u1; DescribeUserGroups", 1, false},
		{"leave a group that is gone: done", false,
			map[string][]string{"DescribeUserGroups": {"!UserGroupNotFound"}},
			"DescribeUserGroups", 0, false},
		{"leave twice: done", false,
			map[string][]string{"DescribeUserGroups": {group("active", "off")}},
			"DescribeUserGroups", 0, false},
		{"a group that stays busy: give up, bounded", true,
			map[string][]string{"DescribeUserGroups": {group("modifying"), group("modifying"), group("modifying"), group("modifying"), group("modifying"), group("modifying")}},
			"DescribeUserGroups; DescribeUserGroups; DescribeUserGroups; DescribeUserGroups; DescribeUserGroups; DescribeUserGroups", 6, true},
		// Issue 38: what a membership meets when many stages change the
		// group at once.
		{"a second stage refused while the group is modifying, then joining", true,
			map[string][]string{"DescribeUserGroups": {group("active", "off", "u2"), group("modifying", "off", "u2", "u3"), group("active", "off", "u2", "u3"), group("active", "off", "u1", "u2", "u3")},
				"ModifyUserGroup": {"!InvalidUserGroupState", modified}},
			"DescribeUserGroups; ModifyUserGroup +u1; DescribeUserGroups; DescribeUserGroups; ModifyUserGroup +u1; DescribeUserGroups", 3, false},
		{"the group full: UserGroupQuotaExceeded, an error at once", true,
			map[string][]string{"DescribeUserGroups": {group("active", "off")}, "ModifyUserGroup": {"!UserGroupQuotaExceeded"}},
			"DescribeUserGroups; ModifyUserGroup +u1", 0, true},
		{"a delete during a pending add: waits, then leaves", false,
			map[string][]string{"DescribeUserGroups": {group("modifying", "off", "u1"), group("modifying", "off", "u1"), group("active", "off", "u1"), group("active", "off")},
				"ModifyUserGroup": {modified}},
			"DescribeUserGroups; DescribeUserGroups; DescribeUserGroups; ModifyUserGroup -u1; DescribeUserGroups", 3, false},
		{"DescribeUserGroups throttled: waits and asks again", true,
			map[string][]string{"DescribeUserGroups": {"!Throttling", "!Throttling", group("active", "off", "u1")}},
			"DescribeUserGroups; DescribeUserGroups; DescribeUserGroups", 2, false},
		{"ModifyUserGroup throttled: waits and tries again", true,
			map[string][]string{"DescribeUserGroups": {group("active", "off"), group("active", "off"), group("active", "off", "u1")}, "ModifyUserGroup": {"!Throttling", modified}},
			"DescribeUserGroups; ModifyUserGroup +u1; DescribeUserGroups; ModifyUserGroup +u1; DescribeUserGroups", 2, false},
		{"refused for another reason: an error at once", true,
			map[string][]string{"DescribeUserGroups": {group("active", "off")}, "ModifyUserGroup": {"!UserNotFound"}},
			"DescribeUserGroups; ModifyUserGroup +u1", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, waits := &script{answers: tt.answers}, 0
			g := groups(s, &waits)
			var err error
			if tt.add {
				err = g.Add(context.Background(), "shop-dev", "u1")
			} else {
				err = g.Remove(context.Background(), "shop-dev", "u1")
			}
			if (err != nil) != tt.fails {
				t.Fatalf("error %v", err)
			}
			if got := strings.Join(s.calls, "; "); got != tt.calls || waits != tt.waits {
				t.Errorf("calls %s (%d waits)\nwant  %s (%d waits)", got, waits, tt.calls, tt.waits)
			}
		})
	}
}

// A group that stays modifying for 10 minutes (other stages' changes one
// after another) is waited out within the function's 15 minutes: the
// membership has minutes, not the 18 seconds the API's cap left it (issue
// 38). The clock is the test's; each wait is the real backoff's length.
func TestAGroupModifyingForTenMinutesIsWaitedOut(t *testing.T) {
	var elapsed time.Duration
	const busyFor, budget = 10 * time.Minute, 15*time.Minute - 10*time.Second
	s := &minutes{elapsed: &elapsed, busyFor: busyFor}
	client := elasticache.NewFromConfig(aws.Config{Region: "eu-west-1", HTTPClient: s, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	g := Groups{API: client, Sleep: func(ctx context.Context, d time.Duration) error {
		elapsed += d
		if elapsed > budget {
			return errors.New("the invocation's time ran out")
		}
		return nil
	}}
	if err := g.Add(context.Background(), "shop-dev", "u1"); err != nil {
		t.Fatalf("after %v: %v", elapsed, err)
	}
	if elapsed < busyFor || !s.added {
		t.Errorf("joined after %v (added %v): the group was modifying for %v", elapsed, s.added, busyFor)
	}
}

// minutes answers DescribeUserGroups "modifying" until busyFor has passed
// on the test's clock, then "active" (with u1 once it was added).
type minutes struct {
	elapsed *time.Duration
	busyFor time.Duration
	added   bool
}

func (m *minutes) Do(r *http.Request) (*http.Response, error) {
	raw, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(raw))
	body := ""
	switch form.Get("Action") {
	case "DescribeUserGroups":
		switch {
		case *m.elapsed < m.busyFor:
			body = group("modifying", "off", "u9")
		case m.added:
			body = group("active", "off", "u1", "u9")
		default:
			body = group("active", "off", "u9")
		}
	case "ModifyUserGroup":
		m.added, body = true, modified
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/xml"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}
