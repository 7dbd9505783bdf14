package weft_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// TestActionCatalogue checks the catalogue against docs/respond.md's table:
// every action, its entity types, its inverse, its TTL and role, and that
// every inverse exists and applies to the same entity types.
func TestActionCatalogue(t *testing.T) {
	want := map[string]struct {
		types    []weft.EntityType
		inverse  string
		contains weft.ContainmentState
	}{
		"isolate":                     {[]weft.EntityType{weft.EntityDevice}, "release", weft.ContainmentIsolated},
		"release":                     {[]weft.EntityType{weft.EntityDevice}, "", ""},
		"restrictAppExecution":        {[]weft.EntityType{weft.EntityDevice}, "removeAppRestriction", weft.ContainmentRestricted},
		"removeAppRestriction":        {[]weft.EntityType{weft.EntityDevice}, "", ""},
		"runAntivirusScan":            {[]weft.EntityType{weft.EntityDevice}, "", ""},
		"collectInvestigationPackage": {[]weft.EntityType{weft.EntityDevice}, "", ""},
		"disable":                     {[]weft.EntityType{weft.EntityUser}, "enable", weft.ContainmentDisabled},
		"enable":                      {[]weft.EntityType{weft.EntityUser}, "", ""},
		"forcePasswordReset":          {[]weft.EntityType{weft.EntityUser}, "", ""},
		"revokeSessions":              {[]weft.EntityType{weft.EntityUser}, "", ""},
		"confirmCompromised":          {[]weft.EntityType{weft.EntityUser}, "", ""},
		"softDelete":                  {[]weft.EntityType{weft.EntityEmailMessage}, "moveToInbox", weft.ContainmentDeleted},
		"moveToJunk":                  {[]weft.EntityType{weft.EntityEmailMessage}, "moveToInbox", weft.ContainmentJunked},
		"quarantine":                  {[]weft.EntityType{weft.EntityEmailMessage}, "releaseFromQuarantine", weft.ContainmentQuarantined},
		"moveToInbox":                 {[]weft.EntityType{weft.EntityEmailMessage}, "", ""},
		"releaseFromQuarantine":       {[]weft.EntityType{weft.EntityEmailMessage, weft.EntityFile}, "", ""},
		"stopAndQuarantine":           {[]weft.EntityType{weft.EntityFile}, "releaseFromQuarantine", weft.ContainmentQuarantined},
		"addIndicator":                {[]weft.EntityType{weft.EntityFile, weft.EntityIP, weft.EntityURL, weft.EntityDomain}, "removeIndicator", ""},
		"removeIndicator":             {[]weft.EntityType{weft.EntityFile, weft.EntityIP, weft.EntityURL, weft.EntityDomain}, "", ""},
	}
	defs := weft.ActionDefinitions()
	if len(defs) != len(want) {
		t.Fatalf("got %d actions, want %d", len(defs), len(want))
	}
	for _, d := range defs {
		w, ok := want[d.Type]
		if !ok {
			t.Errorf("unexpected action %q", d.Type)
			continue
		}
		if !slices.Equal(d.EntityTypes, w.types) || d.Inverse != w.inverse || d.Contains != w.contains {
			t.Errorf("%s: got %v inverse %q contains %q, want %v %q %q", d.Type, d.EntityTypes, d.Inverse, d.Contains, w.types, w.inverse, w.contains)
		}
		if d.Role != weft.RoleResponder {
			t.Errorf("%s: role %q, want responder", d.Type, d.Role)
		}
		wantTTL := 24 * time.Hour
		if d.Type == "isolate" {
			wantTTL = 72 * time.Hour
		}
		if d.TTL != wantTTL || d.TTLSeconds != int64(wantTTL/time.Second) {
			t.Errorf("%s: TTL %v (%d s), want %v", d.Type, d.TTL, d.TTLSeconds, wantTTL)
		}
		if d.Inverse != "" {
			inv, ok := weft.LookupAction(d.Inverse)
			if !ok {
				t.Errorf("%s: inverse %q is not in the catalogue", d.Type, d.Inverse)
				continue
			}
			for _, et := range d.EntityTypes {
				if !slices.Contains(inv.EntityTypes, et) {
					t.Errorf("%s: inverse %q does not apply to %s", d.Type, d.Inverse, et)
				}
			}
			if inv.ContainmentOf(inv.WithDefaults(nil)) != "" {
				t.Errorf("%s: inverse %q contains", d.Type, d.Inverse)
			}
			if !slices.Contains(weft.InverseOf(d.Inverse), d.Type) {
				t.Errorf("InverseOf(%q) = %q lacks %q", d.Inverse, weft.InverseOf(d.Inverse), d.Type)
			}
		}
	}
	add, _ := weft.LookupAction("addIndicator")
	if got := add.ContainmentOf(map[string]string{"indicatorAction": "block"}); got != weft.ContainmentBlocked {
		t.Errorf("addIndicator block contains %q", got)
	}
	if got := add.ContainmentOf(map[string]string{"indicatorAction": "allow"}); got != weft.ContainmentAllowed {
		t.Errorf("addIndicator allow contains %q", got)
	}
	if _, ok := weft.LookupAction("nuke"); ok {
		t.Error("LookupAction(nuke) found an action")
	}
}

func TestActionDefinitionValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     string
		entity  weft.EntityType
		params  map[string]string
		wantErr string // "" for OK
	}{
		{"OK", "isolate", weft.EntityDevice, map[string]string{"isolationType": "selective"}, ""},
		{"OKDefault", "isolate", weft.EntityDevice, nil, ""},
		{"OKNoParams", "disable", weft.EntityUser, nil, ""},
		{"OKIndicator", "addIndicator", weft.EntityURL, map[string]string{"indicatorAction": "block"}, ""},
		{"ErrEntityType", "isolate", weft.EntityUser, nil, `type: action "isolate" does not apply to a user; it applies to: device`},
		{"ErrValue", "isolate", weft.EntityDevice, map[string]string{"isolationType": "partial"}, `parameters.isolationType: "partial" is not allowed; one of: full, selective`},
		{"ErrUnknownParam", "runAntivirusScan", weft.EntityDevice, map[string]string{"depth": "9"}, `parameters.depth: action "runAntivirusScan" has no such parameter; allowed: scanType`},
		{"ErrNoParams", "disable", weft.EntityUser, map[string]string{"x": "y"}, `parameters.x: action "disable" takes no parameters`},
		{"ErrRequired", "addIndicator", weft.EntityIP, nil, `parameters.indicatorAction: required by action "addIndicator"; one of: block, allow`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := weft.CheckActionType(tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			err = d.Validate(tc.entity, tc.params)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tc.wantErr != "" && (weft.ErrorCode(err) != weft.EINVALID || weft.ErrorMessage(err) != tc.wantErr):
				t.Fatalf("got %v, want EINVALID %q", err, tc.wantErr)
			}
		})
	}
	if _, err := weft.CheckActionType("nuke"); weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "allowed: addIndicator, collectInvestigationPackage") {
		t.Fatalf("got %v", err)
	}
	d, _ := weft.LookupAction("isolate")
	if got := d.WithDefaults(nil); got["isolationType"] != "full" {
		t.Fatalf("WithDefaults: got %v", got)
	}
}

func TestActionTargetType(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   weft.EntityType
		err    string
	}{
		{"device.fqdn:ws1.contoso.com", weft.EntityDevice, ""},
		{"device.mdeId:6f1c2a", weft.EntityDevice, ""},
		{"user.upn:alice@contoso.com", weft.EntityUser, ""},
		{"message.internetId:<a@b>", weft.EntityEmailMessage, ""},
		{"file.sha256:" + strings.Repeat("a", 64), weft.EntityFile, ""},
		{"ip:203.0.113.7", weft.EntityIP, ""},
		{"url:https://evil.example/x", weft.EntityURL, ""},
		{"domain:evil.example", weft.EntityDomain, ""},
		{"", "", "target: must not be empty"},
		{"ws1", "", "is not an entity key"},
		{" ip:1.2.3.4", "", "surrounding space"},
		{"process:ws1/42/1", "", `no response action applies to a "process" key`},
		{"file.path:ws1/c:/x.exe", "", `no response action applies to a "file.path" key`},
		{"ip:" + strings.Repeat("1", 2000), "", "at most 1024"},
	} {
		got, err := weft.ActionTargetType(tc.target)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("%q: got %q, %v; want %q", tc.target, got, err, tc.want)
			}
			continue
		}
		if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), tc.err) {
			t.Errorf("%q: got %v, want EINVALID with %q", tc.target, err, tc.err)
		}
	}
}

// TestActionStates checks the state machine's shape: the final statuses
// have no arrow out but succeeded → undone, and every status an arrow
// reaches has an activity type in ActivityTypes.
func TestActionStates(t *testing.T) {
	types := weft.ActivityTypes()
	for _, from := range weft.ActionStatuses {
		for _, to := range weft.ActionStatuses {
			if !weft.CanTransitionAction(from, to) {
				continue
			}
			if from.Final() && (from != weft.ActionSucceeded || to != weft.ActionUndone) {
				t.Errorf("final %s has an arrow to %s", from, to)
			}
			if at := weft.ActionActivityType(to); !slices.Contains(types, at) {
				t.Errorf("%s → %s: activity type %q is not in ActivityTypes", from, to, at)
			}
		}
	}
	if !slices.Contains(types, weft.ActivityActionRetrying) {
		t.Error("ActivityTypes lacks actionRetrying")
	}
	for _, open := range []weft.ActionStatus{weft.ActionRequested, weft.ActionPendingApproval, weft.ActionApproved, weft.ActionDispatched} {
		if open.Final() {
			t.Errorf("%s is final", open)
		}
	}
}
