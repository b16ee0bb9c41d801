package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventBridge is the part of the EventBridge API the runtime uses.
type EventBridge interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventSource is the source of every event the runtime emits.
const EventSource = "stackerless"

// Detail types of the runtime's events.
const (
	EventRunStarted     = "Run Started"
	EventRunFinished    = "Run Finished"
	EventStackFailed    = "Stack Failed"
	EventApprovalNeeded = "Approval Needed"
)

// Event is one event's detail type and detail (JSON-encoded).
type Event struct {
	DetailType string
	Detail     any
}

// Emitter puts events on the deployment's bus. A nil Emitter emits nothing.
type Emitter struct {
	Client EventBridge
	// Bus is the bus name or ARN.
	Bus string
}

// Emit puts events, in batches of ten (PutEvents' limit); an entry
// EventBridge refuses is an error.
func (em *Emitter) Emit(ctx context.Context, events ...Event) error {
	if em == nil || len(events) == 0 {
		return nil
	}
	for start := 0; start < len(events); start += 10 {
		batch := events[start:min(start+10, len(events))]
		entries := make([]ebtypes.PutEventsRequestEntry, 0, len(batch))
		for _, ev := range batch {
			detail, err := json.Marshal(ev.Detail)
			if err != nil {
				return fmt.Errorf("encode %s event: %w", ev.DetailType, err)
			}
			entries = append(entries, ebtypes.PutEventsRequestEntry{
				EventBusName: aws.String(em.Bus), Source: aws.String(EventSource),
				DetailType: aws.String(ev.DetailType), Detail: aws.String(string(detail)),
			})
		}
		out, err := em.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("put events on %s: %w", em.Bus, err)
		}
		if out.FailedEntryCount > 0 {
			for _, e := range out.Entries {
				if e.ErrorCode != nil {
					return fmt.Errorf("put events on %s: %d refused, first: %s: %s", em.Bus, out.FailedEntryCount, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
				}
			}
			return fmt.Errorf("put events on %s: %d refused", em.Bus, out.FailedEntryCount)
		}
	}
	return nil
}

// RunDetail is what every event of a run says about it.
type RunDetail struct {
	RunID   string `json:"run_id"`
	Config  string `json:"config,omitempty"`
	Version string `json:"version_id,omitempty"`
	Action  string `json:"action,omitempty"`
	Stack   string `json:"stack,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Status  string `json:"status,omitempty"`
	Summary string `json:"summary,omitempty"`
	// ReportKey is where the run's report is, in the state bucket.
	ReportKey string `json:"report_key,omitempty"`
}
