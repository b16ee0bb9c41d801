package cfn

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// XML shapes of the responses, named as the SDK's deserializers read them.

type members[T any] struct {
	Member []T `xml:"member"`
}

func list[T any](v []T) *members[T] {
	if v == nil {
		v = []T{}
	}
	return &members[T]{Member: v}
}

type xParameter struct {
	ParameterKey   string
	ParameterValue string
	ResolvedValue  string `xml:",omitempty"`
}

type xOutput struct {
	OutputKey   string
	OutputValue string
	Description string `xml:",omitempty"`
	ExportName  string `xml:",omitempty"`
}

type xTag struct {
	Key, Value string
}

type xStack struct {
	StackId                     string
	StackName                   string
	ChangeSetId                 string `xml:",omitempty"`
	Description                 string `xml:",omitempty"`
	Parameters                  *members[xParameter]
	CreationTime                string
	LastUpdatedTime             string `xml:",omitempty"`
	DeletionTime                string `xml:",omitempty"`
	StackStatus                 string
	StackStatusReason           string `xml:",omitempty"`
	DisableRollback             bool
	NotificationARNs            *members[string]
	TimeoutInMinutes            int `xml:",omitempty"`
	Capabilities                *members[string]
	Outputs                     *members[xOutput]
	RoleARN                     string `xml:",omitempty"`
	Tags                        *members[xTag]
	EnableTerminationProtection bool
	DriftInformation            struct {
		StackDriftStatus string
	}
}

type xStackSummary struct {
	StackId             string
	StackName           string
	TemplateDescription string `xml:",omitempty"`
	CreationTime        string
	LastUpdatedTime     string `xml:",omitempty"`
	DeletionTime        string `xml:",omitempty"`
	StackStatus         string
	StackStatusReason   string `xml:",omitempty"`
	DriftInformation    struct {
		StackDriftStatus string
	}
}

type xEvent struct {
	StackId              string
	EventId              string
	StackName            string
	LogicalResourceId    string
	PhysicalResourceId   string
	ResourceType         string
	Timestamp            string
	ResourceStatus       string
	ResourceStatusReason string `xml:",omitempty"`
	ResourceProperties   string `xml:",omitempty"`
	ClientRequestToken   string `xml:",omitempty"`
}

type xStackResource struct {
	StackName            string
	StackId              string
	LogicalResourceId    string
	PhysicalResourceId   string `xml:",omitempty"`
	ResourceType         string
	Timestamp            string `xml:",omitempty"`
	LastUpdatedTimestamp string `xml:",omitempty"`
	ResourceStatus       string
	ResourceStatusReason string `xml:",omitempty"`
	DriftInformation     struct {
		StackResourceDriftStatus string
	}
}

type xResourceChange struct {
	Action             string
	LogicalResourceId  string
	PhysicalResourceId string `xml:",omitempty"`
	ResourceType       string
	Replacement        string `xml:",omitempty"`
	Scope              *members[string]
	Details            *members[xDetail]
}

type xDetail struct {
	Target struct {
		Attribute          string
		Name               string `xml:",omitempty"`
		RequiresRecreation string `xml:",omitempty"`
	}
	Evaluation    string
	ChangeSource  string
	CausingEntity string `xml:",omitempty"`
}

type xChange struct {
	Type           string
	ResourceChange xResourceChange
}

type xChangeSetSummary struct {
	StackId         string
	StackName       string
	ChangeSetId     string
	ChangeSetName   string
	ExecutionStatus string
	Status          string
	StatusReason    string `xml:",omitempty"`
	CreationTime    string
	Description     string `xml:",omitempty"`
}

type xExport struct {
	ExportingStackId string
	Name             string
	Value            string
}

type xParamDecl struct {
	ParameterKey         string
	DefaultValue         string `xml:",omitempty"`
	ParameterType        string `xml:",omitempty"`
	NoEcho               bool
	Description          string `xml:",omitempty"`
	ParameterConstraints *struct {
		AllowedValues *members[string]
	} `xml:",omitempty"`
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// Pagination: NextToken is an opaque offset.

func pageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

func pageOffset(f awsapi.Form) (int, error) {
	tok := f.Get("NextToken")
	if tok == "" {
		return 0, nil
	}
	data, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(data) < 3 || string(data[:2]) != "o:" {
		return 0, awsapi.ValidationError("Invalid NextToken")
	}
	n, err := strconv.Atoi(string(data[2:]))
	if err != nil || n < 0 {
		return 0, awsapi.ValidationError("Invalid NextToken")
	}
	return n, nil
}

// page cuts items to one page starting at the request's NextToken.
func page[T any](s *Service, f awsapi.Form, items []T) ([]T, string, error) {
	off, err := pageOffset(f)
	if err != nil {
		return nil, "", err
	}
	if off > len(items) {
		off = len(items)
	}
	size := s.pageSize
	if n, err := strconv.Atoi(f.Get("MaxResults")); err == nil && n > 0 && n < size {
		size = n
	}
	end := off + size
	next := ""
	if end < len(items) {
		next = pageToken(end)
	} else {
		end = len(items)
	}
	return items[off:end], next, nil
}
