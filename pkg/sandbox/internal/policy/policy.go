// Package policy parses and evaluates IAM policy documents (identity policies,
// resource policies such as bucket policies, and role trust policies) the way
// AWS does, for the local sandbox's authorizer.
package policy

// Decision is the outcome of evaluating policies for one request.
type Decision int

const (
	// ImplicitDeny means no statement allowed the request.
	ImplicitDeny Decision = iota
	// Allow means a statement allowed the request and none denied it.
	Allow
	// ExplicitDeny means a Deny statement matched the request.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	default:
		return "ImplicitDeny"
	}
}
