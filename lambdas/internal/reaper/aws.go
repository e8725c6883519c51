package reaper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// CloudFormation is what the reaper calls of CloudFormation.
type CloudFormation interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
}

// Publisher is what the reaper calls of SNS.
type Publisher interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var (
	_ CloudFormation = (*cloudformation.Client)(nil)
	_ Publisher      = (*sns.Client)(nil)
)

// Stacks lists every stack of the account and region that exists (deleted
// stacks are not listed), following the pages.
func Stacks(ctx context.Context, cfn CloudFormation) ([]Stack, error) {
	var out []Stack
	p := cloudformation.NewDescribeStacksPaginator(cfn, &cloudformation.DescribeStacksInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe stacks: %w", err)
		}
		for _, s := range page.Stacks {
			st := Stack{Name: aws.ToString(s.StackName), Status: string(s.StackStatus), StatusReason: aws.ToString(s.StackStatusReason),
				TerminationProtection: aws.ToBool(s.EnableTerminationProtection), Tags: map[string]string{}}
			st.Updated = aws.ToTime(s.CreationTime)
			if s.LastUpdatedTime != nil {
				st.Updated = *s.LastUpdatedTime
			}
			for _, t := range s.Tags {
				st.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// New is the reaper function's builder: the account's stages through
// CloudFormation, notices and reports to topic, deleting only when del. It
// lives here rather than in wire, whose builders every function links: the
// CloudFormation and SNS clients belong in the reaper's binary alone.
func New(awsCfg aws.Config, topic string, del bool, log *slog.Logger) Reaper {
	cfg := DefaultConfig
	cfg.Delete = del
	return Reaper{CFN: cloudformation.NewFromConfig(awsCfg), SNS: sns.NewFromConfig(awsCfg), Topic: topic, Config: cfg, Log: log}
}

// Reaper carries out the plan: notices and reports to the topic, deletes
// through CloudFormation.
type Reaper struct {
	CFN    CloudFormation
	SNS    Publisher
	Topic  string
	Config Config
	Log    *slog.Logger
}

// Run plans against the account's stacks at now and carries the plan out.
// Every action is logged; a failure of one does not stop the others.
func (r Reaper) Run(ctx context.Context, now time.Time) ([]Action, error) {
	stacks, err := Stacks(ctx, r.CFN)
	if err != nil {
		return nil, err
	}
	plan := Plan(stacks, now, r.Config)
	var errs []error
	for _, a := range plan {
		r.Log.InfoContext(ctx, "reaper", "action", string(a.Kind), "stage", a.Stage, "owner", a.Owner, "stack", a.Stack, "reason", a.Reason)
		switch a.Kind {
		case Delete:
			if _, err := r.CFN.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(a.Stack)}); err != nil {
				errs = append(errs, fmt.Errorf("delete %s: %w", a.Stack, err))
			}
		case WouldDelete, Notify, Stuck:
			if a.Kind == WouldDelete && !now.Before(a.ExpiresAt.Add(r.Config.Every)) {
				continue // reported in the first run after expiry; the log keeps saying it
			}
			if err := r.publish(ctx, a); err != nil {
				errs = append(errs, fmt.Errorf("tell %s of %s: %w", a.Owner, a.Stage, err))
			}
		}
	}
	return plan, errors.Join(errs...)
}

func (r Reaper) publish(ctx context.Context, a Action) error {
	subject, body := message(a)
	_, err := r.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(r.Topic), Subject: aws.String(subject), Message: aws.String(body),
		// Subscribers filter on these: an owner's email subscription takes its own stages.
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"owner": {DataType: aws.String("String"), StringValue: aws.String(orUnknown(a.Owner))},
			"stage": {DataType: aws.String("String"), StringValue: aws.String(a.Stage)},
			"kind":  {DataType: aws.String("String"), StringValue: aws.String(string(a.Kind))},
		},
	})
	return err
}

func message(a Action) (subject, body string) {
	switch a.Kind {
	case Notify:
		return "Shop stage " + a.Stage + " expires in less than a day",
			fmt.Sprintf("The development stage %s (owner %s) expires at %s and will then be deleted. Run make deploy STAGE=%s to keep it another term.",
				a.Stage, orUnknown(a.Owner), a.ExpiresAt.Format(time.RFC3339), a.Stage)
	case Stuck:
		return "Shop stage " + a.Stage + ": delete of " + a.Stack + " failed",
			fmt.Sprintf("Deleting %s failed (%s); the reaper retries every run. Network interfaces of deleted VPC functions can hold security groups and subnets for up to about 20 minutes.", a.Stack, a.Reason)
	default:
		return "Shop stage " + a.Stage + " expired (report only)",
			fmt.Sprintf("The development stage %s (owner %s) expired at %s. The reaper is in report-only mode; it would now delete %s.",
				a.Stage, orUnknown(a.Owner), a.ExpiresAt.Format(time.RFC3339), a.Stack)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
