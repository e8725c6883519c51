package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// TextChange is one stored free-text field that the text rule (issue 43,
// shop.TextProblem) would now refuse, and what it becomes.
type TextChange struct {
	Table, Key, Field, Old, New string
}

// TextReport is what MigrateText found and did.
type TextReport struct {
	Scanned int
	Changes []TextChange
	// Merged are the categories that become one: the category they become,
	// and the stored spellings that become it (two or more). Their products
	// list, and trend, together afterwards.
	Merged map[string][]string
	// Applied counts the items written; 0 in a dry run. An item changed
	// by someone else since it was read is left, and found by the next run.
	Applied int
}

// MigrateText is the one-off clean-up of free text stored before the rule:
// products' names, categories (stripped, then normalized as
// catalog.NormalCategory) and descriptions, and customers' names, lose the
// characters the rule refuses. With apply false it only reports (the dry
// run); with apply it writes each changed item under the condition that the
// fields it read are unchanged, bumping a product's version, so it never
// overwrites a concurrent write and running it again finds nothing. Orders
// are records of what was bought and are left as they are. A product read
// through the product cache may show its old text for up to the cache's
// TTL: the migration is no API write and tells no cache.
func MigrateText(ctx context.Context, api API, productsTable, customersTable string, apply bool) (TextReport, error) {
	r := TextReport{Merged: map[string][]string{}}
	spellings := map[string]map[string]bool{} // normal category -> stored categories
	products := map[string]func(string) string{"name": shop.StripText, "description": shop.StripText,
		"category": func(s string) string { return catalog.NormalCategory(shop.StripText(s)) }}
	err := migrateTable(ctx, api, productsTable, "product_id", products, apply, &r, func(item map[string]types.AttributeValue) {
		if c, ok := item["category"].(*types.AttributeValueMemberS); ok {
			n := products["category"](c.Value)
			if spellings[n] == nil {
				spellings[n] = map[string]bool{}
			}
			spellings[n][c.Value] = true
		}
	})
	if err != nil {
		return r, err
	}
	if err := migrateTable(ctx, api, customersTable, "user_id", map[string]func(string) string{"name": shop.StripText}, apply, &r, nil); err != nil {
		return r, err
	}
	for n, set := range spellings {
		if len(set) > 1 {
			r.Merged[n] = slices.Sorted(maps.Keys(set))
		}
	}
	sort.Slice(r.Changes, func(i, j int) bool {
		a, b := r.Changes[i], r.Changes[j]
		return a.Table+a.Key+a.Field < b.Table+b.Key+b.Field
	})
	return r, nil
}

// migrateTable scans table (partition key key), cleaning fields.
func migrateTable(ctx context.Context, api API, table, key string, fields map[string]func(string) string, apply bool, r *TextReport,
	seen func(map[string]types.AttributeValue)) error {
	var start map[string]types.AttributeValue
	for {
		out, err := api.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			return classify("scan "+table, err)
		}
		for _, item := range out.Items {
			r.Scanned++
			if seen != nil {
				seen(item)
			}
			id, _ := item[key].(*types.AttributeValueMemberS)
			if id == nil {
				continue
			}
			changed := map[string][2]string{}
			for _, field := range slices.Sorted(maps.Keys(fields)) {
				v, ok := item[field].(*types.AttributeValueMemberS)
				if !ok {
					continue
				}
				if clean := fields[field](v.Value); clean != v.Value {
					changed[field] = [2]string{v.Value, clean}
					r.Changes = append(r.Changes, TextChange{Table: table, Key: id.Value, Field: field, Old: v.Value, New: clean})
				}
			}
			if len(changed) == 0 || !apply {
				continue
			}
			if err := cleanItem(ctx, api, table, key, id.Value, changed, item["version"] != nil); err != nil {
				return err
			}
			r.Applied++
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		start = out.LastEvaluatedKey
	}
}

// cleanItem writes the cleaned fields if they still hold what was read.
func cleanItem(ctx context.Context, api API, table, key, id string, changed map[string][2]string, versioned bool) error {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	set, cond := "SET ", ""
	i := 0
	for _, field := range slices.Sorted(maps.Keys(changed)) {
		n, o, v := fmt.Sprintf("#f%d", i), fmt.Sprintf(":o%d", i), fmt.Sprintf(":n%d", i)
		names[n], values[o], values[v] = field, str(changed[field][0]), str(changed[field][1])
		if i > 0 {
			set, cond = set+", ", cond+" AND "
		}
		set, cond = set+n+" = "+v, cond+n+" = "+o
		i++
	}
	if versioned {
		set += ", version = version + :one"
		values[":one"] = num(1)
	}
	_, err := api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: map[string]types.AttributeValue{key: str(id)},
		UpdateExpression: aws.String(set), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil // written by someone else since: the next run finds it
	}
	return classify("clean "+table+" "+id, err)
}
