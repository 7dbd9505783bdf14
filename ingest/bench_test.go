package ingest

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// graphBatch returns an NDJSON body of n Graph alerts of about 2.4 KB each,
// with five evidence items (device, process, file, user, ip), all distinct,
// in the shape Defender for Endpoint sends.
func graphBatch(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"@odata.type":"#microsoft.graph.security.alert","id":"da6375789952870%05d_756343937","providerAlertId":"6375789952870%05d_756343937","incidentId":"%d","status":"new","severity":"medium","serviceSource":"microsoftDefenderForEndpoint","detectionSource":"antivirus","productName":"Microsoft Defender for Endpoint","tenantId":"b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c","title":"Suspicious execution of hidden file","description":"A hidden file has been launched.","category":"DefenseEvasion","mitreTechniques":["T1564.001"],"createdDateTime":"2026-11-27T12:19:27.7211305Z","lastUpdateDateTime":"2026-11-27T14:19:01.3266667Z","firstActivityDateTime":"2026-11-27T07:45:50.116Z","lastActivityDateTime":"2026-11-27T07:56:58.222Z","evidence":[`+
			`{"@odata.type":"#microsoft.graph.security.deviceEvidence","verdict":"unknown","mdeDeviceId":"73e7e2de709dff64ef64b1d0c30e67fab63%05d","deviceDnsName":"ws-%05d.contoso.com","hostName":"ws-%05d","osPlatform":"Windows10","osBuild":22424,"healthStatus":"active","riskScore":"medium","rbacGroupName":"UnassignedGroup","ipInterfaces":["10.0.%d.%d"],"roles":["compromised"],"detailedRoles":["Main device"]},`+
			`{"@odata.type":"#microsoft.graph.security.processEvidence","verdict":"suspicious","processId":%d,"parentProcessId":668,"processCommandLine":"\"payload.exe\" -hidden -k %d","processCreationDateTime":"2026-11-27T07:45:49.577Z","detectionStatus":"detected","mdeDeviceId":"73e7e2de709dff64ef64b1d0c30e67fab63%05d","roles":[],"imageFile":{"fileName":"payload.exe","filePath":"C:\\Users\\Public"},"userAccount":{"accountName":"user%d","domainName":"CONTOSO","userSid":"S-1-5-21-1180699209-877415012-3182924384-%d"}},`+
			`{"@odata.type":"#microsoft.graph.security.fileEvidence","verdict":"suspicious","detectionStatus":"detected","mdeDeviceId":"73e7e2de709dff64ef64b1d0c30e67fab63%05d","roles":[],"fileDetails":{"sha1":"5f1e8acedc065031aad553b710838eb366cfee9a","fileName":"payload.exe","filePath":"C:\\Users\\Public","fileSize":6136392}},`+
			`{"@odata.type":"#microsoft.graph.security.userEvidence","verdict":"unknown","roles":[],"userAccount":{"accountName":"user%d","domainName":"CONTOSO","userSid":"S-1-5-21-1180699209-877415012-3182924384-%d","userPrincipalName":"user%d@contoso.com"}},`+
			`{"@odata.type":"#microsoft.graph.security.ipEvidence","verdict":"suspicious","roles":["destination"],"ipAddress":"198.51.%d.%d","countryLetterCode":"NL"}`+
			`]}`+"\n",
			i, i, 20000+i,
			i, i, i, i/250, i%250,
			1000+i, i, i, i, 1000+i,
			i,
			i, 1000+i, i,
			i/250, i%250)
	}
	return b.Bytes()
}

// BenchmarkDecodeGraph decodes a batch of 1,000 Graph alerts of about 2.4 KB
// with five evidence items each, as NDJSON (format told or named) and as a
// JSON array, and reports alerts/s and MB/s.
func BenchmarkDecodeGraph(b *testing.B) {
	lines := graphBatch(1000)
	array := append([]byte("[\n"), bytes.ReplaceAll(bytes.TrimSpace(lines), []byte("\n"), []byte(",\n"))...)
	array = append(array, "\n]\n"...)
	now := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name   string
		body   []byte
		ndjson bool
		format Format
	}{{"ndjson-auto", lines, true, FormatAuto}, {"ndjson-graph", lines, true, FormatGraph}, {"array-auto", array, false, FormatAuto}} {
		body := bc.body
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				recs, err := Decode(body, bc.ndjson, bc.format, Limits{}, now)
				if err != nil || len(recs) != 1000 || recs[999].Err != nil {
					b.Fatalf("Decode: %v, %d records", err, len(recs))
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)*1000/sec, "alerts/s")
			b.ReportMetric(float64(b.N)*float64(len(body))/sec/1e6, "MB/s")
			// On a shared machine the wall clock also counts other processes'
			// turns; alerts per second of this process's CPU time does not.
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(float64(b.N)*1000/cpu, "alerts/cpu-s")
			}
		})
	}
}
