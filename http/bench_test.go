package http_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/weftxdr/weft/gen"
	wefthttp "github.com/weftxdr/weft/http"
)

// BenchmarkIngestHTTP posts NDJSON batches of 1,000 generated Graph alerts to
// the API on a fresh SQLite store (synchronous=normal) from parallel clients
// and reports durable alerts/s. `weft bench` measures the same path with
// synchronous=full and a decode-only ceiling beside it.
func BenchmarkIngestHTTP(b *testing.B) {
	opts := gen.DefaultOptions()
	opts.Start = time.Now().UTC().Add(-time.Minute)
	var buf bytes.Buffer
	if _, err := gen.Generate(opts, &buf, io.Discard); err != nil {
		b.Fatal(err)
	}
	var batches [][]byte
	for data := buf.Bytes(); len(data) > 0; {
		end, lines := 0, 0
		for lines < 1000 && end < len(data) {
			nl := bytes.IndexByte(data[end:], '\n')
			if nl < 0 {
				end = len(data)
				break
			}
			end += nl + 1
			lines++
		}
		batches = append(batches, data[:end])
		data = data[end:]
	}
	s := newTestServer(b, wefthttp.Options{})
	b.SetBytes(int64(buf.Len() / len(batches)))
	b.ResetTimer()
	b.SetParallelism(2)
	var next = make(chan int, 1)
	go func() {
		for i := 0; ; i++ {
			next <- i
		}
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// Past the generated batches, send them again to another tenant,
			// so that every request stores new alerts.
			i := <-next
			req, _ := http.NewRequest("POST", s.URL+"/api/v1/alerts", bytes.NewReader(batches[i%len(batches)]))
			req.Header.Set("Content-Type", "application/x-ndjson")
			req.Header.Set(wefthttp.TenantHeader, fmt.Sprintf("bench-%d", i/len(batches)))
			resp, err := s.Client().Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "alerts/s")
}
