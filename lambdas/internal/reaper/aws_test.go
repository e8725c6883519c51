package reaper

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// canned answers AWS Query protocol requests with the body of the first
// answer whose key the request's form contains, and records every request.
type canned struct {
	mu       sync.Mutex
	answers  []answer
	requests []url.Values
}

type answer struct {
	match string // e.g. "Action=DescribeStacks&NextToken="
	body  string
}

func (c *canned) Do(r *http.Request) (*http.Response, error) {
	raw, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(raw))
	c.mu.Lock()
	c.requests = append(c.requests, form)
	c.mu.Unlock()
	for _, a := range c.answers {
		if matches(form, a.match) {
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/xml"}},
				Body: io.NopCloser(bytes.NewBufferString(a.body)), Request: r}, nil
		}
	}
	return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"text/xml"}},
		Body: io.NopCloser(strings.NewReader(`<ErrorResponse><Error><Code>Unexpected</Code><Message>` + string(raw) + `</Message></Error></ErrorResponse>`)), Request: r}, nil
}

// matches says whether form has every key=value of want (a value of "" only
// needs the key).
func matches(form url.Values, want string) bool {
	q, _ := url.ParseQuery(want)
	for k, vs := range q {
		if !form.Has(k) || vs[0] != "" && form.Get(k) != vs[0] {
			return false
		}
	}
	return true
}

func stackXML(name, status string, tags map[string]string, protected bool) string {
	var b strings.Builder
	b.WriteString("<member><StackName>" + name + "</StackName><StackStatus>" + status + "</StackStatus>")
	b.WriteString("<CreationTime>2026-11-01T00:00:00Z</CreationTime>")
	if protected {
		b.WriteString("<EnableTerminationProtection>true</EnableTerminationProtection>")
	}
	b.WriteString("<Tags>")
	for k, v := range tags {
		b.WriteString("<member><Key>" + k + "</Key><Value>" + v + "</Value></member>")
	}
	b.WriteString("</Tags></member>")
	return b.String()
}

func describe(next string, members ...string) string {
	token := ""
	if next != "" {
		token = "<NextToken>" + next + "</NextToken>"
	}
	return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks>` +
		strings.Join(members, "") + `</Stacks>` + token + `</DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`
}

func clients(t *testing.T, c *canned) (*cloudformation.Client, *sns.Client) {
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), HTTPClient: c,
		RetryMaxAttempts: 1}
	return cloudformation.NewFromConfig(cfg), sns.NewFromConfig(cfg)
}

// The reaper reads every page of stacks, deletes the expired stage's API
// stack (first in order), tells the owner of the stage that expires within a
// day, and leaves prod and the protected stage alone: all through the real
// SDK, whose requests are checked.
func TestRunThroughTheSDK(t *testing.T) {
	tags := func(stage, expires string) map[string]string {
		m := map[string]string{TagProject: Project, TagStage: stage, TagOwner: "bob"}
		if expires != "" {
			m[TagExpiresAt] = expires
		}
		return m
	}
	c := &canned{answers: []answer{
		{"Action=DescribeStacks&NextToken=page2", describe("",
			stackXML("Shop-dev-old-Data", "CREATE_COMPLETE", tags("dev-old", "2026-11-27T00:00:00Z"), false),
			stackXML("Shop-prod-Data", "UPDATE_COMPLETE", tags("prod", "2026-01-01T00:00:00Z"), true),
			stackXML("Shop-dev-soon-Api", "UPDATE_COMPLETE", tags("dev-soon", "2026-11-29T11:30:00Z"), false))},
		{"Action=DescribeStacks", describe("page2",
			stackXML("Shop-dev-old-Api", "UPDATE_COMPLETE", tags("dev-old", "2026-11-27T00:00:00Z"), false),
			stackXML("Unrelated", "CREATE_COMPLETE", map[string]string{"team": "x"}, false))},
		{"Action=DeleteStack", `<DeleteStackResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteStackResponse>`},
		{"Action=Publish", `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`},
	}}
	cfn, pub := clients(t, c)
	r := Reaper{CFN: cfn, SNS: pub, Topic: "arn:aws:sns:eu-west-1:123456789012:reaper",
		Config: Config{Delete: true, NoticeBefore: 24 * time.Hour, Every: time.Hour}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	plan, err := r.Run(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range plan {
		kinds = append(kinds, string(a.Kind)+" "+a.Stage+" "+a.Stack)
	}
	if got := strings.Join(kinds, "; "); got != "delete dev-old Shop-dev-old-Api; notify dev-soon ; skip prod " {
		t.Errorf("plan: %s", got)
	}
	var describes, deletes, publishes []url.Values
	for _, q := range c.requests {
		switch q.Get("Action") {
		case "DescribeStacks":
			describes = append(describes, q)
		case "DeleteStack":
			deletes = append(deletes, q)
		case "Publish":
			publishes = append(publishes, q)
		}
	}
	if len(describes) != 2 || describes[0].Get("NextToken") != "" || describes[1].Get("NextToken") != "page2" {
		t.Errorf("describe requests: %v", describes)
	}
	if len(deletes) != 1 || deletes[0].Get("StackName") != "Shop-dev-old-Api" || deletes[0].Get("Version") != "2010-05-15" {
		t.Errorf("delete requests: %v", deletes)
	}
	if len(publishes) != 1 {
		t.Fatalf("publish requests: %v", publishes)
	}
	p := publishes[0]
	if p.Get("TopicArn") != r.Topic || !strings.Contains(p.Get("Subject"), "dev-soon") || !strings.Contains(p.Get("Message"), "make deploy STAGE=dev-soon") {
		t.Errorf("publish: %v", p)
	}
	attrs := map[string]string{}
	for i := 1; i <= 3; i++ {
		n := p.Get("MessageAttributes.entry." + string(rune('0'+i)) + ".Name")
		attrs[n] = p.Get("MessageAttributes.entry." + string(rune('0'+i)) + ".Value.StringValue")
	}
	if attrs["owner"] != "bob" || attrs["stage"] != "dev-soon" || attrs["kind"] != "notify" {
		t.Errorf("message attributes: %v (form %v)", attrs, p)
	}
}
