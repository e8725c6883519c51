// Command cost prints what a stage costs a month, from its synthesized
// templates in cdk.out and the dated price table in infra/cost, idle and
// under a usage profile. `make cost STAGE=x` synthesizes first, then runs it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/infra/cost"
)

func main() {
	stage := flag.String("stage", "", "the stage (its stacks are Shop-<stage>-*)")
	dir := flag.String("dir", "cdk.out", "the cloud assembly")
	usageFile := flag.String("usage", "", "a JSON file of usage keys to lay over infra/cost/usage.json")
	detail := flag.Bool("detail", false, "list every priced resource")
	asJSON := flag.Bool("json", false, "print {stack: {idle, busy}} as JSON (for make review)")
	flag.Parse()
	if err := run(*stage, *dir, *usageFile, *detail, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

func run(stage, dir, usageFile string, detail, asJSON bool) error {
	if stage == "" {
		return fmt.Errorf("name the stage: -stage NAME")
	}
	var override []byte
	if usageFile != "" {
		var err error
		if override, err = os.ReadFile(usageFile); err != nil {
			return err
		}
	}
	usage, err := cost.DefaultUsage(override)
	if err != nil {
		return err
	}
	pattern := "Shop-" + stage + "-*.template.json"
	if stage == accountStage {
		pattern = accountStack + ".template.json"
	}
	stacks, err := templates(dir, pattern)
	if err != nil {
		return err
	}
	if len(stacks) == 0 {
		return fmt.Errorf("no templates of stage %s in %s: run make synth STAGE=%s", stage, dir, stage)
	}
	prices := cost.DefaultPrices()
	lines, err := cost.Estimate(stacks, prices, usage)
	if err != nil {
		return err
	}
	if asJSON {
		names, idle, busy := cost.Totals(lines)
		out := map[string]map[string]float64{}
		for _, n := range names {
			out[n] = map[string]float64{"idle": idle[n], "busy": busy[n]}
		}
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	cost.Print(os.Stdout, stage, lines, prices, usage, detail)
	if stage == accountStage {
		return nil
	}
	// The account's shared parts, priced once: what every development stage
	// of the account and region leans on (the network, the cache, the reaper).
	shared, err := templates(dir, accountStack+".template.json")
	if err != nil || len(shared) == 0 {
		return err
	}
	accountLines, err := cost.Estimate(shared, prices, usage)
	if err != nil {
		return err
	}
	_, idle, busy := cost.Totals(accountLines)
	fmt.Printf("\nshared, once per account and region (%s, make cost STAGE=account): idle %.2f, under usage %.2f\n",
		accountStack, idle[accountStack], busy[accountStack])
	return nil
}

// -stage account prices the account-level stack alone.
const (
	accountStage = config.AccountStage
	accountStack = config.AccountStackName
)

// templates reads the templates in dir whose file names match pattern, by stack name.
func templates(dir, pattern string) (map[string]cost.Template, error) {
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return nil, err
	}
	stacks := map[string]cost.Template{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var t cost.Template
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		stacks[strings.TrimSuffix(filepath.Base(f), ".template.json")] = t
	}
	return stacks, nil
}
