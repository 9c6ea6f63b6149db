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
	keys [][]byte
	// macs holds, per key, HMAC-SHA256 states keyed with it (*macState),
	// reset and used again rather than set up for every request.
	macs []*sync.Pool
	// Options are the verifier's settings.
	Options Options
}

// macState is an HMAC-SHA256 keyed with one secret, with room for its
// sum, so that a check costs no allocation.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
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
	macs := make([]*sync.Pool, len(keys))
	for i, key := range keys {
		macs[i] = &sync.Pool{New: func() any { return &macState{h: hmac.New(sha256.New, key)} }}
	}
	return Keys{keys: keys, macs: macs, Options: o}, nil
}

// Len returns how many keys there are, for NoMatch.
func (k Keys) Len() int { return len(k.keys) }

// Match returns the index of the first key whose HMAC-SHA256 over the
// concatenation of parts is one of sigs, or -1 when none is. Each
// comparison takes constant time.
func (k Keys) Match(sigs [][sha256.Size]byte, parts ...[]byte) int {
	for i := range k.keys {
		s := k.macs[i].Get().(*macState)
		s.h.Reset()
		for _, p := range parts {
			s.h.Write(p)
		}
		s.h.Sum(s.sum[:0])
		found := false
		for _, sig := range sigs {
			if hmac.Equal(s.sum[:], sig[:]) {
				found = true
				break
			}
		}
		k.macs[i].Put(s)
		if found {
			return i
		}
	}
	return -1
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
