package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table definitions below are for DynamoDB Local (tests and `make local`).
// In AWS the CDK app defines the tables; its assertion tests check the same keys
// and index names.

// CreateProductsTable creates the Products table with its category index,
// unless it exists.
func CreateProductsTable(ctx context.Context, db *dynamodb.Client, name string) error {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	return createTable(ctx, db, &dynamodb.CreateTableInput{
		TableName:            &name,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{s("product_id"), s("category")},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("product_id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(CategoryIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("category"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("product_id"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
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
