package eval

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/weftxdr/weft"
)

func TestReadPartition(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Partition
	}{
		{"WithHeader", "alertId,incidentKey\na1,atk-0000\na2,noise-1\n", Partition{"a1": "atk-0000", "a2": "noise-1"}},
		{"WithoutHeader", "a1,atk-0000\na2,noise-1", Partition{"a1": "atk-0000", "a2": "noise-1"}},
		{"OtherHeaderCase", "ALERTID,incidentId\na1,7\n", Partition{"a1": "7"}},
		{"BlankLinesSkipped", "\nalertId,incidentKey\n\na1,x\n   \n\na2,x\n\n", Partition{"a1": "x", "a2": "x"}},
		{"CRLFAndBOMAndSpaces", "\uFEFFalertId,incidentKey\r\n a1 , x \r\n", Partition{"a1": "x"}},
		{"QuotedFields", "\"a,1\",\"inc \"\"A\"\"\"\n", Partition{"a,1": `inc "A"`}},
		{"OnlyFirstLineIsHeader", "alertId,incidentKey\nalertId,incidentKey\n", Partition{"alertId": "incidentKey"}},
		{"Empty", "", Partition{}},
		{"HeaderOnly", "alertId,incidentKey\n", Partition{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadPartition(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadPartition: %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadPartitionErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ErrTooFewFields", "alertId,incidentKey\na1,x\n\na2\n", "line 4: has 1 fields; want 2 (alertId,incidentKey)"},
		{"ErrTooManyFields", "a1,x,y\n", "line 1: has 3 fields; want 2 (alertId,incidentKey)"},
		{"ErrEmptyAlertID", "a1,x\n ,y\n", "line 2: the alert id is empty"},
		{"ErrEmptyKey", "alertId,incidentKey\na1,\n", `line 2: the incident key of alert "a1" is empty`},
		{"ErrRepeatedAlert", "a1,x\na2,x\na1,x\n", `line 3: alert "a1" is listed a second time`},
		{"ErrBadQuote", "a1,x\na\"2,x\n", `line 2: bare " in non-quoted-field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ReadPartition(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("got %v, nil; want error %q", p, tt.want)
			}
			if code := weft.ErrorCode(err); code != weft.EINVALID {
				t.Errorf("code %q, want %q", code, weft.EINVALID)
			}
			if got := weft.ErrorMessage(err); got != tt.want {
				t.Errorf("message %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadPartitionWrapsReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := ReadPartition(iotest.ErrReader(boom))
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want it to wrap %v", err, boom)
	}
	if code := weft.ErrorCode(err); code != weft.EINTERNAL {
		t.Errorf("code %q, want %q", code, weft.EINTERNAL)
	}
}

func TestWritePartitionRoundTrips(t *testing.T) {
	p := Partition{"b2": "inc-1", "a1": "inc-1", "c,3": `odd "key"`, "d4": "inc-2"}
	var buf bytes.Buffer
	if err := WritePartition(&buf, p); err != nil {
		t.Fatal(err)
	}
	want := "alertId,incidentKey\na1,inc-1\nb2,inc-1\n\"c,3\",\"odd \"\"key\"\"\"\nd4,inc-2\n"
	if got := buf.String(); got != want {
		t.Errorf("wrote\n%s\nwant\n%s", got, want)
	}
	back, err := ReadPartition(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(back, p) {
		t.Errorf("read back %v, want %v", back, p)
	}
}

func TestWritePartitionReturnsWriteError(t *testing.T) {
	err := WritePartition(failWriter{}, Partition{"a": "b"})
	if err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("got %v, want the write error", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space") }

func TestWriteTable(t *testing.T) {
	rows := []NamedScores{
		{"singletons", Score(part("a b|c"), part("a|b|c"))},
		{"perfect", Score(part("a b|c"), part("a b|c"))},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rows); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	t.Log("\n" + got)
	for _, want := range []string{
		"metric               singletons  perfect\n",
		"items                         3        3\n",
		"pair recall              0.0000   1.0000\n",
		"B-cubed F1               0.8000   1.0000\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}
