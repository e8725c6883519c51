package components

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// InputsFingerprint is a short hash of the CloudFormation definitions (logical
// ids and resolved properties) of every resource under the given constructs,
// evaluated when the templates are written.
//
// A function reads its producers' names and endpoints across stacks through
// Fn::GetStackOutput, which CloudFormation resolves only when the function
// itself is updated. Replacing a producer (a table whose key changes, a cache
// whose name changes, a new secret) leaves the output's name as it was, so
// the function's template would not change and it would keep the old values.
// With this fingerprint in the function's description, any change to a
// producer's definition changes the function too, and the next deploy hands
// it the new values.
func InputsFingerprint(inputs ...constructs.IConstruct) *string {
	return awscdk.Lazy_String(&fingerprint{inputs: inputs}, nil)
}

var jsiiRef = regexp.MustCompile(`\{"\$jsii\.byref":"[^"]*"\}`)

type fingerprint struct{ inputs []constructs.IConstruct }

func (f *fingerprint) Produce() *string {
	var defs []any
	for _, in := range f.inputs {
		for _, c := range *in.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			res, ok := c.(awscdk.CfnResource)
			if !ok {
				continue
			}
			stack := awscdk.Stack_Of(res)
			defs = append(defs, []any{
				*stack.StackName(), stack.Resolve(stack.GetLogicalId(res)), *res.CfnResourceType(),
				stack.Resolve(res.CfnProperties()),
			})
		}
	}
	raw, err := json.Marshal(defs)
	if err != nil {
		panic(err)
	}
	// A few L2 properties (a distribution's origins and behaviours) reach Go
	// as references to objects of the CDK's, numbered in creation order: they
	// would make the hash depend on unrelated constructs, so they count as
	// one placeholder (a change there that replaces the resource changes its
	// logical id or another property anyway).
	raw = jsiiRef.ReplaceAll(raw, []byte(`"<object>"`))
	sum := sha256.Sum256(raw)
	return jsii.String(hex.EncodeToString(sum[:6]))
}
