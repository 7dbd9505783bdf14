// Why this dependency: github.com/klauspost/compress/s2 compresses an alert's
// large columns to about half in a few µs, and bytes written are what the
// single writer spends most of its time on.
package sqlite

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

// The large columns of an alert (additional_data, evidence and raw) are
// stored packed: compressed when that pays. Together they are about two
// thirds of an alert's row, and the writer's cost per alert, in page writes,
// write-ahead log and sync, grows with the bytes written; s2 halves typical
// alert JSON at about 1 GB/s, on the encoding goroutines, where zstd's
// fastest level saves a fifth more bytes for four times the CPU.
//
// alerts.blob_format (migration/0002_packed_blobs.sql) says how a row's large
// columns are stored:
//
//   - blobFormatPlain (0, rows written before migration 2): as the values
//     themselves, evidence as JSON TEXT, additional_data and raw as BLOBs;
//   - blobFormatPacked (1): each non-NULL value is a BLOB of one format
//     byte followed by the body: packPlain and the value as is (a value too
//     small or too random to gain from compression), or packS2 and an s2
//     block (s2.Encode) of the value.
//
// NULL stays NULL in both, so an empty value reads back as nil. Reading
// unpacks, so raw originals come back byte for byte; the content hash is
// computed over the unpacked values and so does not depend on the format.
// Packed evidence is no longer JSON text to SQLite's json functions, which
// the store does not apply to it.
const (
	blobFormatPlain  = 0
	blobFormatPacked = 1
)

// The format byte of a packed value.
const (
	packPlain byte = 0
	packS2    byte = 1
)

// packMin is the smallest value that packBlob tries to compress: below it the
// saving is a few bytes at best.
const packMin = 128

// packBlob returns b packed (see blobFormatPacked), nil when b is empty.
// The result is newly allocated.
func packBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if len(b) >= packMin {
		out := make([]byte, 1+s2.MaxEncodedLen(len(b)))
		out[0] = packS2
		if c := s2.Encode(out[1:], b); len(c) < len(b) {
			return out[:1+len(c)]
		}
	}
	out := make([]byte, 1+len(b))
	out[0] = packPlain
	copy(out[1:], b)
	return out
}

// unpackBlob returns the value of a column stored in format, nil when it is
// NULL. The result may share memory with b.
func unpackBlob(format int64, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	switch format {
	case blobFormatPlain:
		return b, nil
	case blobFormatPacked:
	default:
		return nil, fmt.Errorf("unknown blob format %d", format)
	}
	switch b[0] {
	case packPlain:
		return b[1:], nil
	case packS2:
		v, err := s2.Decode(nil, b[1:])
		if err != nil {
			return nil, fmt.Errorf("unpack: %w", err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("unknown packing %d", b[0])
}
