package priority

import (
	"strings"

	"github.com/weftxdr/weft"
)

// Name generates an incident's display name from its alerts, following
// Defender's grammar:
//
//   - one alert, or several that share one title: that title;
//   - otherwise "Multi-stage incident involving <first tactic> & <last
//     tactic> on <scope> reported by <one source|multiple sources>".
//
// The tactics are the earliest and latest in kill-chain (matrix) order, in
// Defender's spelling ("Initial access", "Command and control"); one tactic
// gives "involving Execution", none drops the "involving" clause. An alert
// counts with the tactic of its category, or, when its category is not a
// tactic ("Malware"), with the tactics of its techniques. The scope counts
// devices when there are any ("one endpoint", "multiple endpoints"), else
// users and mailboxes ("one user", "multiple users"), else is left out.
// Entities are told apart by their identifiers, so a device named by its MDE
// id and host name in one evidence record is one endpoint. Sources are
// detection sources (see Score).
//
// Name returns "" for no alerts. It is deterministic and does not depend on
// the order of the alerts' scope or sources.
func Name(alerts []*weft.Alert) string {
	if len(alerts) == 0 {
		return ""
	}
	title := strings.TrimSpace(alerts[0].Title)
	for _, a := range alerts[1:] {
		if strings.TrimSpace(a.Title) != title {
			title = ""
			break
		}
	}
	if title != "" {
		return title
	}

	var (
		tset    tacticSet
		devices entityCounter
		users   entityCounter
		source  string
		sources = 0
	)
	for _, a := range alerts {
		if c, ok := ParseCategory(a.Category); ok && c.IsTactic() {
			tset |= 1 << c.index
		} else {
			tset |= alertTactics(a)
		}
		for i := range a.Evidence {
			e := &a.Evidence[i]
			switch e.EntityType {
			case weft.EntityDevice:
				devices.add(e)
			case weft.EntityUser, weft.EntityMailbox:
				users.add(e)
			}
		}
		switch k := sourceKey(a); {
		case sources == 0:
			source, sources = k, 1
		case k != source:
			sources = 2
		}
	}

	var b strings.Builder
	b.WriteString("Multi-stage incident")
	if tset != 0 {
		b.WriteString(" involving ")
		b.WriteString(tactics[tset.first()].DisplayName)
		if tset.len() > 1 {
			b.WriteString(" & ")
			b.WriteString(tactics[tset.last()].DisplayName)
		}
	}
	switch {
	case devices.n == 1:
		b.WriteString(" on one endpoint")
	case devices.n > 1:
		b.WriteString(" on multiple endpoints")
	case users.n == 1:
		b.WriteString(" on one user")
	case users.n > 1:
		b.WriteString(" on multiple users")
	}
	if sources == 1 {
		b.WriteString(" reported by one source")
	} else {
		b.WriteString(" reported by multiple sources")
	}
	return b.String()
}

// entityCounter tells whether it has seen zero, one or more entities. Two
// evidence records are the same entity when they share an identifier value
// ("jdoe@contoso.com" as a UPN in one and as a mail address in another); only
// the first entity's identifiers are kept, which is all "one or multiple"
// needs.
type entityCounter struct {
	n     int
	first []weft.Identifier
}

func (c *entityCounter) add(e *weft.Evidence) {
	if c.n > 1 {
		return
	}
	ids := e.Identifiers()
	if len(ids) == 0 {
		return
	}
	if c.n == 0 {
		c.n, c.first = 1, ids
		return
	}
	for _, id := range ids {
		for _, f := range c.first {
			if id.Value == f.Value {
				c.first = append(c.first, ids...) // the same entity under more names
				return
			}
		}
	}
	c.n = 2
}
