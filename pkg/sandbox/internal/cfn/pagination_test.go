package cfn

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// handles is a template of n WaitConditionHandles H1..Hn, optionally with an export.
func handles(n int, export string) string {
	var res []string
	for i := 1; i <= n; i++ {
		res = append(res, fmt.Sprintf(`"H%d":{"Type":"AWS::CloudFormation::WaitConditionHandle"}`, i))
	}
	out := ""
	if export != "" {
		out = `,"Outputs":{"O":{"Value":"v","Export":{"Name":"` + export + `"}}}`
	}
	return `{"Resources":{` + strings.Join(res, ",") + `}` + out + `}`
}

// TestPaginationMore walks ListStackResources, ListChangeSets, DescribeChangeSet
// and ListImports with the SDK's NextToken, two items a page.
func TestPaginationMore(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond)
	e.svc.pageSize = 2
	c := e.client(acctA)
	ctx := context.Background()
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("big"), TemplateBody: aws.String(handles(5, "pg-export"))}); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, c, "big")
	imp := `{"Resources":{"P":{"Type":"AWS::SNS::Topic","Properties":{"TopicName":{"Fn::ImportValue":"pg-export"}}}}}`
	importers := []string{"imp1", "imp2", "imp3"}
	for _, n := range importers {
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(n), TemplateBody: aws.String(imp)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range importers {
		waitSettled(t, c, n)
	}
	// Three change sets on "big", each adding four handles (H6..H9) to it.
	for i := 1; i <= 3; i++ {
		if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("big"), ChangeSetName: aws.String(fmt.Sprintf("cs%d", i)),
			TemplateBody: aws.String(handles(9, "pg-export"))}); err != nil {
			t.Fatal(err)
		}
		waitChangeSet(t, c, "big", fmt.Sprintf("cs%d", i))
	}

	t.Run("ListStackResources", func(t *testing.T) {
		var ids []string
		pages := 0
		p := cloudformation.NewListStackResourcesPaginator(c, &cloudformation.ListStackResourcesInput{StackName: aws.String("big")})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, r := range out.StackResourceSummaries {
				ids = append(ids, aws.ToString(r.LogicalResourceId))
			}
		}
		if pages != 3 || len(ids) != 5 || len(unique(ids)) != 5 {
			t.Errorf("pages %d, resources %v", pages, ids)
		}
	})
	t.Run("ListChangeSets", func(t *testing.T) {
		var names []string
		pages := 0
		p := cloudformation.NewListChangeSetsPaginator(c, &cloudformation.ListChangeSetsInput{StackName: aws.String("big")})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, s := range out.Summaries {
				names = append(names, aws.ToString(s.ChangeSetName))
			}
		}
		if pages != 2 || len(names) != 3 || len(unique(names)) != 3 {
			t.Errorf("pages %d, change sets %v", pages, names)
		}
	})
	t.Run("DescribeChangeSet", func(t *testing.T) {
		var ids []string
		pages := 0
		var token *string
		for {
			out, err := c.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String("big"), ChangeSetName: aws.String("cs2"), NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if out.Status != types.ChangeSetStatusCreateComplete || aws.ToString(out.ChangeSetName) != "cs2" {
				t.Errorf("page %d: %s %s", pages, aws.ToString(out.ChangeSetName), out.Status)
			}
			for _, ch := range out.Changes {
				ids = append(ids, aws.ToString(ch.ResourceChange.LogicalResourceId))
			}
			if token = out.NextToken; token == nil {
				break
			}
		}
		if pages != 2 || strings.Join(unique(ids), ",") != "H6,H7,H8,H9" {
			t.Errorf("pages %d, changes %v", pages, ids)
		}
	})
	t.Run("ListImports", func(t *testing.T) {
		var names []string
		pages := 0
		p := cloudformation.NewListImportsPaginator(c, &cloudformation.ListImportsInput{ExportName: aws.String("pg-export")})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			names = append(names, out.Imports...)
		}
		if pages != 2 || strings.Join(names, ",") != "imp1,imp2,imp3" {
			t.Errorf("pages %d, imports %v", pages, names)
		}
	})
}

// unique is the sorted distinct values of s.
func unique(s []string) []string {
	seen := map[string]bool{}
	for _, v := range s {
		seen[v] = true
	}
	return sortedKeys(seen)
}
