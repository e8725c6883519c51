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
	files, _ := filepath.Glob(filepath.Join(dir, "Shop-"+stage+"-*.template.json"))
	if len(files) == 0 {
		return fmt.Errorf("no templates of stage %s in %s: run make synth STAGE=%s", stage, dir, stage)
	}
	stacks := map[string]cost.Template{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var t cost.Template
		if err := json.Unmarshal(b, &t); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		stacks[strings.TrimSuffix(filepath.Base(f), ".template.json")] = t
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
	return nil
}
