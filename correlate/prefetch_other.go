//go:build !amd64 && !arm64

package correlate

// prefetch does nothing where weft has no prefetch instruction for the
// architecture: the read-ahead then only costs its bookkeeping.
func prefetch(addrs []uintptr) {}
