package automation

import (
	"net/netip"
	"testing"
)

// TestPublicAddr: the webhook address check refuses every range that does
// not lead to the public Internet, including IPv4 addresses wrapped in
// IPv6 (mapped, NAT64, 6to4), and accepts public addresses, wrapped or not.
func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"2606:4700:4700::1111", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true},  // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},   // 6to4 of 8.8.8.8
		{"198.17.255.255", true},    // just below benchmarking
		{"198.20.0.0", true},        // just above it
		{"100.63.255.255", true},    // just below CGNAT
		{"127.0.0.1", false},        // loopback
		{"10.1.2.3", false},         // private
		{"172.16.0.1", false},       // private
		{"192.168.1.1", false},      // private
		{"169.254.169.254", false},  // link-local, cloud metadata
		{"0.0.0.0", false},          // unspecified
		{"0.1.2.3", false},          // "this network"
		{"100.64.0.1", false},       // CGNAT
		{"100.127.255.254", false},  // CGNAT
		{"198.18.0.1", false},       // benchmarking
		{"198.19.255.255", false},   // benchmarking
		{"192.0.0.8", false},        // IETF protocol assignments
		{"192.0.2.1", false},        // documentation
		{"203.0.113.5", false},      // documentation
		{"224.0.0.1", false},        // multicast
		{"239.255.255.250", false},  // multicast (SSDP)
		{"255.255.255.255", false},  // broadcast
		{"240.0.0.1", false},        // reserved
		{"::", false},               // unspecified
		{"::1", false},              // loopback
		{"::ffff:127.0.0.1", false}, // IPv4-mapped loopback
		{"::ffff:10.0.0.1", false},  // IPv4-mapped private
		{"::ffff:169.254.169.254", false},
		{"::127.0.0.1", false},                          // IPv4-compatible (deprecated)
		{"64:ff9b::7f00:1", false},                      // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false},                   // NAT64 of 169.254.169.254
		{"64:ff9b::a00:1", false},                       // NAT64 of 10.0.0.1
		{"64:ff9b:1::808:808", false},                   // local-use NAT64
		{"2002:7f00:1::1", false},                       // 6to4 of 127.0.0.1
		{"2002:a9fe:a9fe::1", false},                    // 6to4 of 169.254.169.254
		{"2002:c0a8:101::1", false},                     // 6to4 of 192.168.1.1
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo
		{"2001:db8::1", false},                          // documentation
		{"2001:2::1", false},                            // benchmarking
		{"100::1", false},                               // discard
		{"fc00::1", false},                              // unique local
		{"fd12:3456::1", false},                         // unique local
		{"fe80::1", false},                              // link-local
		{"fec0::1", false},                              // site-local
		{"ff02::1", false},                              // multicast
		{"ff01::1", false},                              // interface-local multicast
	} {
		ip := netip.MustParseAddr(tc.addr)
		if got := publicAddr(ip); got != tc.public {
			t.Errorf("publicAddr(%s) = %v; want %v", tc.addr, got, tc.public)
		}
	}
}
