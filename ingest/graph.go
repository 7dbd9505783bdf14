package ingest

import (
	"bytes"
	"strings"

	"github.com/weftxdr/weft"
)

// finishGraph interprets a record as a Microsoft Graph security alert
// (alerts_v2); docs/formats.md has the mapping table.
func (rd *recordDecoder) finishGraph(a *weft.Alert, t *top) *fieldErr {
	id, fe := rd.slotString(t, slotID)
	if fe != nil {
		return fe
	}
	// Graph's id is unique per alert, so it is the idempotency key;
	// providerAlertId (the id in the product that raised the alert) is kept in
	// additionalData.
	a.ProviderAlertID = firstOf(id, t.providerAlertID)
	a.Source = graphSource(a.ServiceSource, a.DetectionSource, a.ProductName)
	if a.ProviderCreatedDateTime, fe = rd.slotTime(t, slotCreatedDateTime); fe != nil {
		return fe
	}
	if a.ProviderLastUpdateDateTime, fe = rd.slotTime(t, slotLastUpdateDateTime); fe != nil {
		return fe
	}
	incidentID := t.slots[slotIncidentID]
	if k := incidentID.Kind(); k != 0 && k != 'n' && k != '"' && k != '0' {
		return &fieldErr{field: "incidentId", msg: "expected a string, got " + kindWords(k)}
	}
	webURL, fe := rd.slotString(t, slotIncidentWebURL)
	if fe != nil {
		return fe
	}
	for _, i := range rd.untyped {
		rd.warn(evidencePath(i) + " has no @odata.type: kept as generic evidence with all its properties")
	}

	// additionalData: Graph's custom details, plus what weft keeps of the
	// properties it has no field for, under names that say where they came
	// from. A name the source already uses is left alone.
	data := t.additionalData
	if !isNull(data) && !isObject(data) {
		return &fieldErr{field: "additionalData", msg: "expected an object, got " + kindWords(data.Kind())}
	}
	extra := make(objBuilder, 0, len(data)+len(t.providerAlertID)+len(incidentID)+len(webURL)+len(t.unknown)+128)
	extra.members(data)
	plain := len(extra)
	has := func(name string) bool { return bytes.Contains(data, []byte(`"`+name+`"`)) }
	if id != "" && t.providerAlertID != "" && t.providerAlertID != id && !has("graphProviderAlertId") {
		extra.str("graphProviderAlertId", t.providerAlertID)
	}
	if k := incidentID.Kind(); (k == '"' && len(incidentID) > 2 || k == '0') && !has("graphIncidentId") {
		extra.raw("graphIncidentId", incidentID)
	}
	if webURL != "" && !has("graphIncidentWebUrl") {
		extra.str("graphIncidentWebUrl", webURL)
	}
	unmapped := t.unknown
	rd.keepSlots(t, &unmapped, slotSource, slotProviderCreatedDateTime, slotProviderLastUpdateDateTime, slotCorrelationReasons, slotCorrelation, slotRaw)
	if len(unmapped) > 0 && !has("graphUnmapped") {
		u := unmapped.bytes()
		extra.raw("graphUnmapped", u)
		rd.warn("properties that are not Graph alert properties were kept in additionalData.graphUnmapped: " + strings.Join(memberNames(u, 8), ", "))
	}
	switch {
	case len(extra) > plain:
		a.AdditionalData = rd.repair(extra.bytes())
	case isObject(data):
		a.AdditionalData = rd.copyRaw(data)
	}
	return nil
}

// graphSource picks the alert's source: the service that raised it, else the
// detection source, else the product, else "microsoftGraph". Graph's
// "unknown" values do not count.
func graphSource(service, detection, product string) string {
	for _, s := range []string{service, detection, product} {
		if s != "" && !strings.EqualFold(s, "unknown") && !strings.EqualFold(s, "unknownFutureValue") {
			return s
		}
	}
	return "microsoftGraph"
}

// graphEvidenceTypes maps the Graph evidence types weft interprets, by the
// last segment of their @odata.type in lower case.
var graphEvidenceTypes = map[string]weft.EntityType{
	"deviceevidence":              weft.EntityDevice,
	"userevidence":                weft.EntityUser,
	"mailboxevidence":             weft.EntityMailbox,
	"analyzedmessageevidence":     weft.EntityEmailMessage,
	"mailclusterevidence":         weft.EntityMailCluster,
	"ipevidence":                  weft.EntityIP,
	"urlevidence":                 weft.EntityURL,
	"dnsevidence":                 weft.EntityDomain,
	"fileevidence":                weft.EntityFile,
	"processevidence":             weft.EntityProcess,
	"registrykeyevidence":         weft.EntityRegistryKey,
	"registryvalueevidence":       weft.EntityRegistryValue,
	"cloudapplicationevidence":    weft.EntityCloudApplication,
	"oauthapplicationevidence":    weft.EntityOAuthApplication,
	"securitygroupevidence":       weft.EntitySecurityGroup,
	"azureresourceevidence":       weft.EntityCloudResource,
	"amazonresourceevidence":      weft.EntityCloudResource,
	"googlecloudresourceevidence": weft.EntityCloudResource,
}

// graphEntityType returns the entity type of a Graph @odata.type such as
// "#microsoft.graph.security.deviceEvidence", and false for a type weft does
// not interpret. Only the last segment counts, in any case.
func graphEntityType(odata string) (weft.EntityType, bool) {
	name := odata[strings.LastIndexByte(odata, '.')+1:]
	switch name { // the spellings Graph sends, without a map lookup
	case "deviceEvidence":
		return weft.EntityDevice, true
	case "userEvidence":
		return weft.EntityUser, true
	case "fileEvidence":
		return weft.EntityFile, true
	case "processEvidence":
		return weft.EntityProcess, true
	case "ipEvidence":
		return weft.EntityIP, true
	case "urlEvidence":
		return weft.EntityURL, true
	case "mailboxEvidence":
		return weft.EntityMailbox, true
	case "analyzedMessageEvidence":
		return weft.EntityEmailMessage, true
	}
	t, ok := graphEvidenceTypes[strings.ToLower(name)]
	return t, ok
}
