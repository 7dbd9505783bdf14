package http_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/ingest"
)

// TestIngestStreamedBodyIsAllOrNothing checks that a body decoded as it is
// read is still committed whole or not at all: a body found over a limit
// after many of its records were decoded stores none of them.
func TestIngestStreamedBodyIsAllOrNothing(t *testing.T) {
	t.Run("ErrTooManyRecords", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{Limits: ingest.Limits{MaxRecords: 10}})
		var b strings.Builder
		for i := range 11 {
			b.WriteString(nativeAlert(fmt.Sprint("many-", i)) + "\n")
		}
		var e errorAnswer
		resp := s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(b.String()), &e)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || e.Error.Code != weft.ETOOLARGE {
			t.Fatalf("got %d %+v, want 413 too_large", resp.StatusCode, e)
		}
		if got := s.alertCount(t); got != 0 {
			t.Fatalf("store holds %d alerts, want 0", got)
		}
	})

	t.Run("ErrBodyBrokenOff", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		// The client's body fails after a good record: nothing is stored.
		body := io.MultiReader(strings.NewReader(nativeAlert("cut-1")+"\n"), &failingReader{})
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/alerts", body)
		req.Header.Set("Content-Type", "application/x-ndjson")
		if resp, err := s.Client().Do(req); err == nil {
			resp.Body.Close()
		}
		if got := s.alertCount(t); got != 0 {
			t.Fatalf("store holds %d alerts after a broken body, want 0", got)
		}
	})
}

// failingReader fails, as a client that goes away mid-body.
type failingReader struct{}

func (*failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
