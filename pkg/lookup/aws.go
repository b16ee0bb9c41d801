package lookup

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

// SSMAPI is the part of the SSM client the ssmstore lookup uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// KMSAPI is the part of the KMS client the kms lookup uses.
type KMSAPI interface {
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// EC2API is the part of the EC2 client the ami lookup uses.
type EC2API interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

// DynamoDBAPI is the part of the DynamoDB client the dynamodb lookup uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Clients builds AWS clients for a profile ("" = default credentials) and
// region. The engine implements it with one cached aws.Config per pair.
type Clients interface {
	SSM(ctx context.Context, profile, region string) (SSMAPI, error)
	KMS(ctx context.Context, profile, region string) (KMSAPI, error)
	EC2(ctx context.Context, profile, region string) (EC2API, error)
	DynamoDB(ctx context.Context, profile, region string) (DynamoDBAPI, error)
}

var errNoClients = errors.New("no AWS clients configured")

// apiErrorCode returns the AWS error code of err, or "".
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// SSMStoreHandler serves "${ssmstore [region@]name}" (or a file:// path
// holding that): a parameter, decrypted. The region defaults to us-east-1, as
// in stacker, not to the stack's region.
type SSMStoreHandler struct {
	Clients Clients
	Files   FileReader
}

// Resolve implements Handler.
func (h SSMStoreHandler) Resolve(ctx context.Context, in LookupCall) (any, error) {
	value, err := readValue(h.Files, in.Input, true)
	if err != nil {
		return nil, err
	}
	region := "us-east-1"
	if r, name, ok := strings.Cut(value, "@"); ok {
		region, value = r, name
	}
	if h.Clients == nil {
		return nil, errNoClients
	}
	client, err := h.Clients.SSM(ctx, in.Profile, region)
	if err != nil {
		return nil, fmt.Errorf("build ssm client: %w", err)
	}
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(value), WithDecryption: aws.Bool(true)})
	if apiErrorCode(err) == "ParameterNotFound" {
		return nil, fmt.Errorf("SSMKey \"%s\" does not exist in region %s", value, region)
	}
	if err != nil {
		return nil, fmt.Errorf("get parameter %s: %w", value, err)
	}
	if out.Parameter == nil {
		return nil, fmt.Errorf("SSMKey \"%s\" does not exist in region %s", value, region)
	}
	return aws.ToString(out.Parameter.Value), nil
}

// KMSHandler serves "${kms [region@]base64-ciphertext}" (or a file:// path
// holding that): the plaintext, which must be UTF-8. The region defaults to
// the consuming stack's.
type KMSHandler struct {
	Clients Clients
	Files   FileReader
}

// Resolve implements Handler.
func (h KMSHandler) Resolve(ctx context.Context, in LookupCall) (any, error) {
	value, err := readValue(h.Files, in.Input, true)
	if err != nil {
		return nil, err
	}
	region := in.Region
	if r, blob, ok := strings.Cut(value, "@"); ok {
		region, value = r, blob
	}
	// Python's base64 decoding skips line breaks and spaces.
	ciphertext, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(value), ""))
	if err != nil {
		return nil, fmt.Errorf("decode base64 ciphertext: %w", err)
	}
	if h.Clients == nil {
		return nil, errNoClients
	}
	client, err := h.Clients.KMS(ctx, in.Profile, region)
	if err != nil {
		return nil, fmt.Errorf("build kms client: %w", err)
	}
	out, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ciphertext})
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if !utf8.Valid(out.Plaintext) {
		return nil, errors.New("decrypt: plaintext is not UTF-8 text")
	}
	return string(out.Plaintext), nil
}

// ImageNotFoundError is stacker's ImageNotFound.
type ImageNotFoundError struct{ Search string }

func (e *ImageNotFoundError) Error() string {
	return "Unable to find ec2 image with search string: " + e.Search
}

// AMIHandler serves
// "${ami [region@]owners:self,amazon name_regex:app-[0-9]+ [executable_users:...] [filter:v1,v2 ...]}":
// the ID of the newest image (by CreationDate) whose whole name matches
// name_regex. Other key:value pairs become DescribeImages filters. The region
// defaults to the consuming stack's.
type AMIHandler struct {
	Clients Clients
	Files   FileReader
}

// amiArg is stacker's '([0-9a-zA-z_-]+:[^\s$]+)' (A-z included).
var amiArg = regexp.MustCompile(`[0-9a-zA-z_-]+:[^\s$]+`)

// Resolve implements Handler.
func (h AMIHandler) Resolve(ctx context.Context, in LookupCall) (any, error) {
	value, err := readValue(h.Files, in.Input, true)
	if err != nil {
		return nil, err
	}
	region := in.Region
	if r, rest, ok := strings.Cut(value, "@"); ok {
		region, value = r, rest
	}
	values := map[string]string{}
	var order []string // first appearance, as a Python dict keeps it
	for _, m := range amiArg.FindAllString(value, -1) {
		k, v, _ := strings.Cut(m, ":")
		if _, seen := values[k]; !seen {
			order = append(order, k)
		}
		values[k] = v
	}
	if values["owners"] == "" {
		return nil, errors.New("'owners' value required when using ami")
	}
	if values["name_regex"] == "" {
		return nil, errors.New("'name_regex' value required when using ami")
	}
	nameRe, err := regexp.Compile("^" + values["name_regex"] + "$")
	if err != nil {
		return nil, fmt.Errorf("compile name_regex %q: %w", values["name_regex"], err)
	}
	input := &ec2.DescribeImagesInput{Owners: strings.Split(values["owners"], ",")}
	if values["executable_users"] != "" {
		input.ExecutableUsers = strings.Split(values["executable_users"], ",")
	}
	input.Filters = []ec2types.Filter{}
	for _, k := range order {
		if k == "owners" || k == "name_regex" || k == "executable_users" {
			continue
		}
		input.Filters = append(input.Filters, ec2types.Filter{Name: aws.String(k), Values: strings.Split(values[k], ",")})
	}
	if h.Clients == nil {
		return nil, errNoClients
	}
	client, err := h.Clients.EC2(ctx, in.Profile, region)
	if err != nil {
		return nil, fmt.Errorf("build ec2 client: %w", err)
	}
	var images []ec2types.Image
	for {
		out, err := client.DescribeImages(ctx, input)
		if err != nil {
			return nil, fmt.Errorf("describe images: %w", err)
		}
		images = append(images, out.Images...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		next := *input
		next.NextToken = out.NextToken
		input = &next
	}
	sort.SliceStable(images, func(i, j int) bool {
		return aws.ToString(images[i].CreationDate) > aws.ToString(images[j].CreationDate)
	})
	for _, img := range images {
		if nameRe.MatchString(aws.ToString(img.Name)) {
			return aws.ToString(img.ImageId), nil
		}
	}
	return nil, &ImageNotFoundError{Search: value}
}

// DynamoDBHandler serves "${dynamodb [region:]table@key:value.attr.attr}": an
// attribute of the item whose partition key `key` is `value`. Path elements
// may carry a type, "attr[M]", "attr[L]", "value[N]" (default S). The result
// is a string, an int for [N], a list for [L]. The region defaults to the
// consuming stack's.
type DynamoDBHandler struct {
	Clients Clients
	Files   FileReader
}

type ddbKey struct{ typ, name string }

// String renders the key as stacker's messages do (a Python dict).
func (k ddbKey) String() string { return fmt.Sprintf("{'%s': '%s'}", k.typ, k.name) }

var ddbTypeSuffix = regexp.MustCompile(`\[([^\]]+)]`)

// Resolve implements Handler.
func (h DynamoDBHandler) Resolve(ctx context.Context, in LookupCall) (any, error) {
	value, err := readValue(h.Files, in.Input, true)
	if err != nil {
		return nil, err
	}
	tableInfo, tableKeys, ok := strings.Cut(value, "@")
	if !ok {
		return nil, errors.New("Please make sure to include a tablename")
	}
	region, table := in.Region, tableInfo
	if r, t, ok := strings.Cut(tableInfo, ":"); ok {
		region, table = r, t
	}
	if table == "" {
		return nil, errors.New("Please make sure to include a dynamodb table name")
	}
	partitionKey, path, ok := strings.Cut(tableKeys, ":")
	if !ok {
		return nil, fmt.Errorf("Please make sure to include a partition key and value: "+
			"[<region>:]<table>@<partitionkey>:<keyvalue>.<attribute>... (got %s)", value)
	}
	var keys []ddbKey
	var projection []string
	for _, k := range strings.Split(path, ".") {
		typ := "S"
		if m := ddbTypeSuffix.FindStringSubmatch(k); m != nil {
			switch m[1] {
			case "M", "S", "N", "L":
				typ = m[1]
				k = strings.ReplaceAll(k, m[0], "")
			default:
				return nil, fmt.Errorf("Stacker does not support looking up the datatype: %s", m[1])
			}
		}
		keys = append(keys, ddbKey{typ: typ, name: k})
		projection = append(projection, k)
	}
	var keyValue ddbtypes.AttributeValue
	switch keys[0].typ {
	case "S":
		keyValue = &ddbtypes.AttributeValueMemberS{Value: keys[0].name}
	case "N":
		keyValue = &ddbtypes.AttributeValueMemberN{Value: keys[0].name}
	default:
		return nil, fmt.Errorf("a dynamodb partition key value cannot have type %s", keys[0].typ)
	}
	if h.Clients == nil {
		return nil, errNoClients
	}
	client, err := h.Clients.DynamoDB(ctx, in.Profile, region)
	if err != nil {
		return nil, fmt.Errorf("build dynamodb client: %w", err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(table),
		Key:                  map[string]ddbtypes.AttributeValue{partitionKey: keyValue},
		ProjectionExpression: aws.String(strings.Join(projection, ",")),
	})
	switch apiErrorCode(err) {
	case "":
	case "ResourceNotFoundException":
		return nil, fmt.Errorf("Cannot find the dynamodb table: %s", table)
	case "ValidationException":
		return nil, fmt.Errorf("No dynamodb record matched the partition key: %s", partitionKey)
	default:
		return nil, fmt.Errorf("The dynamodb lookup %s had an error: %w", value, err)
	}
	if err != nil {
		return nil, fmt.Errorf("The dynamodb lookup %s had an error: %w", value, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("The dynamodb record could not be found using the following key: %s", keys[0])
	}
	return ddbValue(out.Item, keys[1:])
}

// ddbValue walks the attribute path as stacker's _get_val_from_ddb_data: each
// element names an attribute of the previous one, whose type is the previous
// element's type.
func ddbValue(item map[string]ddbtypes.AttributeValue, path []ddbKey) (any, error) {
	if len(path) == 0 {
		return nil, errors.New("name an attribute after the key value: <partitionkey>:<keyvalue>.<attribute>")
	}
	attrs := item
	var cur ddbtypes.AttributeValue
	for i, k := range path {
		if i > 0 {
			m, ok := cur.(*ddbtypes.AttributeValueMemberM)
			if !ok {
				return nil, fmt.Errorf("dynamodb attribute %s is not a map (M)", path[i-1].name)
			}
			attrs = m.Value
		}
		v, ok := attrs[k.name]
		if !ok {
			return nil, fmt.Errorf("dynamodb attribute %s not found in the record", k.name)
		}
		cur = v
	}
	last := path[len(path)-1]
	switch last.typ {
	case "L":
		l, ok := cur.(*ddbtypes.AttributeValueMemberL)
		if !ok {
			return nil, fmt.Errorf("dynamodb attribute %s is not a list (L)", last.name)
		}
		out := make([]any, len(l.Value))
		for i, item := range l.Value {
			out[i] = plainDDB(item)
		}
		return out, nil
	case "N":
		n, ok := cur.(*ddbtypes.AttributeValueMemberN)
		if !ok {
			return nil, fmt.Errorf("dynamodb attribute %s is not a number (N)", last.name)
		}
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			return nil, fmt.Errorf("dynamodb attribute %s: %s is not an integer", last.name, n.Value)
		}
		return i, nil
	case "M":
		m, ok := cur.(*ddbtypes.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("dynamodb attribute %s is not a map (M)", last.name)
		}
		return plainDDB(m), nil
	default:
		s, ok := cur.(*ddbtypes.AttributeValueMemberS)
		if !ok {
			return nil, fmt.Errorf("dynamodb attribute %s is not a string (S); give its type, e.g. %s[N]", last.name, last.name)
		}
		return s.Value, nil
	}
}

// plainDDB drops DynamoDB's type wrappers; numbers stay strings, as in the
// lists stacker returns.
func plainDDB(v ddbtypes.AttributeValue) any {
	switch x := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return x.Value
	case *ddbtypes.AttributeValueMemberN:
		return x.Value
	case *ddbtypes.AttributeValueMemberB:
		return x.Value
	case *ddbtypes.AttributeValueMemberBOOL:
		return x.Value
	case *ddbtypes.AttributeValueMemberNULL:
		return nil
	case *ddbtypes.AttributeValueMemberSS:
		return x.Value
	case *ddbtypes.AttributeValueMemberNS:
		return x.Value
	case *ddbtypes.AttributeValueMemberBS:
		return x.Value
	case *ddbtypes.AttributeValueMemberL:
		out := make([]any, len(x.Value))
		for i, item := range x.Value {
			out[i] = plainDDB(item)
		}
		return out
	case *ddbtypes.AttributeValueMemberM:
		out := make(map[string]any, len(x.Value))
		for k, item := range x.Value {
			out[k] = plainDDB(item)
		}
		return out
	}
	return nil
}
