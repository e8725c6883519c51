package constructs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CategoryIndex must match dynamo.CategoryIndex in the lambdas module.
const CategoryIndex = "by-category"

// ProductsTableProps configure the catalogue table.
type ProductsTableProps struct {
	Prod bool
}

// ProductsTable is the catalogue: partition key product_id, on demand, point-in-time
// recovery, encrypted with the AWS managed key, and a category index for listing
// a category without a scan.
type ProductsTable interface {
	constructs.Construct
	Table() awsdynamodb.Table
}

type productsTable struct {
	constructs.Construct
	table awsdynamodb.Table
}

// NewProductsTable defines the table.
func NewProductsTable(scope constructs.Construct, id string, props ProductsTableProps) ProductsTable {
	this := constructs.NewConstruct(scope, &id)
	table := awsdynamodb.NewTable(this, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String("product_id"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(props.Prod),
		RemovalPolicy:      StatefulRemoval(props.Prod),
	})
	table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(CategoryIndex),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String("category"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String("product_id"), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	return &productsTable{Construct: this, table: table}
}

func (p *productsTable) Table() awsdynamodb.Table { return p.table }

// StatefulRemoval keeps data in prod and cleans up development stages.
func StatefulRemoval(prod bool) awscdk.RemovalPolicy {
	if prod {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}
