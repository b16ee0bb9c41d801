package sandbox_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// vpcTemplate is a stacker_blueprints-style VPC of exactly 20 resources, with
// Refs and GetAtts between them and a few outputs: the shape of a typical
// stack in the configs stackerless deploys.
const vpcTemplate = `{
  "Parameters": {"CidrBlock": {"Type": "String", "Default": "10.0.0.0/16"}},
  "Resources": {
    "VPC": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Ref": "CidrBlock"}}},
    "IGW": {"Type": "AWS::EC2::InternetGateway"},
    "Attach": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {"VpcId": {"Ref": "VPC"}, "InternetGatewayId": {"Ref": "IGW"}}},
    "PublicA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}, "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "us-east-1a"}},
    "PublicB": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1b"}},
    "PrivateA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}, "CidrBlock": "10.0.2.0/24", "AvailabilityZone": "us-east-1a"}},
    "PrivateB": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}, "CidrBlock": "10.0.3.0/24", "AvailabilityZone": "us-east-1b"}},
    "PublicRT": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "VPC"}}},
    "PublicRoute": {"Type": "AWS::EC2::Route", "DependsOn": "Attach", "Properties": {"RouteTableId": {"Ref": "PublicRT"}, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": {"Ref": "IGW"}}},
    "PublicAssocA": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {"SubnetId": {"Ref": "PublicA"}, "RouteTableId": {"Ref": "PublicRT"}}},
    "PublicAssocB": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {"SubnetId": {"Ref": "PublicB"}, "RouteTableId": {"Ref": "PublicRT"}}},
    "EIPA": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
    "EIPB": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
    "NatA": {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "PublicA"}, "AllocationId": {"Fn::GetAtt": ["EIPA", "AllocationId"]}}},
    "NatB": {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "PublicB"}, "AllocationId": {"Fn::GetAtt": ["EIPB", "AllocationId"]}}},
    "PrivateRTA": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "VPC"}}},
    "PrivateRTB": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "VPC"}}},
    "PrivateRouteA": {"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": {"Ref": "PrivateRTA"}, "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": {"Ref": "NatA"}}},
    "PrivateRouteB": {"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": {"Ref": "PrivateRTB"}, "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": {"Ref": "NatB"}}},
    "DefaultSG": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "default", "VpcId": {"Ref": "VPC"}}}
  },
  "Outputs": {
    "VpcId": {"Value": {"Ref": "VPC"}},
    "CidrBlock": {"Value": {"Fn::GetAtt": ["VPC", "CidrBlock"]}},
    "PublicSubnets": {"Value": {"Fn::Join": [",", [{"Ref": "PublicA"}, {"Ref": "PublicB"}]]}},
    "PrivateSubnets": {"Value": {"Fn::Join": [",", [{"Ref": "PrivateA"}, {"Ref": "PrivateB"}]]}},
    "SecurityGroup": {"Value": {"Ref": "DefaultSG"}}
  }
}`

// vpcResources is the number of resources in vpcTemplate.
const vpcResources = 20

// createStacks creates n vpcTemplate stacks named prefix-0.. with workers
// concurrent clients and waits until every one is CREATE_COMPLETE.
func createStacks(ctx context.Context, b *testing.B, sb *sandbox.Sandbox, prefix string, n, workers int) []string {
	b.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		client := cloudformation.NewFromConfig(sb.AWSConfig("master"))
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := client.CreateStack(ctx, &cloudformation.CreateStackInput{
					StackName: aws.String(names[i]), TemplateBody: aws.String(vpcTemplate),
				}); err != nil {
					errs <- fmt.Errorf("create stack %s: %w", names[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	waitAllComplete(ctx, b, cloudformation.NewFromConfig(sb.AWSConfig("master")), n)
	return names
}

// waitAllComplete polls ListStacks until n stacks are CREATE_COMPLETE.
func waitAllComplete(ctx context.Context, b *testing.B, client *cloudformation.Client, n int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		complete := 0
		p := cloudformation.NewListStacksPaginator(client, &cloudformation.ListStacksInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				b.Fatalf("list stacks: %v", err)
			}
			for _, s := range page.StackSummaries {
				switch s.StackStatus {
				case types.StackStatusCreateComplete:
					complete++
				case types.StackStatusCreateInProgress:
				default:
					b.Fatalf("stack %s: %s %s", aws.ToString(s.StackName), s.StackStatus, aws.ToString(s.StackStatusReason))
				}
			}
		}
		if complete == n {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("%d of %d stacks complete: %v", complete, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// BenchmarkDescribeStacks measures DescribeStacks of one stack by name from
// 8 concurrent SDK clients (each with its own connection pool) while 20
// stacks exist; req/s is the throughput the sandbox sustains.
func BenchmarkDescribeStacks(b *testing.B) {
	const clients, stacks = 8, 20
	sb := sandboxtest.Start(b, func(o *sandbox.Options) { o.StackDuration = 10 * time.Millisecond })
	ctx := b.Context()
	names := createStacks(ctx, b, sb, "bench", stacks, 4)

	// RunParallel starts parallelism*GOMAXPROCS goroutines.
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	var id atomic.Int64
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := cloudformation.NewFromConfig(sb.AWSConfig("master"))
		i := int(id.Add(1))
		for pb.Next() {
			name := names[i%len(names)]
			i++
			out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
			if err != nil {
				b.Errorf("describe stack %s: %v", name, err)
				return
			}
			if len(out.Stacks) != 1 || len(out.Stacks[0].Outputs) != 5 {
				b.Errorf("describe stack %s: got %d stacks", name, len(out.Stacks))
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkStackMemory measures the heap held by 1,000 stacks of 20 resources
// each, created through the CloudFormation API and complete (templates,
// parameters, resources, events and outputs all retained, as DescribeStacks,
// GetTemplate and DescribeStackEvents need them). Run it with -benchtime=1x:
// each iteration starts a fresh sandbox.
func BenchmarkStackMemory(b *testing.B) {
	const stacks = 1000
	var heldMiB, inUseMiB, perStackKiB float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		sb := sandboxtest.Start(b, func(o *sandbox.Options) { o.StackDuration = time.Millisecond })
		before := heapStats()
		b.StartTimer()
		createStacks(b.Context(), b, sb, fmt.Sprintf("mem%d", i), stacks, 8)
		b.StopTimer()
		after := heapStats()
		held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		runtime.KeepAlive(sb)
		if err := sb.Close(); err != nil {
			b.Fatal(err)
		}
		heldMiB = float64(held) / (1 << 20)
		inUseMiB = float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / (1 << 20)
		perStackKiB = float64(held) / 1024 / stacks
		b.StartTimer()
	}
	b.ReportMetric(heldMiB, "MiB")
	b.ReportMetric(inUseMiB, "MiB-inuse")
	b.ReportMetric(perStackKiB, "KiB/stack")
	b.ReportMetric(float64(stacks*vpcResources), "resources")
}

// heapStats reads the heap after full collections, so HeapAlloc counts only
// reachable objects and HeapInuse the spans holding them (with their
// fragmentation).
func heapStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
