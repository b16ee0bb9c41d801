package lookup

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeClients records which profile and region each client was built for and
// serves canned answers.
type fakeClients struct {
	built []string // "service/profile/region"
	err   error

	params map[string]string // "region/name" -> value

	ciphertexts map[string]string // ciphertext -> plaintext
	kmsErr      error

	images     []ec2types.Image
	pages      int // split images over this many pages
	ec2Inputs  []*ec2.DescribeImagesInput
	ec2Err     error
	items      map[string]map[string]ddbtypes.AttributeValue // table -> item (any key)
	ddbInputs  []*dynamodb.GetItemInput
	ddbErrCode string
}

func (f *fakeClients) note(svc, profile, region string) error {
	f.built = append(f.built, svc+"/"+profile+"/"+region)
	return f.err
}

type ssmFunc func(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)

func (f ssmFunc) GetParameter(ctx context.Context, in *ssm.GetParameterInput, o ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return f(ctx, in, o...)
}

type kmsFunc func(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)

func (f kmsFunc) Decrypt(ctx context.Context, in *kms.DecryptInput, o ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return f(ctx, in, o...)
}

type ec2Func func(context.Context, *ec2.DescribeImagesInput, ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)

func (f ec2Func) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, o ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	return f(ctx, in, o...)
}

type ddbFunc func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)

func (f ddbFunc) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return f(ctx, in, o...)
}

func (f *fakeClients) SSM(_ context.Context, profile, region string) (SSMAPI, error) {
	if err := f.note("ssm", profile, region); err != nil {
		return nil, err
	}
	return ssmFunc(func(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
		if !aws.ToBool(in.WithDecryption) {
			return nil, errors.New("fake: WithDecryption not set")
		}
		v, ok := f.params[region+"/"+aws.ToString(in.Name)]
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "ParameterNotFound", Message: "not found"}
		}
		return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
	}), nil
}

func (f *fakeClients) KMS(_ context.Context, profile, region string) (KMSAPI, error) {
	if err := f.note("kms", profile, region); err != nil {
		return nil, err
	}
	return kmsFunc(func(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
		if f.kmsErr != nil {
			return nil, f.kmsErr
		}
		p, ok := f.ciphertexts[string(in.CiphertextBlob)]
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "InvalidCiphertextException"}
		}
		return &kms.DecryptOutput{Plaintext: []byte(p)}, nil
	}), nil
}

func (f *fakeClients) EC2(_ context.Context, profile, region string) (EC2API, error) {
	if err := f.note("ec2", profile, region); err != nil {
		return nil, err
	}
	return ec2Func(func(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
		f.ec2Inputs = append(f.ec2Inputs, in)
		if f.ec2Err != nil {
			return nil, f.ec2Err
		}
		if f.pages < 2 {
			return &ec2.DescribeImagesOutput{Images: f.images}, nil
		}
		// Page by index carried in the token.
		page := 0
		if in.NextToken != nil {
			page = int((*in.NextToken)[0] - '0')
		}
		per := (len(f.images) + f.pages - 1) / f.pages
		lo, hi := page*per, min((page+1)*per, len(f.images))
		out := &ec2.DescribeImagesOutput{Images: f.images[lo:hi]}
		if page+1 < f.pages {
			out.NextToken = aws.String(string(rune('0' + page + 1)))
		}
		return out, nil
	}), nil
}

func (f *fakeClients) DynamoDB(_ context.Context, profile, region string) (DynamoDBAPI, error) {
	if err := f.note("dynamodb", profile, region); err != nil {
		return nil, err
	}
	return ddbFunc(func(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
		f.ddbInputs = append(f.ddbInputs, in)
		if f.ddbErrCode != "" {
			return nil, &smithy.GenericAPIError{Code: f.ddbErrCode, Message: "boom"}
		}
		item, ok := f.items[aws.ToString(in.TableName)]
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException"}
		}
		return &dynamodb.GetItemOutput{Item: item}, nil
	}), nil
}

var stackCall = LookupCall{Stack: "app", Profile: "prod", Region: "eu-central-1"}

func callWith(s string) LookupCall { c := stackCall; c.Input = s; return c }

func TestSSMStoreHandler(t *testing.T) {
	f := &fakeClients{params: map[string]string{
		"us-east-1/db-password":    "hunter2",
		"eu-west-1/db-password":    "irish",
		"eu-west-1//app/secret":    "from-file",
		"us-east-1/name@with@ats":  "x",
		"us-east-1/not-used-other": "y",
	}}
	h := SSMStoreHandler{Clients: f, Files: testFiles}
	runHandlerCases(t, []handlerCase{
		{name: "default region us-east-1", h: h, call: callWith("db-password"), want: "hunter2"},
		{name: "explicit region", h: h, call: callWith("eu-west-1@db-password"), want: "irish"},
		{name: "from file", h: h, call: callWith("file://ssm.txt"), want: "from-file"},
		{name: "missing", h: h, call: callWith("eu-west-1@nope"), wantErr: `SSMKey "nope" does not exist in region eu-west-1`},
	})
	want := []string{"ssm/prod/us-east-1", "ssm/prod/eu-west-1", "ssm/prod/eu-west-1", "ssm/prod/eu-west-1"}
	if diff := cmp.Diff(want, f.built); diff != "" {
		t.Errorf("clients built (-want +got):\n%s", diff)
	}
	runHandlerCases(t, []handlerCase{
		{name: "client error", h: SSMStoreHandler{Clients: &fakeClients{err: errors.New("no creds")}}, call: callWith("x"),
			wantErr: "build ssm client: no creds"},
		{name: "no clients", h: SSMStoreHandler{}, call: callWith("x"), wantErr: "no AWS clients configured"},
	})
}

func TestKMSHandler(t *testing.T) {
	// "Y2lwaGVy" is base64 of "cipher".
	f := &fakeClients{ciphertexts: map[string]string{"cipher": "PASSWORD", "binary": "\xff\xfe"}}
	h := KMSHandler{Clients: f, Files: testFiles}
	runHandlerCases(t, []handlerCase{
		{name: "stack region by default", h: h, call: callWith("Y2lwaGVy"), want: "PASSWORD"},
		{name: "explicit region", h: h, call: callWith("us-west-1@Y2lwaGVy"), want: "PASSWORD"},
		{name: "from file", h: h, call: callWith("file://kms.txt"), want: "PASSWORD"},
		{name: "line-wrapped base64", h: h, call: callWith("Y2lw\naGVy"), want: "PASSWORD"},
		{name: "bad base64", h: h, call: callWith("not base64!"), wantErr: "decode base64 ciphertext"},
		{name: "not utf-8", h: h, call: callWith("YmluYXJ5"), wantErr: "not UTF-8"},
		{name: "kms refuses", h: h, call: callWith("b3RoZXI="), wantErr: "decrypt: api error InvalidCiphertextException"},
	})
	want := []string{"kms/prod/eu-central-1", "kms/prod/us-west-1", "kms/prod/eu-west-1", "kms/prod/eu-central-1",
		"kms/prod/eu-central-1", "kms/prod/eu-central-1"}
	if diff := cmp.Diff(want, f.built); diff != "" {
		t.Errorf("clients built (-want +got):\n%s", diff)
	}
}

func image(id, name, created string) ec2types.Image {
	return ec2types.Image{ImageId: aws.String(id), Name: aws.String(name), CreationDate: aws.String(created)}
}

func TestAMIHandler(t *testing.T) {
	images := []ec2types.Image{
		image("ami-old", "app-1", "2024-01-01T00:00:00.000Z"),
		image("ami-newest-other", "other-9", "2024-09-01T00:00:00.000Z"),
		image("ami-new", "app-2", "2024-06-01T00:00:00.000Z"),
		image("ami-suffix", "app-3-rc", "2024-08-01T00:00:00.000Z"),
		{ImageId: aws.String("ami-noname"), CreationDate: aws.String("2025-01-01T00:00:00.000Z")},
	}
	f := &fakeClients{images: images}
	h := AMIHandler{Clients: f, Files: testFiles}
	runHandlerCases(t, []handlerCase{
		{name: "newest full match", h: h, call: callWith("owners:self,amazon name_regex:app-[0-9]+ architecture:x86_64"), want: "ami-new"},
		{name: "regex is anchored at both ends", h: h, call: callWith("owners:self name_regex:app-3"), wantErr: "Unable to find ec2 image with search string: owners:self name_regex:app-3"},
		{name: "region given", h: h, call: callWith("us-west-2@owners:self name_regex:app-.*"), want: "ami-suffix"},
		{name: "from file", h: h, call: callWith("file://ami.txt"), want: "ami-new"},
		{name: "owners required", h: h, call: callWith("name_regex:app"), wantErr: "'owners' value required when using ami"},
		{name: "name_regex required", h: h, call: callWith("owners:self"), wantErr: "'name_regex' value required when using ami"},
		{name: "bad regex", h: h, call: callWith("owners:self name_regex:app-(["), wantErr: "compile name_regex"},
	})
	want := []string{"ec2/prod/eu-central-1", "ec2/prod/eu-central-1", "ec2/prod/us-west-2", "ec2/prod/eu-central-1"}
	if diff := cmp.Diff(want, f.built); diff != "" {
		t.Errorf("clients built (-want +got):\n%s", diff)
	}

	t.Run("describe arguments", func(t *testing.T) {
		f := &fakeClients{images: images}
		_, err := AMIHandler{Clients: f}.Resolve(context.Background(),
			callWith("owners:self,123456789012 name_regex:app-[0-9]+ executable_users:self architecture:x86_64,arm64 state:available architecture:i386"))
		if err != nil {
			t.Fatal(err)
		}
		want := &ec2.DescribeImagesInput{
			Owners:          []string{"self", "123456789012"},
			ExecutableUsers: []string{"self"},
			Filters: []ec2types.Filter{
				{Name: aws.String("architecture"), Values: []string{"i386"}},
				{Name: aws.String("state"), Values: []string{"available"}},
			},
		}
		if diff := cmp.Diff(want, f.ec2Inputs[0], cmpopts.IgnoreUnexported(ec2.DescribeImagesInput{}, ec2types.Filter{})); diff != "" {
			t.Errorf("DescribeImages input (-want +got):\n%s", diff)
		}
	})

	t.Run("pages", func(t *testing.T) {
		f := &fakeClients{images: images, pages: 3}
		got, err := AMIHandler{Clients: f}.Resolve(context.Background(), callWith("owners:self name_regex:app-[0-9]+"))
		if err != nil || got != "ami-new" {
			t.Fatalf("got %v, %v; want ami-new", got, err)
		}
		if len(f.ec2Inputs) != 3 {
			t.Errorf("DescribeImages called %d times, want 3", len(f.ec2Inputs))
		}
	})

	t.Run("api error", func(t *testing.T) {
		f := &fakeClients{ec2Err: &smithy.GenericAPIError{Code: "UnauthorizedOperation"}}
		_, err := AMIHandler{Clients: f}.Resolve(context.Background(), callWith("owners:self name_regex:x"))
		if err == nil || !errors.As(err, new(smithy.APIError)) {
			t.Fatalf("err = %v, want the API error wrapped", err)
		}
	})
}

func TestDynamoDBHandler(t *testing.T) {
	item := map[string]ddbtypes.AttributeValue{
		"Val":   &ddbtypes.AttributeValueMemberS{Value: "hello"},
		"Count": &ddbtypes.AttributeValueMemberN{Value: "42"},
		"Frac":  &ddbtypes.AttributeValueMemberN{Value: "4.2"},
		"List": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{
			&ddbtypes.AttributeValueMemberS{Value: "a"}, &ddbtypes.AttributeValueMemberN{Value: "1"},
		}},
		"TestMap": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"String1": &ddbtypes.AttributeValueMemberS{Value: "inner"},
			"Deep": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
				"N": &ddbtypes.AttributeValueMemberN{Value: "7"},
			}},
		}},
	}
	f := &fakeClients{items: map[string]map[string]ddbtypes.AttributeValue{"tbl": item, "empty": nil}}
	h := DynamoDBHandler{Clients: f, Files: testFiles}
	runHandlerCases(t, []handlerCase{
		{name: "string", h: h, call: callWith("tbl@id:k1.Val"), want: "hello"},
		{name: "number", h: h, call: callWith("tbl@id:k1.Count[N]"), want: 42},
		{name: "list", h: h, call: callWith("tbl@id:k1.List[L]"), want: []any{"a", "1"}},
		{name: "map path", h: h, call: callWith("us-west-2:tbl@id:k1.TestMap[M].String1"), want: "inner"},
		{name: "deep map path", h: h, call: callWith("tbl@id:k1.TestMap[M].Deep[M].N[N]"), want: 7},
		{name: "whole map", h: h, call: callWith("tbl@id:k1.TestMap[M]"),
			want: map[string]any{"String1": "inner", "Deep": map[string]any{"N": "7"}}},
		{name: "from file", h: h, call: callWith("file://dynamo.txt"), want: "hello"},
		{name: "no table", h: h, call: callWith("tbl"), wantErr: "Please make sure to include a tablename"},
		{name: "empty table name", h: h, call: callWith("us-east-1:@id:k1.Val"), wantErr: "Please make sure to include a dynamodb table name"},
		{name: "no key", h: h, call: callWith("tbl@id"), wantErr: "include a partition key and value"},
		{name: "no attribute", h: h, call: callWith("tbl@id:k1"), wantErr: "name an attribute"},
		{name: "unsupported type", h: h, call: callWith("tbl@id:k1.Val[B]"), wantErr: "Stacker does not support looking up the datatype: B"},
		{name: "not a number", h: h, call: callWith("tbl@id:k1.Val[N]"), wantErr: "Val is not a number (N)"},
		{name: "not an integer", h: h, call: callWith("tbl@id:k1.Frac[N]"), wantErr: "4.2 is not an integer"},
		{name: "string expected", h: h, call: callWith("tbl@id:k1.Count"), wantErr: "Count is not a string (S)"},
		{name: "missing attribute", h: h, call: callWith("tbl@id:k1.Nope"), wantErr: "attribute Nope not found"},
		{name: "path through a non-map", h: h, call: callWith("tbl@id:k1.Val.X"), wantErr: "Val is not a map (M)"},
		{name: "record missing", h: h, call: callWith("empty@id:k1.Val"),
			wantErr: "The dynamodb record could not be found using the following key: {'S': 'k1'}"},
		{name: "table missing", h: h, call: callWith("nope@id:k1.Val"), wantErr: "Cannot find the dynamodb table: nope"},
		{name: "map as key type", h: h, call: callWith("tbl@id:k1[M].Val"), wantErr: "partition key value cannot have type M"},
	})

	t.Run("request", func(t *testing.T) {
		f := &fakeClients{items: map[string]map[string]ddbtypes.AttributeValue{"tbl": item}}
		_, err := DynamoDBHandler{Clients: f}.Resolve(context.Background(), callWith("us-west-2:tbl@id:5[N].TestMap[M].String1"))
		if err != nil {
			t.Fatal(err)
		}
		want := &dynamodb.GetItemInput{
			TableName:            aws.String("tbl"),
			Key:                  map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberN{Value: "5"}},
			ProjectionExpression: aws.String("5,TestMap,String1"), // stacker's projection, key value included
		}
		if diff := cmp.Diff(want, f.ddbInputs[0], cmpopts.IgnoreUnexported(dynamodb.GetItemInput{},
			ddbtypes.AttributeValueMemberN{})); diff != "" {
			t.Errorf("GetItem input (-want +got):\n%s", diff)
		}
		if f.built[0] != "dynamodb/prod/us-west-2" {
			t.Errorf("client built for %s", f.built[0])
		}
	})

	errTests := []struct{ code, want string }{
		{"ValidationException", "No dynamodb record matched the partition key: id"},
		{"ThrottlingException", "The dynamodb lookup tbl@id:k1.Val had an error: api error ThrottlingException: boom"},
	}
	for _, tt := range errTests {
		t.Run(tt.code, func(t *testing.T) {
			runHandlerCases(t, []handlerCase{{name: "call", h: DynamoDBHandler{Clients: &fakeClients{ddbErrCode: tt.code}},
				call: callWith("tbl@id:k1.Val"), wantErr: tt.want}})
		})
	}
}
