package ingest

import (
	"strings"

	"github.com/weftxdr/weft"
)

// finishWeft interprets a record in weft's native format, the JSON form of
// weft.Alert. weft owns id, incidentId, createdDateTime, lastUpdateDateTime,
// correlationReasons, correlation and raw: whatever a client sends for them
// is ignored.
func (rd *recordDecoder) finishWeft(a *weft.Alert, t *top) *fieldErr {
	var fe *fieldErr
	if a.Source, fe = rd.slotString(t, slotSource); fe != nil {
		return fe
	}
	a.ProviderAlertID = t.providerAlertID
	if a.ProviderCreatedDateTime, fe = rd.slotTime(t, slotProviderCreatedDateTime); fe != nil {
		return fe
	}
	if a.ProviderLastUpdateDateTime, fe = rd.slotTime(t, slotProviderLastUpdateDateTime); fe != nil {
		return fe
	}
	if len(rd.untyped) > 0 {
		return &fieldErr{field: evidencePath(rd.untyped[0]) + ".entityType", msg: "is required (or a Graph @odata.type); one of " + entityTypeNames()}
	}

	// Unknown properties are kept in additionalData when the record has none
	// of its own, and ignored otherwise; a warning names them either way,
	// since they are often misspelt known ones.
	unknown := t.unknown
	rd.keepSlots(t, &unknown, slotIncidentWebURL)
	data := t.additionalData
	switch {
	case !isNull(data):
		if !isObject(data) {
			return &fieldErr{field: "additionalData", msg: "expected an object, got " + kindWords(data.Kind())}
		}
		a.AdditionalData = rd.copyRaw(data)
		if len(unknown) > 0 {
			rd.warn("unknown properties were ignored, since the record has additionalData: " + strings.Join(memberNames(unknown.bytes(), 8), ", "))
		}
	case len(unknown) > 0:
		a.AdditionalData = rd.repair(unknown.bytes())
		rd.warn("unknown properties were kept in additionalData: " + strings.Join(memberNames(a.AdditionalData, 8), ", "))
	}
	return nil
}
