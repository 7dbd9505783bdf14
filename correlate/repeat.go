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

// repeatState is what repeatOf found for one alert: the current group of
// its key, if it has one, and whether the alert belongs to it.
type repeatState struct {
	cur repeatGroup // a copy of the current group, when has
	has bool
	in  bool // the alert belongs to cur
}

// group returns the group the alert belongs to, or nil.
func (rs *repeatState) group() *repeatGroup {
	if rs.in {
		return &rs.cur
	}
	return nil
}

// repeatOf looks up the current group of k (none when repeat groups are
// off) and whether an alert starting at first belongs to it. Pass what it
// returns to recordRepeat.
func (t *tenantState) repeatOf(k repeatKey, first int64, window time.Duration) (rs repeatState) {
	if k.anchor == 0 || window <= 0 {
		return rs
	}
	rs.cur, rs.has = t.repeats[k]
	if !rs.has {
		return rs
	}
	d := first - rs.cur.start
	rs.in = d < window.Nanoseconds() && d > -window.Nanoseconds()
	return rs
}

// recordRepeat notes that the alert a (first activity first) is now in
// incident id, starting a new group of k when it did not join the current
// one, and returns the alert's group id (0 for none). rs is what repeatOf
// returned for the alert, with no change to the groups since.
func (t *tenantState) recordRepeat(k repeatKey, rs *repeatState, alertID string, first, id int64, window time.Duration) int64 {
	if k.anchor == 0 || window <= 0 {
		return 0
	}
	if rs.in {
		if first >= rs.cur.last {
			rs.cur.alert, rs.cur.last = alertID, first
			t.repeats[k] = rs.cur
		}
		return rs.cur.id
	}
	t.nextGroup++
	if rs.has && first < rs.cur.start {
		return t.nextGroup // a late alert before the current group: a group of its own, already closed
	}
	t.repeats[k] = repeatGroup{id: t.nextGroup, start: first, incident: id, alert: alertID, last: first}
	return t.nextGroup
}
