package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

// Keys are the HMAC-SHA256 keys of a scheme that signs with its secrets
// exactly as configured (Stripe, GitHub, Shopify, Slack), with the
// verifier's options. The zero value holds no key and matches nothing.
type Keys struct {
	macs []MAC
	// Options are the verifier's settings.
	Options Options
}

// NewKeys checks secrets as RawSecrets does and resolves opts as
// NewOptions does.
func NewKeys(secrets []string, opts ...Opt) (Keys, error) {
	o, err := NewOptions(opts...)
	if err != nil {
		return Keys{}, err
	}
	keys, err := RawSecrets(secrets)
	if err != nil {
		return Keys{}, err
	}
	macs := make([]MAC, len(keys))
	for i, key := range keys {
		macs[i] = NewMAC(key)
	}
	return Keys{macs: macs, Options: o}, nil
}

// Len returns how many keys there are, for NoMatch.
func (k Keys) Len() int { return len(k.macs) }

// Match returns the index of the first key whose HMAC-SHA256 over the
// concatenation of parts is one of sigs, or -1 when none is. Each
// comparison takes constant time.
func (k Keys) Match(sigs [][sha256.Size]byte, parts ...[]byte) int {
	for i, m := range k.macs {
		sum := m.Sum(parts...)
		for _, sig := range sigs {
			if hmac.Equal(sum[:], sig[:]) {
				return i
			}
		}
	}
	return -1
}

// MAC is an HMAC-SHA256 key. Its keyed states are kept in a pool and
// reset for each message rather than set up anew (two SHA-256 states and
// the padded key each time). It is safe for concurrent use; the zero MAC
// is not usable.
type MAC struct{ pool *sync.Pool }

// macState is a keyed HMAC-SHA256 with room for its sum, so that a sum
// costs no allocation.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewMAC returns the MAC of key.
func NewMAC(key []byte) MAC {
	return MAC{pool: &sync.Pool{New: func() any { return &macState{h: hmac.New(sha256.New, key)} }}}
}

// Sum returns the HMAC-SHA256 of the concatenation of parts.
func (m MAC) Sum(parts ...[]byte) [sha256.Size]byte {
	s := m.pool.Get().(*macState)
	s.h.Reset()
	for _, p := range parts {
		s.h.Write(p)
	}
	s.h.Sum(s.sum[:0])
	sum := s.sum
	m.pool.Put(s)
	return sum
}

// HexSHA256 decodes a SHA-256 digest written as 64 hex digits, of either
// case; ok is false for anything else.
func HexSHA256(s string) (sum [sha256.Size]byte, ok bool) {
	if len(s) != hex.EncodedLen(sha256.Size) {
		return sum, false
	}
	_, err := hex.Decode(sum[:], []byte(s))
	return sum, err == nil
}
