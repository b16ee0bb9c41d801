package runstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// Decisions on a stack stopped for approval.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Decision is runs/<run-id>/approvals/<stack>/<principal-id>.json.
type Decision struct {
	Decision string    `json:"decision"`
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at,omitzero"`
	// By is the principal id the key names; not stored, filled in on read.
	By string `json:"-"`
}

// DecisionKey is where principalID records its decision on a run's stack.
// The state bucket's policy lets a principal write only under its own
// aws:userid, so the key, unlike anything in the object, names its writer.
func DecisionKey(runID, stack, principalID string) string {
	return ApprovalPrefix(runID, stack) + principalID + ".json"
}

// RecordDecision writes principalID's decision on a stack, once: a second
// decision by the same principal is ErrConflict.
func (st *Store) RecordDecision(ctx context.Context, runID, stack, principalID string, d Decision) error {
	if d.Decision != Approve && d.Decision != Reject {
		return fmt.Errorf("decision %q: want %q or %q", d.Decision, Approve, Reject)
	}
	if principalID == "" || strings.ContainsAny(principalID, "/") {
		return fmt.Errorf("principal id %q: want an aws:userid", principalID)
	}
	_, err := st.putJSON(ctx, DecisionKey(runID, stack, principalID), d, Create)
	return err
}

// Decisions reads the decisions recorded on a run's stack, in key order.
// An object that is not a decision is skipped: whoever could write it
// could not approve anything with it.
func (st *Store) Decisions(ctx context.Context, runID, stack string) ([]Decision, error) {
	keys, err := st.List(ctx, ApprovalPrefix(runID, stack))
	if err != nil {
		return nil, err
	}
	var out []Decision
	for _, key := range keys {
		name := path.Base(key)
		if !strings.HasSuffix(name, ".json") || path.Dir(key)+"/" != ApprovalPrefix(runID, stack) {
			continue
		}
		o, err := st.get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var d Decision
		if json.Unmarshal(o.Body, &d) != nil || (d.Decision != Approve && d.Decision != Reject) {
			continue
		}
		d.By = strings.TrimSuffix(name, ".json")
		out = append(out, d)
	}
	return out, nil
}
