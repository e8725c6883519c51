// Command floor is the cold path's floor: an empty aws-lambda-go handler,
// built like the functions, that `make bench` starts beside them under the
// Runtime Interface Emulator. What a function costs over it is the shop's.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "ok", nil })
}
