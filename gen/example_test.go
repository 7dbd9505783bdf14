package gen_test

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/weftxdr/weft/gen"
)

// Generate a small scenario: NDJSON Graph alerts for a server, and the truth
// for scoring the incidents it builds from them.
func ExampleGenerate() {
	opts := gen.DefaultOptions()
	opts.Start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // alerts fall in the Duration before Start
	opts.Duration = 48 * time.Hour
	opts.Attacks, opts.NoiseAlerts = 5, 1000
	opts.Users, opts.Devices = 500, 520

	var alerts, truth bytes.Buffer
	st, err := gen.Generate(opts, &alerts, &truth)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Attacks, "attacks,", st.NoiseAlerts, "benign alerts")
	fmt.Println(st.LargestIncident, "is the largest incident")
	line, _ := truth.ReadString('\n')
	fmt.Print("truth: ", line)
	// Output:
	// 5 attacks, 1000 benign alerts
	// atk-0000 is the largest incident
	// truth: alertId,incidentKey
}

// Stream alerts to a consumer in batches without holding them all.
func ExampleStream() {
	opts := gen.DemoOptions()
	opts.Start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var batch bytes.Buffer
	sent := 0
	flush := func() {
		sent += bytes.Count(batch.Bytes(), []byte{'\n'})
		io.Copy(io.Discard, &batch) // e.g. POST it as application/x-ndjson
	}
	for rec, err := range gen.Stream(opts) {
		if err != nil {
			fmt.Println(err)
			return
		}
		batch.Write(rec.JSON) // rec.JSON is reused: copy before the next record
		batch.WriteByte('\n')
		if batch.Len() > 256<<10 {
			flush()
		}
	}
	flush()
	fmt.Println(sent > 300)
	// Output: true
}
