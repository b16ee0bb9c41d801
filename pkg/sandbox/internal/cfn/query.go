package cfn

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// checkListIndexes refuses a Query list member whose index is not a positive
// integer (Parameters.member.-1.ParameterKey, Tags.member.0.Key), as AWS's
// Query protocol does before any action runs, rather than dropping it.
func checkListIndexes(f awsapi.Form) error {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		for rest := key; ; {
			_, after, found := strings.Cut(rest, ".member.")
			if !found {
				break
			}
			idx, tail, _ := strings.Cut(after, ".")
			if n, err := strconv.Atoi(idx); err != nil || n < 1 {
				return awsapi.Errorf(http.StatusBadRequest, "MalformedInput", "%s is not a valid index", idx)
			}
			rest = tail
		}
	}
	return nil
}
