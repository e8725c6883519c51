package components

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// TableProps configure the shop's tables.
type TableProps struct {
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
func NewProductsTable(scope constructs.Construct, id string, props TableProps) ProductsTable {
	this := constructs.NewConstruct(scope, &id)
	table := newTable(this, props.Prod, contract.ProductID, "", "")
	table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(contract.CategoryIndex),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(contract.Category), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(contract.ProductID), Type: awsdynamodb.AttributeType_STRING},
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

// newTable is how every table of the shop is kept: on demand, point-in-time
// recovery, encrypted with the AWS managed key, deletion protection and RETAIN
// in prod. sortKey and ttl are optional.
func newTable(scope constructs.Construct, prod bool, partitionKey, sortKey, ttl string, stream ...awsdynamodb.StreamViewType) awsdynamodb.Table {
	props := &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(partitionKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(prod),
		RemovalPolicy:      StatefulRemoval(prod),
	}
	if sortKey != "" {
		props.SortKey = &awsdynamodb.Attribute{Name: jsii.String(sortKey), Type: awsdynamodb.AttributeType_STRING}
	}
	if ttl != "" {
		props.TimeToLiveAttribute = jsii.String(ttl)
	}
	if len(stream) > 0 {
		props.Stream = stream[0]
	}
	return awsdynamodb.NewTable(scope, jsii.String("Table"), props)
}

// OrderTables are the checkout's tables. Orders: partition key user_id, sort
// key sk ("ORDER#<ulid>", so a user's history newest first is one Query, and
// "IDEM#<key>" for idempotency keys, which expire through the TTL attribute
// expires_at). Customers: partition key user_id.
type OrderTables interface {
	constructs.Construct
	Orders() awsdynamodb.Table
	Customers() awsdynamodb.Table
}

type orderTables struct {
	constructs.Construct
	orders, customers awsdynamodb.Table
}

// NewOrderTables defines both tables.
func NewOrderTables(scope constructs.Construct, id string, props TableProps) OrderTables {
	this := constructs.NewConstruct(scope, &id)
	// Its change stream (new and old images) feeds the order events: what
	// committed, and only that, is published (cmd/events).
	orders := newTable(constructs.NewConstruct(this, jsii.String("Orders")), props.Prod, contract.UserID, contract.SortKey, contract.TTLAttribute,
		awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES)
	// Sparse: only a pending order carries the index's keys, so the expiry
	// job reads the holds that end, never the history. Keys only: the job
	// reads each order it moves, consistently, from the table.
	orders.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(contract.PendingIndex),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(contract.PendingKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(contract.HoldKey), Type: awsdynamodb.AttributeType_NUMBER},
		ProjectionType: awsdynamodb.ProjectionType_KEYS_ONLY,
	})
	return &orderTables{Construct: this,
		orders:    orders,
		customers: newTable(constructs.NewConstruct(this, jsii.String("Customers")), props.Prod, contract.UserID, "", ""),
	}
}

func (o *orderTables) Orders() awsdynamodb.Table    { return o.orders }
func (o *orderTables) Customers() awsdynamodb.Table { return o.customers }
