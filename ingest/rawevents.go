package ingest

import (
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// This file recognizes the raw events that security alerts are raised from —
// Microsoft 365 Defender advanced-hunting rows, Windows event log records,
// Microsoft Entra ID audit logs, Office 365 management activity, and Log
// Analytics (Microsoft Sentinel) rows in general — so that a record refused
// for not being an alert says what it is instead of "cannot tell the
// format". They are told by their PascalCase column names, which no alert
// format weft reads uses. It runs only on records already refused, so it
// costs a good record nothing.

// rawEventAdvice ends every raw-event message.
const rawEventAdvice = ", not an alert; weft ingests alerts, not the events they are raised from: " +
	"send the alerts (for Microsoft 365 Defender, Microsoft Graph /security/alerts_v2 or /security/incidents?$expand=alerts)"

// rawEvent returns why rec (one record, a JSON object) is a raw event and not
// an alert, or "" when it does not look like one.
func rawEvent(rec []byte, lim Limits) string {
	if len(rec) == 0 || rec[0] != '{' {
		return ""
	}
	ms, bad := members(rec, 0, len(rec), 1, lim)
	if bad != "" {
		return ""
	}
	has := make(map[string]string, len(ms))
	for _, m := range ms {
		v := rec[m.start:m.end]
		var s string
		switch {
		case v[0] == '"':
			if u, err := jsontext.AppendUnquote(nil, v); err == nil {
				s = string(u)
			}
		case len(v) <= 20:
			s = string(v)
		}
		has[string(m.name)] = clip(s, 64)
	}
	on := func(what string, names ...string) string {
		var seen []string
		for _, n := range names {
			if _, ok := has[n]; ok {
				seen = append(seen, n)
			}
		}
		return "this looks like " + what + " (" + strings.Join(seen, ", ") + ")" + rawEventAdvice
	}
	in := func(names ...string) bool {
		for _, n := range names {
			if _, ok := has[n]; ok {
				return true
			}
		}
		return false
	}
	switch {
	case in("Timestamp") && in("ActionType"):
		return on("a raw Microsoft 365 Defender advanced-hunting event", "Timestamp", "ActionType", "DeviceName", "AccountUpn", "ReportId")
	case in("EventID") && in("Computer", "Channel", "EventLog"):
		return on("a raw Windows event log record", "EventID", "Computer", "Channel", "EventLog", "TimeGenerated")
	case in("OperationName") && in("LoggedByService", "AADTenantId", "AADOperationType"):
		return on("a raw Microsoft Entra ID audit log record", "OperationName", "LoggedByService", "AADOperationType", "TimeGenerated")
	case in("Operation") && in("OfficeWorkload", "RecordType"):
		return on("a raw Microsoft 365 (Office) management activity record", "Operation", "OfficeWorkload", "RecordType", "TimeGenerated")
	case in("TimeGenerated") && in("Type") && has["Type"] != "SecurityAlert" && has["Type"] != "SecurityIncident":
		return "this looks like a raw Log Analytics (Microsoft Sentinel) row of table " + `"` + has["Type"] + `"` + " (TimeGenerated, Type)" + rawEventAdvice
	}
	return ""
}
