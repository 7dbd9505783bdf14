package correlate

// Reasons: Graph correlationReason values and a sentence for each
// placement.

import (
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// reasons turns the best link into Graph correlationReason values, a
// sentence, and the linked entity as "type:name" (Placement.LinkedEntity);
// other is the id of the link's other alert. The reasons are shared between
// placements (reasonSets): nobody may modify them.
func reasons(l *link, a *weft.Alert, other string) (rs []string, sentence, entity string) {
	if l == nil {
		return nil, "first alert of a new incident: it shares no linkable entity with a recent alert", ""
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
	rs = reasonSets[first][lateral]
	// The sentence and the entity are written in one allocation: most
	// placements have them, and concatenating each and formatting the gap
	// as a string of its own took three.
	var gap [32]byte
	when := []byte("at the same time")
	if l.gap > 0 {
		when = appendGap(gap[:0], roundGap(l.gap))
		if l.before {
			when = append(when, " earlier"...)
		} else {
			when = append(when, " later"...)
		}
	}
	name, word := l.ref.name(a), typeWord(typ)
	var b strings.Builder
	b.Grow(len("repeats the detection of alert ") + len(other) + len(" on ") + len(word) + 1 + len(name) + 2 + len(when) +
		len(typ) + 1 + len(name))
	if l.repeat && name != "" {
		b.WriteString("repeats the detection of alert ")
		b.WriteString(other)
		b.WriteString(" on ")
		b.WriteString(word)
		b.WriteByte(' ')
		b.WriteString(name)
	} else {
		b.WriteString("shares ")
		b.WriteString(word)
		b.WriteByte(' ')
		b.WriteString(name)
		b.WriteString(" with alert ")
		b.WriteString(other)
	}
	b.WriteString(", ")
	b.Write(when)
	n := b.Len()
	b.WriteString(string(typ))
	b.WriteByte(':')
	b.WriteString(name)
	both := b.String()
	return rs, both[:n], both[n:]
}

// appendGap appends d as time.Duration.String writes it. It formats the
// whole milliseconds that roundGap leaves itself, without an allocation,
// and leaves any other duration to String.
func appendGap(b []byte, d time.Duration) []byte {
	if d < 0 || d%time.Millisecond != 0 {
		return append(b, d.String()...)
	}
	ms := int64(d / time.Millisecond)
	switch {
	case ms == 0:
		return append(b, "0s"...)
	case ms < 1000:
		return append(strconv.AppendInt(b, ms, 10), "ms"...)
	}
	s, frac := ms/1000, ms%1000
	if s >= 3600 {
		b = append(strconv.AppendInt(b, s/3600, 10), 'h')
	}
	if s >= 60 {
		b = append(strconv.AppendInt(b, s/60%60, 10), 'm')
	}
	b = strconv.AppendInt(b, s%60, 10)
	if frac != 0 {
		digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
		n := 3
		for digits[n-1] == '0' {
			n--
		}
		b = append(append(b, '.'), digits[:n]...)
	}
	return append(b, 's')
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
