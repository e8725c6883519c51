package components

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// consumerDescription synthesizes a producer stack with one table keyed by
// key and a consumer stack whose function is told the table's name, and
// returns the function's description as the consumer's template has it.
func consumerDescription(t *testing.T, key string) string {
	t.Helper()
	dir := t.TempDir()
	dist := filepath.Join(dir, "dist")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dist, "catalog"), 0o755))
	must(os.WriteFile(filepath.Join(dist, "catalog", "bootstrap"), []byte("fake"), 0o755))
	ctx := map[string]any{"@aws-cdk/core:defaultCrossStackReferences": "weak"}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "out")), Context: &ctx})
	producer := awscdk.NewStack(app, jsii.String("Producer"), nil)
	table := awsdynamodb.NewTable(producer, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(key), Type: awsdynamodb.AttributeType_STRING},
	})
	consumer := awscdk.NewStack(app, jsii.String("Consumer"), nil)
	NewGoFunction(consumer, "Catalog", GoFunctionProps{
		Name: contract.Catalog, DistDir: dist, Description: "Reads the table", MemoryMB: 128, TimeoutSeconds: 3, LogRetentionDays: 1,
		Environment: map[string]string{contract.EnvProductsTable: *table.TableName()},
		Inputs:      []constructs.IConstruct{table},
	})
	app.Synth(nil)
	raw, err := os.ReadFile(filepath.Join(dir, "out", "Consumer.template.json"))
	must(err)
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	must(json.Unmarshal(raw, &tpl))
	for _, r := range tpl.Resources {
		if r.Type == "AWS::Lambda::Function" {
			d, _ := r.Properties["Description"].(string)
			if !strings.Contains(string(raw), "Fn::GetStackOutput") {
				t.Fatal("the consumer does not read the table's name through Fn::GetStackOutput")
			}
			return d
		}
	}
	t.Fatal("no function in the consumer")
	return ""
}

// Replacing the producer (a new partition key: CloudFormation replaces the
// table, and its output keeps its name) changes the consumer's template, so
// the next deploy updates the function and it reads the new table's name.
// Synthesizing the same source twice changes nothing.
func TestReplacedProducerChangesTheConsumer(t *testing.T) {
	first, again, replaced := consumerDescription(t, "id"), consumerDescription(t, "id"), consumerDescription(t, "sku")
	if !strings.HasPrefix(first, "Reads the table (inputs ") {
		t.Fatalf("description %q carries no fingerprint", first)
	}
	if first != again {
		t.Errorf("the same source gave %q, then %q", first, again)
	}
	if first == replaced {
		t.Errorf("a replaced table left the consumer as it was: %q", first)
	}
}
