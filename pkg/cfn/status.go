// Package cfn is a thin wrapper over the CloudFormation API of aws-sdk-go-v2,
// shaped for a deployer: stacks as plain values, a status type with the
// questions a deployer asks of it, and API errors classified in one place.
package cfn

import "strings"

// StackStatus is a CloudFormation stack status such as "CREATE_COMPLETE".
type StackStatus string

// InProgress reports whether CloudFormation is still working on the stack.
// REVIEW_IN_PROGRESS is not: such a stack only holds a change set.
func (s StackStatus) InProgress() bool {
	return strings.HasSuffix(string(s), "_IN_PROGRESS") && s != "REVIEW_IN_PROGRESS"
}

// RollingBack reports whether a failed operation is being rolled back.
func (s StackStatus) RollingBack() bool {
	switch s {
	case "ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_IN_PROGRESS",
		"UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS":
		return true
	}
	return false
}

// IsFailure reports whether the last operation on the stack failed. A completed
// update rollback is a failure of the update even though the stack is usable.
func (s StackStatus) IsFailure() bool {
	switch s {
	case "CREATE_FAILED", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "DELETE_FAILED",
		"UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_FAILED",
		"IMPORT_ROLLBACK_COMPLETE", "UPDATE_FAILED":
		return true
	}
	return false
}

// Settled reports whether the stack can take a new operation (nothing in progress).
func (s StackStatus) Settled() bool { return !s.InProgress() }

// NeedsRecreate reports whether the stack never got created and can only be
// deleted and created again.
func (s StackStatus) NeedsRecreate() bool {
	switch s {
	case "CREATE_FAILED", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE":
		return true
	}
	return false
}

// Updatable reports whether UpdateStack or an UPDATE change set is accepted.
func (s StackStatus) Updatable() bool {
	switch s {
	case "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
		"IMPORT_ROLLBACK_COMPLETE":
		return true
	}
	return false
}

// Gone reports whether there is no usable stack: deleted, or only a
// REVIEW_IN_PROGRESS placeholder left by a CREATE change set.
func (s StackStatus) Gone() bool {
	return s == "" || s == "DELETE_COMPLETE" || s == "REVIEW_IN_PROGRESS"
}
