package lambda

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The platform's own log lines, in the function's log format: Lambda's
// text lines (START, END, REPORT RequestId ...) or, for LogFormat JSON,
// its platform.* records.

func platformRecord(typ string, at time.Time, record map[string]any) string {
	data, _ := json.Marshal(map[string]any{"time": at.UTC().Format("2006-01-02T15:04:05.000Z"), "type": typ, "record": record})
	return string(data)
}

func startLine(format, id, version string, at time.Time) string {
	if format == "JSON" {
		return platformRecord("platform.start", at, map[string]any{"requestId": id, "version": version})
	}
	return "START RequestId: " + id + " Version: " + version
}

func endLine(format, id string, at time.Time) string {
	if format == "JSON" {
		return platformRecord("platform.runtimeDone", at, map[string]any{"requestId": id})
	}
	return "END RequestId: " + id
}

type reportFields struct {
	id           string
	ms           float64 // duration
	billed       int     // ms
	memory, used int     // MB
	initMS       float64
	cold         bool
	// status is "" for success, "timeout", or "error\tError Type: <type>".
	status string
}

func reportLine(format string, r reportFields, at time.Time) string {
	if format == "JSON" {
		metrics := map[string]any{"durationMs": r.ms, "billedDurationMs": r.billed, "memorySizeMB": r.memory, "maxMemoryUsedMB": r.used}
		if r.cold {
			metrics["initDurationMs"] = r.initMS
		}
		status, errType, _ := strings.Cut(r.status, "\tError Type: ")
		if status == "" {
			status = "success"
		}
		rec := map[string]any{"requestId": r.id, "metrics": metrics, "status": status}
		if errType != "" {
			rec["errorType"] = errType
		}
		return platformRecord("platform.report", at, rec)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t", r.id, r.ms, r.billed, r.memory, r.used)
	if r.cold {
		fmt.Fprintf(&b, "Init Duration: %.2f ms\t", r.initMS)
	}
	if r.status != "" {
		fmt.Fprintf(&b, "Status: %s\t", r.status)
	}
	return b.String()
}
