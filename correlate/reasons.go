package correlate

// Reasons: Graph correlationReason values and a sentence for each
// placement.

import (
	"time"

	"github.com/weftxdr/weft"
)

// reasons turns the best link into Graph correlationReason values and a
// sentence.
func reasons(l *link, a *weft.Alert) ([]string, string) {
	if l == nil {
		return nil, "first alert of a new incident: it shares no linkable entity with a recent alert"
	}
	rs := make([]string, 0, 3) // at most three reasons
	switch l.ref.typ {
	case weft.EntityDevice, weft.EntityProcess:
		rs = append(rs, "sameAsset")
	case weft.EntityUser, weft.EntityMailbox:
		rs = append(rs, "sameActor")
	case weft.EntityEmailMessage:
		rs = append(rs, "eventSequence")
	default:
		rs = append(rs, "sharedIndicators")
	}
	if l.lateral {
		rs = append(rs, "lateralMovementPath")
	}
	rs = append(rs, "temporalProximity")
	when := "at the same time"
	if l.gap > 0 {
		dir := "later"
		if l.before {
			dir = "earlier"
		}
		when = roundGap(l.gap).String() + " " + dir
	}
	name := l.ref.name()
	if l.repeat && name != "" {
		return rs, "repeats the detection of alert " + l.other + " on " + typeWord(l.ref.typ) + " " + name + ", " + when
	}
	return rs, "shares " + typeWord(l.ref.typ) + " " + name + " with alert " + l.other + ", " + when
}

func roundGap(d time.Duration) time.Duration {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute)
	case d >= time.Minute:
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

func typeWord(t weft.EntityType) string {
	switch t {
	case weft.EntityEmailMessage:
		return "email message"
	case weft.EntityIP:
		return "IP address"
	case weft.EntityURL:
		return "URL"
	case weft.EntityCloudApplication, weft.EntityOAuthApplication:
		return "application"
	case weft.EntityRegistryKey, weft.EntityRegistryValue:
		return "registry key"
	case weft.EntitySecurityGroup:
		return "security group"
	case weft.EntityCloudResource:
		return "cloud resource"
	}
	return string(t)
}
