package webhook

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// forbidden lists the prefixes a destination may not reach unless it is
// allowed into private networks, besides what netip classifies as
// loopback, private, link-local, multicast or unspecified.
var forbidden = [...]netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (and some cloud metadata)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64, which may reach private IPv4
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/32"),       // Teredo, whose embedded IPv4 is obfuscated
	netip.MustParsePrefix("2001:2::/48"),     // benchmarking
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// IPv6 prefixes whose addresses embed an IPv4 address, which is judged
// instead: the well-known NAT64 prefix in the last 32 bits, 6to4 in the
// 32 bits after the prefix.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Forbidden reports whether addr is one a destination may not reach
// unless it is allowed into private networks, and names the reason. An
// IPv6 zone is no part of the judgement: the address is judged without
// it (a prefix contains no zoned address, and the kernel connects to a
// global address whatever its zone).
func Forbidden(addr netip.Addr) (bool, string) {
	addr = addr.WithZone("").Unmap()
	switch b := addr.As16(); {
	case !addr.Is6():
	case nat64.Contains(addr):
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case sixToFour.Contains(addr):
		addr = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	switch {
	case !addr.IsValid():
		return true, "invalid"
	case addr.IsUnspecified():
		return true, "unspecified"
	case addr.IsLoopback():
		return true, "loopback"
	case addr.IsPrivate():
		return true, "private"
	case addr.IsLinkLocalUnicast():
		return true, "link-local"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return true, "multicast"
	}
	for _, p := range forbidden {
		if p.Contains(addr) {
			return true, "reserved"
		}
	}
	return false, ""
}

// control is the dialer's Control function: it runs after name resolution
// on the address about to be connected to, so no answer of a resolver,
// however late it changes, reaches a forbidden address.
func control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read address %q", ErrForbiddenAddress, address)
	}
	if bad, why := Forbidden(ap.Addr()); bad {
		return fmt.Errorf("%w: %s is %s (set allow_private_network for a destination on a private network)", ErrForbiddenAddress, ap.Addr(), why)
	}
	return nil
}

// guardedDialer returns a dialer that refuses forbidden addresses, or a
// plain one when private networks are allowed.
func guardedDialer(allowPrivate bool, resolver *net.Resolver) *net.Dialer {
	d := &net.Dialer{Resolver: resolver}
	if !allowPrivate {
		d.Control = control
	}
	return d
}
