package orderevents

import (
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// FromLambda decodes an image of a DynamoDB stream record as Lambda
// delivers it.
func FromLambda(image map[string]events.DynamoDBAttributeValue) map[string]any {
	if image == nil {
		return nil
	}
	out := make(map[string]any, len(image))
	for k, v := range image {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(v events.DynamoDBAttributeValue) any {
	switch v.DataType() {
	case events.DataTypeString:
		return v.String()
	case events.DataTypeNumber:
		n, err := strconv.ParseInt(v.Number(), 10, 64)
		if err != nil {
			return v.Number()
		}
		return n
	case events.DataTypeBoolean:
		return v.Boolean()
	case events.DataTypeList:
		l := v.List()
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = lambdaValue(e)
		}
		return out
	case events.DataTypeMap:
		return FromLambda(v.Map())
	}
	return nil
}
