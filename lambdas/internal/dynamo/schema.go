package dynamo

import (
	"github.com/go-cdk-shop/shop/lambdas/contract"

	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// The table definitions below are for DynamoDB Local (tests and `make local`).
// In AWS the CDK app defines the tables, with the same names from package
// contract.

// CreateProductsTable creates the Products table with its category index,
// unless it exists.
func CreateProductsTable(ctx context.Context, db *dynamodb.Client, name string) error {
	return createTable(ctx, db, &dynamodb.CreateTableInput{
		TableName:            &name,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{attr(contract.ProductID), attr(contract.Category)},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(contract.ProductID), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(contract.CategoryIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(contract.Category), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(contract.ProductID), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
}

// CreateOrdersTable creates the Orders table (user_id, sk) with its TTL
// attribute, unless it exists.
func CreateOrdersTable(ctx context.Context, db *dynamodb.Client, name string) error {
	if err := createTable(ctx, db, &dynamodb.CreateTableInput{
		TableName:   &name,
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{attr(contract.UserID), attr(contract.SortKey), attr(contract.PendingKey),
			{AttributeName: aws.String(contract.HoldKey), AttributeType: types.ScalarAttributeTypeN}},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(contract.UserID), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(contract.SortKey), KeyType: types.KeyTypeRange},
		},
		// Its change stream feeds the order events (in AWS the CDK app turns
		// it on; locally the stream reader of make local reads it).
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
		// Sparse: only pending orders carry its keys.
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(contract.PendingIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(contract.PendingKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(contract.HoldKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	}); err != nil {
		return err
	}
	_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: &name,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(contract.TTLAttribute), Enabled: aws.Bool(true)}})
	var apiErr smithy.APIError // ValidationException: TTL is on already
	if err != nil && !(errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException") {
		return fmt.Errorf("TTL of %s: %w", name, err)
	}
	return nil
}

// CreateCustomersTable creates the Customers table (user_id), unless it exists.
func CreateCustomersTable(ctx context.Context, db *dynamodb.Client, name string) error {
	return createTable(ctx, db, &dynamodb.CreateTableInput{
		TableName:            &name,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{attr(contract.UserID)},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(contract.UserID), KeyType: types.KeyTypeHash}},
	})
}

func attr(name string) types.AttributeDefinition {
	return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
}

func createTable(ctx context.Context, db *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	_, err := db.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", *in.TableName, err)
	}
	return nil
}
