package reaper

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"
)

// StageRow is one stage as make stages lists it.
type StageRow struct {
	Stage, Owner, Status, Next string
	LastDeploy, ExpiresAt      time.Time
	Stacks                     int
}

// Rows sums up the shop's stages among stacks, with what the reaper would do
// now (in delete mode).
func Rows(stacks []Stack, now time.Time) []StageRow {
	byStage := map[string]*StageRow{}
	for _, s := range stacks {
		name := s.Tags[TagStage]
		if s.Tags[TagProject] != Project || name == "" {
			continue
		}
		r := byStage[name]
		if r == nil {
			r = &StageRow{Stage: name, Owner: s.Tags[TagOwner], Status: "ok"}
			byStage[name] = r
		}
		r.Stacks++
		if s.Updated.After(r.LastDeploy) {
			r.LastDeploy = s.Updated
		}
		if s.Status != "CREATE_COMPLETE" && s.Status != "UPDATE_COMPLETE" {
			r.Status = s.Name + " " + s.Status
		}
	}
	plan := map[string]Action{}
	for _, a := range Plan(stacks, now, Config{Delete: true, NoticeBefore: DefaultConfig.NoticeBefore, Every: DefaultConfig.Every}) {
		if a.Kind != Stuck {
			plan[a.Stage] = a
		}
	}
	out := make([]StageRow, 0, len(byStage))
	for name, r := range byStage {
		if exp, ok := expiresAt(filter(stacks, name)); ok {
			r.ExpiresAt = exp
		}
		switch a, ok := plan[name]; {
		case !ok && r.ExpiresAt.IsZero():
			r.Next = "-"
		case !ok:
			r.Next = "keep"
		case a.Kind == Skip:
			r.Next = "keep (" + a.Reason + ")"
		default:
			r.Next = string(a.Kind) + " " + a.Stack
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stage < out[j].Stage })
	return out
}

func filter(stacks []Stack, stage string) []Stack {
	var out []Stack
	for _, s := range stacks {
		if s.Tags[TagProject] == Project && s.Tags[TagStage] == stage {
			out = append(out, s)
		}
	}
	return out
}

// Table writes Rows as an aligned table.
func Table(w io.Writer, stacks []Stack, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tOWNER\tSTACKS\tLAST DEPLOY\tEXPIRES\tSTATUS\tREAPER")
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04")
	}
	for _, r := range Rows(stacks, now) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Stage, orUnknown(r.Owner), r.Stacks, day(r.LastDeploy), day(r.ExpiresAt), r.Status, r.Next)
	}
	return tw.Flush()
}
