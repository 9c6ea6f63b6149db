package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Keys are the HMAC-SHA256 keys of a scheme that signs with its secrets
// exactly as configured (Stripe, GitHub, Shopify, Slack), with the
// verifier's options. The zero value holds no key and matches nothing.
type Keys struct {
	keys [][]byte
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
	return Keys{keys: keys, Options: o}, nil
}

// Len returns how many keys there are, for NoMatch.
func (k Keys) Len() int { return len(k.keys) }

// Match returns the index of the first key whose HMAC-SHA256 over the
// concatenation of parts is one of sigs, or -1 when none is. Each
// comparison takes constant time.
func (k Keys) Match(sigs [][sha256.Size]byte, parts ...[]byte) int {
	for i, key := range k.keys {
		m := hmac.New(sha256.New, key)
		for _, p := range parts {
			m.Write(p)
		}
		sum := m.Sum(nil)
		for _, sig := range sigs {
			if hmac.Equal(sum, sig[:]) {
				return i
			}
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
