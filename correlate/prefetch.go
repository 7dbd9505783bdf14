//go:build amd64 || arm64

package correlate

// prefetch asks the processor to bring the cache lines at addrs into its
// caches without waiting for them (x86 PREFETCHT0, arm64 PRFM PLDL1KEEP).
// A prefetch never faults, so an address that is stale or not mapped costs
// nothing but the instruction; the addresses are not dereferenced by Go.
//
//go:noescape
func prefetch(addrs []uintptr)
