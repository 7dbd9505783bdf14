package correlate

// Reasons: Graph correlationReason values and a sentence for each
// placement.

import (
	"time"

	"github.com/weftxdr/weft"
)

// reasons turns the best link into Graph correlationReason values and a
// sentence; other is the id of the link's other alert. The reasons are
// shared between placements (reasonSets): nobody may modify them.
func reasons(l *link, a *weft.Alert, other string) ([]string, string) {
	if l == nil {
		return nil, "first alert of a new incident: it shares no linkable entity with a recent alert"
	}
	typ := l.ref.typ(a)
	first := sharedIndicators
	switch typ {
	case weft.EntityDevice, weft.EntityProcess:
		first = sameAsset
	case weft.EntityUser, weft.EntityMailbox:
		first = sameActor
	case weft.EntityEmailMessage:
		first = eventSequence
	}
	lateral := 0
	if l.lateral {
		lateral = 1
	}
	rs := reasonSets[first][lateral]
	when := "at the same time"
	if l.gap > 0 {
		dir := "later"
		if l.before {
			dir = "earlier"
		}
		when = roundGap(l.gap).String() + " " + dir
	}
	name := l.ref.name(a)
	if l.repeat && name != "" {
		return rs, "repeats the detection of alert " + other + " on " + typeWord(typ) + " " + name + ", " + when
	}
	return rs, "shares " + typeWord(typ) + " " + name + " with alert " + other + ", " + when
}

// reasonSets are the correlationReason lists reasons returns, by the kind
// of entity shared (sameAsset, sameActor, eventSequence, sharedIndicators)
// and whether the link is a lateral movement; each is full to its capacity,
// so that an append to one copies it.
var reasonSets = func() (sets [len(firstReasons)][2][]string) {
	for i, first := range firstReasons {
		sets[i][0] = []string{first, "temporalProximity"}
		sets[i][1] = []string{first, "lateralMovementPath", "temporalProximity"}
	}
	return sets
}()

// The first correlationReason of a link, by the kind of entity shared:
// indexes of firstReasons and of reasonSets.
const (
	sameAsset = iota
	sameActor
	eventSequence
	sharedIndicators
)

var firstReasons = [...]string{
	sameAsset:        "sameAsset",
	sameActor:        "sameActor",
	eventSequence:    "eventSequence",
	sharedIndicators: "sharedIndicators",
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
