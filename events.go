package weft

import (
	"context"
	"strings"
	"time"
)

// Live updates (design §10): a stream of events that say what changed in a
// tenant's incidents, for clients that keep a view up to date without
// polling.
//
// The activity log is the event log. Every change to an incident is written,
// in the transaction that makes it, as an entry of the incident's append-only
// activity log (Activity), and every entry has an id that increases in
// commit order. An event is one activity entry, with the entry's id as its
// own: resuming after event N means reading the tenant's entries with an id
// greater than N, so a client that reconnects gets every event it missed,
// once and in order, and the write path does nothing more than it already
// did.

// Event types. A client that keeps a list of incidents needs only these four;
// Event.ActivityType says in detail what happened.
const (
	// EventIncidentCreated: an incident was created (by correlation for a
	// new alert, by an import, or by an analyst moving or splitting
	// alerts).
	EventIncidentCreated = "incidentCreated"
	// EventAlertAdded: an alert joined an existing incident.
	EventAlertAdded = "alertAdded"
	// EventIncidentMerged: incidents were merged, by correlation or by an
	// analyst. Each incident involved gets an event: the one that absorbed
	// the other (ActivityIncidentMerged) and the one merged into it, now
	// redirected (ActivityIncidentRedirected).
	EventIncidentMerged = "incidentMerged"
	// EventIncidentUpdated: anything else changed an incident — status,
	// assignment, classification, tags, name, comments, its alerts'
	// state, an import, alerts moved out of or into it.
	EventIncidentUpdated = "incidentUpdated"
)

// EventTypes lists the event types, in the order of their documentation.
var EventTypes = []string{EventIncidentCreated, EventAlertAdded, EventIncidentMerged, EventIncidentUpdated}

// Limits on reading events.
const (
	// DefaultEventBatch is how many events Events returns when its limit is
	// not positive; MaxEventBatch is the most it returns at once.
	DefaultEventBatch = 500
	MaxEventBatch     = 5000
)

// Event is one change to an incident of a tenant: one entry of the
// incident's activity log. Its ID is the entry's, so events of a tenant are
// ordered by ID in the order their changes were committed, and the IDs of
// one tenant's events have gaps (the ids are shared by all tenants).
type Event struct {
	ID         int64  `json:"id,string"`
	Type       string `json:"type"` // one of EventTypes
	IncidentID int64  `json:"incidentId,string"`
	// AlertID is the alert the change was about, when there is one (the
	// alert added, the alert updated).
	AlertID string `json:"alertId,omitempty"`
	// ActivityType is the type of the activity entry (ActivityAlertAdded,
	// ActivityIncidentUpdated …), which says more than Type.
	ActivityType string    `json:"activityType"`
	Time         time.Time `json:"createdDateTime"`
	Actor        string    `json:"actor"`
	Message      string    `json:"message"`
}

// EventOf returns the event of an activity entry.
func EventOf(a *Activity) Event {
	return Event{ID: a.ID, Type: EventType(a.Type), IncidentID: a.IncidentID, AlertID: a.AlertID,
		ActivityType: a.Type, Time: a.Time, Actor: a.Actor, Message: a.Message}
}

// EventType returns the event type of an activity type: incidentCreated and
// alertAdded for those activities, incidentMerged for both sides of a merge
// (incidentMerged, incidentRedirected, and any activity type added later
// whose name says that incidents were merged, such as incidentsMerged), and
// incidentUpdated for everything else, including activity types it does not
// know, so that a new kind of change still reaches clients as an update.
func EventType(activityType string) string {
	switch activityType {
	case ActivityIncidentCreated:
		return EventIncidentCreated
	case ActivityAlertAdded:
		return EventAlertAdded
	case ActivityIncidentMerged, ActivityIncidentRedirected:
		return EventIncidentMerged
	}
	if strings.Contains(strings.ToLower(activityType), "merge") {
		return EventIncidentMerged
	}
	return EventIncidentUpdated
}

// EventStore reads the event log of a tenant and says when it grows.
// Implementations are safe for concurrent use.
type EventStore interface {
	// Events returns the tenant's events with an ID greater than after,
	// in ID order, at most limit of them (DefaultEventBatch when limit is
	// not positive, at most MaxEventBatch). An event with a greater ID was
	// committed later, and no event is ever committed with an ID lower
	// than one Events has returned: reading again after the last ID
	// returned yields the events committed since, each once. It returns
	// EINVALID for a negative after, and EUNAVAILABLE once the store is
	// closed.
	Events(ctx context.Context, tenantID string, after int64, limit int) ([]Event, error)

	// LastEventID returns the end of the tenant's event log: every event
	// of the tenant committed so far has an ID at most this, every event
	// committed later a greater one, so that Events after it returns only
	// new events. It is 0 for an empty log; it need not be the ID of one
	// of the tenant's own events.
	LastEventID(ctx context.Context, tenantID string) (int64, error)

	// EventsChanged returns a channel that is closed at the next commit
	// that may have added events (of any tenant), or at once when the store
	// is closed. A reader takes the channel before it reads the events,
	// reads, and then waits on the channel, so that no commit falls
	// between its read and its wait. Commits made by another process that
	// shares the store may not close it; readers that must see them poll
	// too.
	EventsChanged() <-chan struct{}
}
