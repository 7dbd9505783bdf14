package sqlite

import (
	"bytes"
	"strings"
	"testing"

	"github.com/weftxdr/weft/storetest"
)

func TestPackBlob(t *testing.T) {
	for name, v := range map[string][]byte{
		"Empty":          nil,
		"Small":          []byte(`{"a":1}`),
		"Compressible":   storetest.NewAlert(1).Raw,
		"Incompressible": bytes.Repeat([]byte{0x9c, 0x01, 0xfe, 0x37, 0x00, 0x55, 0xaa, 0x13}, 32)[:packMin+7],
		"Repetitive":     []byte(strings.Repeat(`{"x":"y"}`, 100)),
	} {
		t.Run(name, func(t *testing.T) {
			p := packBlob(v)
			if len(v) == 0 {
				if p != nil {
					t.Fatalf("got %q, want nil", p)
				}
				return
			}
			if len(p) > len(v)+1 {
				t.Fatalf("packed %d bytes into %d", len(v), len(p))
			}
			got, err := unpackBlob(blobFormatPacked, p)
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("got %q, %v, want %q", got, err, v)
			}
		})
	}
	t.Run("PlainFormatAsIs", func(t *testing.T) {
		v := []byte{packS2, 'x'} // a plain value that looks packed
		if got, err := unpackBlob(blobFormatPlain, v); err != nil || !bytes.Equal(got, v) {
			t.Fatalf("got %q, %v, want %q", got, err, v)
		}
	})
	for name, tc := range map[string]struct {
		format int64
		b      []byte
	}{
		"ErrUnknownFormat":  {7, []byte{packPlain, 'x'}},
		"ErrUnknownPacking": {blobFormatPacked, []byte{9, 'x'}},
		"ErrCorruptS2":      {blobFormatPacked, []byte{packS2, 0xff, 0xff, 0xff}},
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := unpackBlob(tc.format, tc.b); err == nil {
				t.Fatalf("got %q, want an error", got)
			}
		})
	}
}

// FuzzUnpackBlob checks that packing round-trips and that unpacking any stored
// bytes fails cleanly rather than panicking.
func FuzzUnpackBlob(f *testing.F) {
	f.Add([]byte(storetest.NewAlert(0).Raw))
	f.Add([]byte{packS2, 0x05, 0x10, 'h', 'e', 'l', 'l', 'o'})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := unpackBlob(blobFormatPacked, packBlob(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip: got %q, %v, want %q", got, err, b)
		}
		_, _ = unpackBlob(blobFormatPacked, b)
	})
}
