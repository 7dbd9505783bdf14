// Package automation evaluates automation and notification rules (design §8,
// docs/automation.md): CEL conditions over an incident and its alerts, the
// Engine that plans what the rules of a tenant do to an incident, the Runner
// that tails the event log and applies the plans through the incident manager
// and the action service, and the Notifier that posts matching incidents to
// webhooks.
package automation

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"github.com/weftxdr/weft"
)

// Alert is an alert of the incident as conditions see it (alerts.exists(a,
// a.severity == 'high')). Field names are the CEL names.
type Alert struct {
	ID              string     `cel:"id"`
	Title           string     `cel:"title"`
	Severity        string     `cel:"severity"`
	Status          string     `cel:"status"`
	Category        string     `cel:"category"`
	DetectorID      string     `cel:"detectorId"`
	ServiceSource   string     `cel:"serviceSource"`
	DetectionSource string     `cel:"detectionSource"`
	ProductName     string     `cel:"productName"`
	MitreTechniques []string   `cel:"mitreTechniques"`
	Evidence        []Evidence `cel:"evidence"`
	Created         time.Time  `cel:"created"`
}

// Evidence is one evidence record of an alert.
type Evidence struct {
	Type    string   `cel:"type"`
	Name    string   `cel:"name"`
	Key     string   `cel:"key"`
	Verdict string   `cel:"verdict"`
	Roles   []string `cel:"roles"`
}

// Entity is one entity of the incident (devices, users, mailboxes,
// entities) with what the asset inventory says of it.
type Entity struct {
	Type        string `cel:"type"`
	Key         string `cel:"key"`
	Name        string `cel:"name"`
	Criticality int    `cel:"criticality"`
	DeviceGroup string `cel:"deviceGroup"`
}

// Subject is what a rule is evaluated on: an incident with its alerts and
// its entities. Load builds one from a store.
type Subject struct {
	Incident *weft.Incident
	// Entities are the incident's entities, each once, with their
	// criticality and device group.
	Entities []Entity
}

// variables are the condition's top-level names and their CEL types; see
// docs/automation.md for their meaning.
var variables = []struct {
	name string
	typ  *cel.Type
}{
	{"id", cel.IntType}, {"name", cel.StringType}, {"severity", cel.StringType},
	{"severityRank", cel.IntType}, {"status", cel.StringType},
	{"classification", cel.StringType}, {"determination", cel.StringType}, {"assignedTo", cel.StringType},
	{"tags", cel.ListType(cel.StringType)}, {"systemTags", cel.ListType(cel.StringType)},
	{"categories", cel.ListType(cel.StringType)}, {"priorityScore", cel.IntType}, {"alertCount", cel.IntType},
	{"sources", cel.ListType(cel.StringType)}, {"serviceSources", cel.ListType(cel.StringType)},
	{"detectors", cel.ListType(cel.StringType)}, {"mitreTechniques", cel.ListType(cel.StringType)},
	{"devices", cel.ListType(entityType)}, {"users", cel.ListType(entityType)},
	{"mailboxes", cel.ListType(entityType)}, {"entities", cel.ListType(entityType)},
	{"created", cel.TimestampType}, {"updated", cel.TimestampType},
	{"alerts", cel.ListType(cel.ObjectType("automation.Alert"))},
}

var entityType = cel.ObjectType("automation.Entity")

// Limits of evaluation.
const (
	// CostLimit bounds the work of one evaluation (CEL cost units, about
	// one per value visited): an incident's 1,000 alerts with 20
	// evidence records each, visited a few times over.
	CostLimit = 1_000_000
	// interruptEvery is how many comprehension steps pass between checks
	// of the context.
	interruptEvery = 100
)

// newEnv returns the CEL environment of conditions and targets.
func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		ext.NativeTypes(reflect.TypeFor[Alert](), reflect.TypeFor[Evidence](), reflect.TypeFor[Entity](), ext.ParseStructTags(true)),
		ext.Strings(),
		cel.Container("automation"),
	}
	for _, v := range variables {
		opts = append(opts, cel.Variable(v.name, v.typ))
	}
	return cel.NewEnv(opts...)
}

// compile parses and type-checks src and checks that it yields want. The
// error is EINVALID, prefixed with field, and gives each problem's line and
// column (1-based) as CEL reports them: "condition: 1:10: undeclared
// reference to 'sevrity'".
func compile(env *cel.Env, field, src string, want *cel.Type) (cel.Program, error) {
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
			if len(msgs) == 3 {
				break
			}
		}
		return nil, weft.Errorf(weft.EINVALID, "%s: %s", field, strings.Join(msgs, "; "))
	}
	if !ast.OutputType().IsExactType(want) {
		return nil, weft.Errorf(weft.EINVALID, "%s: 1:1: the expression yields %s, not %s", field, ast.OutputType(), want)
	}
	prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(interruptEvery))
	if err != nil {
		return nil, weft.Errorf(weft.EINVALID, "%s: %v", field, err)
	}
	return prg, nil
}

// activation builds the variables of a subject.
func activation(s *Subject) map[string]any {
	inc := s.Incident
	score := int64(-1)
	if inc.PriorityScore != nil {
		score = int64(*inc.PriorityScore)
	}
	var detectors, techniques []string
	seenD, seenT := map[string]bool{}, map[string]bool{}
	alerts := make([]Alert, 0, len(inc.Alerts))
	for _, a := range inc.Alerts {
		if a.DetectorID != "" && !seenD[a.DetectorID] {
			seenD[a.DetectorID] = true
			detectors = append(detectors, a.DetectorID)
		}
		for _, t := range a.MitreTechniques {
			if !seenT[t] {
				seenT[t] = true
				techniques = append(techniques, t)
			}
		}
		ev := make([]Evidence, 0, len(a.Evidence))
		for i := range a.Evidence {
			e := &a.Evidence[i]
			roles := make([]string, len(e.Roles))
			for j, r := range e.Roles {
				roles[j] = string(r)
			}
			ev = append(ev, Evidence{Type: string(e.EntityType), Name: e.Name(), Key: e.Key(), Verdict: string(e.Verdict), Roles: roles})
		}
		alerts = append(alerts, Alert{ID: a.ID, Title: a.Title, Severity: string(a.Severity), Status: string(a.Status),
			Category: a.Category, DetectorID: a.DetectorID, ServiceSource: a.ServiceSource, DetectionSource: a.DetectionSource,
			ProductName: a.ProductName, MitreTechniques: nonNil(a.MitreTechniques), Evidence: ev, Created: a.CreatedDateTime})
	}
	byType := func(t weft.EntityType) []Entity {
		out := []Entity{}
		for _, e := range s.Entities {
			if e.Type == string(t) {
				out = append(out, e)
			}
		}
		return out
	}
	return map[string]any{
		"id": inc.ID, "name": inc.DisplayName, "severity": string(inc.Severity), "severityRank": int64(inc.Severity.Rank()),
		"status": string(inc.Status), "classification": string(inc.Classification), "determination": string(inc.Determination),
		"assignedTo": inc.AssignedTo, "tags": nonNil(inc.CustomTags), "systemTags": nonNil(inc.SystemTags),
		"categories": nonNil(inc.Categories), "priorityScore": score, "alertCount": int64(max(inc.AlertCount, len(inc.Alerts))),
		"sources": nonNil(inc.DetectionSources), "serviceSources": nonNil(inc.ServiceSources),
		"detectors": nonNil(detectors), "mitreTechniques": nonNil(techniques),
		"devices": byType(weft.EntityDevice), "users": byType(weft.EntityUser), "mailboxes": byType(weft.EntityMailbox),
		"entities": append([]Entity{}, s.Entities...),
		"created":  inc.CreatedDateTime, "updated": inc.LastUpdateDateTime, "alerts": alerts,
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// evalBool runs a compiled condition.
func evalBool(ctx context.Context, prg cel.Program, vars map[string]any) (bool, error) {
	out, err := eval(ctx, prg, vars)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the condition yielded %s, not bool", out.Type())
	}
	return b, nil
}

// evalEntities runs a compiled target selector.
func evalEntities(ctx context.Context, prg cel.Program, vars map[string]any) ([]Entity, error) {
	out, err := eval(ctx, prg, vars)
	if err != nil {
		return nil, err
	}
	v, err := out.ConvertToNative(reflect.TypeFor[[]Entity]())
	if err != nil {
		return nil, fmt.Errorf("the target did not yield a list of entities: %w", err)
	}
	return v.([]Entity), nil
}

func eval(ctx context.Context, prg cel.Program, vars map[string]any) (ref.Val, error) {
	out, _, err := prg.ContextEval(ctx, vars)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if strings.Contains(err.Error(), "cost limit") {
			return nil, weft.Errorf(weft.ETOOLARGE, "evaluation passed the cost limit (%d): simplify the expression", CostLimit)
		}
		return nil, weft.Errorf(weft.EINVALID, "evaluation failed: %v", err)
	}
	if types.IsError(out) {
		return nil, errors.New("evaluation failed")
	}
	return out, nil
}
