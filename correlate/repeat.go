package correlate

// Repeat groups: one detector firing again and again on one host.
//
// A detector that fires on the same host (or, for alerts without a host, the
// same account) within RepeatWindow of the first alert of its current group
// raises a repeat of one finding, and the repeat joins that group's incident
// whatever the guards say: a scanner that trips one detector every five
// minutes is one finding an hour, even though the scanner itself is a hub.
// The window is anchored at the group's first alert, not the latest one, so
// repeats never chain into one incident for days; the next repeat after the
// window starts a new group.

import "time"

// repeatKey names a repeat group: a detector on a principal.
type repeatKey struct {
	detector detectorID
	anchor   IdentityID
}

// repeatGroup is the current group of one repeatKey.
type repeatGroup struct {
	id       int64
	start    int64 // first activity of the group's first alert, unix ns
	incident int64
	alert    string // the group's latest alert, for the explanation
	last     int64  // its first activity
}

// repeatOf returns the current group of k that an alert starting at first
// belongs to, or nil.
func (t *tenantState) repeatOf(k repeatKey, first int64, window time.Duration) *repeatGroup {
	g := t.repeats[k]
	if g == nil || k.anchor == 0 || window <= 0 {
		return nil
	}
	if d := first - g.start; d >= window.Nanoseconds() || d <= -window.Nanoseconds() {
		return nil
	}
	return g
}

// recordRepeat notes that the alert a (first activity first) is now in
// incident id, starting a new group of k when it did not join the current
// one, and returns the alert's group id (0 for none).
func (t *tenantState) recordRepeat(k repeatKey, alertID string, first, id int64, window time.Duration) int64 {
	if k.anchor == 0 || window <= 0 {
		return 0
	}
	if g := t.repeatOf(k, first, window); g != nil {
		if first >= g.last {
			g.alert, g.last = alertID, first
		}
		return g.id
	}
	t.nextGroup++
	if g := t.repeats[k]; g != nil && first < g.start {
		return t.nextGroup // a late alert before the current group: a group of its own, already closed
	}
	t.repeats[k] = &repeatGroup{id: t.nextGroup, start: first, incident: id, alert: alertID, last: first}
	return t.nextGroup
}
