package sandbox_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox"
)

func ExampleStart() {
	ctx := context.Background()
	opts := sandbox.DefaultOptions()
	opts.Listen = "127.0.0.1:0" // a free port
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sb.Close()

	// Each account's root keys select the account.
	id, err := sts.NewFromConfig(sb.AWSConfig("prod")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aws.ToString(id.Account))
	// Output: 222222222222
}
