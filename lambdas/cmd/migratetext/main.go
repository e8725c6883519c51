// Command migratetext is the one-off clean-up of free text stored before
// the text rule of issue 43 (make migrate-text): it reports, and with
// -apply writes, the products' names, categories and descriptions and the
// customers' names without the characters the rule refuses, and the
// categories that become one. Run it without -apply first; a second run
// with -apply finds nothing.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
)

func main() {
	products := flag.String("products", "", "the stage's Products table")
	customers := flag.String("customers", "", "the stage's Customers table")
	apply := flag.Bool("apply", false, "write the changes (without it: a dry run that only reports)")
	flag.Parse()
	if *products == "" || *customers == "" {
		fail(fmt.Errorf("-products and -customers name the stage's tables (the Data stack's resources: aws cloudformation describe-stack-resources --stack-name Shop-<stage>-Data)"))
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	r, err := dynamo.MigrateText(ctx, dynamo.NewClient(cfg, ""), *products, *customers, *apply)
	if err != nil {
		fail(fmt.Errorf("%w (migrate-text needs AWS credentials for the stage's account)", err))
	}
	for _, c := range r.Changes {
		fmt.Printf("%s %s %s: %q -> %q\n", c.Table, c.Key, c.Field, c.Old, c.New)
	}
	for _, n := range slices.Sorted(maps.Keys(r.Merged)) {
		fmt.Printf("categories that become %q: %q\n", n, r.Merged[n])
	}
	mode := "dry run: nothing written (-apply writes)"
	if *apply {
		mode = fmt.Sprintf("%d items written", r.Applied)
	}
	fmt.Printf("%d items scanned, %d fields to clean; %s\n", r.Scanned, len(r.Changes), mode)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "migratetext:", err)
	os.Exit(1)
}
