package simulator

import "github.com/weftxdr/weft"

// EntityState is what the simulated systems hold about one target after the
// actions applied to it so far. The zero value is an entity no action has
// touched.
type EntityState struct {
	// Device: Isolation is "" when the device is not isolated, else its
	// isolation type ("full" or "selective").
	Isolation  string `json:"isolation,omitempty"`
	Restricted bool   `json:"restricted,omitempty"` // app execution restricted
	Scans      int    `json:"scans,omitempty"`      // antivirus scans run
	Packages   int    `json:"packages,omitempty"`   // investigation packages collected
	// User.
	Disabled      bool `json:"disabled,omitempty"` // the account is disabled
	Compromised   bool `json:"compromised,omitempty"`
	PasswordReset bool `json:"passwordReset,omitempty"` // a reset is forced at next sign-in
	// SessionRevocations counts revokeSessions.
	SessionRevocations int `json:"sessionRevocations,omitempty"`
	// Email message: where it is, "" for the inbox, else "deleted",
	// "junk" or "quarantined".
	Mail string `json:"mail,omitempty"`
	// File: stopped and quarantined.
	Quarantined bool `json:"quarantined,omitempty"`
	// File, IP, URL, domain: "" when no indicator, else its action
	// ("block" or "allow").
	Indicator string `json:"indicator,omitempty"`
}

// Where an email message is.
const (
	MailDeleted     = "deleted"
	MailJunk        = "junk"
	MailQuarantined = "quarantined"
)

// effect is what one action type does to its target's state: the entity
// types it applies to and the change. apply answers the message the
// simulator gives.
type effect struct {
	entities []weft.EntityType
	apply    func(s *EntityState, params map[string]string) string
}

var (
	devices = []weft.EntityType{weft.EntityDevice}
	users   = []weft.EntityType{weft.EntityUser}
	emails  = []weft.EntityType{weft.EntityEmailMessage}
	files   = []weft.EntityType{weft.EntityFile}
)

// effects is the simulator's own table of the actions of docs/respond.md
// ("Actions") and their inverses. It does not read the action catalogue:
// the simulator stands for the systems that hold the entities, which know
// their own operations.
var effects = map[string]effect{
	"isolate": {devices, func(s *EntityState, p map[string]string) string {
		s.Isolation = param(p, "isolationType", "full")
		return "device isolated (" + s.Isolation + ")"
	}},
	"release": {devices, func(s *EntityState, _ map[string]string) string {
		was := s.Isolation != ""
		s.Isolation = ""
		return unless(was, "device released from isolation", "device was not isolated")
	}},
	"restrictAppExecution": {devices, func(s *EntityState, _ map[string]string) string {
		s.Restricted = true
		return "app execution restricted"
	}},
	"removeAppRestriction": {devices, func(s *EntityState, _ map[string]string) string {
		was := s.Restricted
		s.Restricted = false
		return unless(was, "app execution restriction removed", "app execution was not restricted")
	}},
	"runAntivirusScan": {devices, func(s *EntityState, p map[string]string) string {
		s.Scans++
		return param(p, "scanType", "quick") + " antivirus scan completed, nothing found"
	}},
	"collectInvestigationPackage": {devices, func(s *EntityState, _ map[string]string) string {
		s.Packages++
		return "investigation package collected"
	}},
	"disable": {users, func(s *EntityState, _ map[string]string) string {
		s.Disabled = true
		return "account disabled"
	}},
	"enable": {users, func(s *EntityState, _ map[string]string) string {
		was := s.Disabled
		s.Disabled = false
		return unless(was, "account enabled", "account was not disabled")
	}},
	"forcePasswordReset": {users, func(s *EntityState, _ map[string]string) string {
		s.PasswordReset = true
		return "password reset required at next sign-in"
	}},
	"revokeSessions": {users, func(s *EntityState, _ map[string]string) string {
		s.SessionRevocations++
		return "sign-in sessions revoked"
	}},
	"confirmCompromised": {users, func(s *EntityState, _ map[string]string) string {
		s.Compromised = true
		return "user confirmed compromised"
	}},
	"softDelete":  {emails, mailTo(MailDeleted, "email soft-deleted")},
	"moveToJunk":  {emails, mailTo(MailJunk, "email moved to junk")},
	"quarantine":  {emails, mailTo(MailQuarantined, "email quarantined")},
	"moveToInbox": {emails, mailTo("", "email moved to the inbox")},
	"stopAndQuarantine": {files, func(s *EntityState, _ map[string]string) string {
		s.Quarantined = true
		return "file stopped and quarantined"
	}},
	"releaseFromQuarantine": {[]weft.EntityType{weft.EntityEmailMessage, weft.EntityFile}, func(s *EntityState, _ map[string]string) string {
		was := s.Quarantined || s.Mail == MailQuarantined
		s.Quarantined = false
		if s.Mail == MailQuarantined {
			s.Mail = ""
		}
		return unless(was, "released from quarantine", "was not quarantined")
	}},
	"addIndicator": {indicatorEntities, func(s *EntityState, p map[string]string) string {
		s.Indicator = param(p, "indicatorAction", "block")
		return "indicator added (" + s.Indicator + ")"
	}},
	"removeIndicator": {indicatorEntities, func(s *EntityState, _ map[string]string) string {
		was := s.Indicator != ""
		s.Indicator = ""
		return unless(was, "indicator removed", "there was no indicator")
	}},
}

var indicatorEntities = []weft.EntityType{weft.EntityFile, weft.EntityIP, weft.EntityURL, weft.EntityDomain}

func mailTo(where, msg string) func(*EntityState, map[string]string) string {
	return func(s *EntityState, _ map[string]string) string {
		s.Mail = where
		return msg
	}
}

// param is p[key], or def when it is not set (the catalogue's default; the
// action service normally sets it).
func param(p map[string]string, key, def string) string {
	if v := p[key]; v != "" {
		return v
	}
	return def
}

func unless(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
