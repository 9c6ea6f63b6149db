package standardwebhooks

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Key prefixes of the specification.
const (
	// SecretPrefix starts a symmetric (v1, HMAC-SHA256) secret.
	SecretPrefix = "whsec_"
	// SecretKeyPrefix starts an Ed25519 secret key (v1a), for signing.
	SecretKeyPrefix = "whsk_"
	// PublicKeyPrefix starts an Ed25519 public key (v1a), for verifying.
	PublicKeyPrefix = "whpk_"
)

// SecretBytes is the length of the secrets GenerateSecret makes: 32
// random bytes, within the specification's 24 to 64.
const SecretBytes = 32

// maxSecretBytes bounds a decoded symmetric secret: the specification's
// 512 bits.
const maxSecretBytes = 64

// keyKind is what a configured key can do.
type keyKind int

const (
	symmetric keyKind = iota // v1: signs and verifies
	publicKey                // v1a: verifies only
	secretKey                // v1a: signs, and verifies with its public half
)

// key is one decoded configured secret.
type key struct {
	kind keyKind
	mac  signature.MAC      // symmetric
	pub  ed25519.PublicKey  // publicKey and secretKey
	priv ed25519.PrivateKey // secretKey
}

// newSymmetric returns the symmetric key of secret b.
func newSymmetric(b []byte) key { return key{kind: symmetric, mac: signature.NewMAC(b)} }

// sum returns the HMAC-SHA256 of the signed content "{id}.{ts}.{body}"
// under symmetric key k, without copying the body into the content.
func (k *key) sum(id, ts string, body []byte) [sha256.Size]byte {
	head := make([]byte, 0, len(id)+len(ts)+2)
	head = append(append(append(append(head, id...), '.'), ts...), '.')
	return k.mac.Sum(head, body)
}

// decodeKey decodes the configured secret at index i. A secret without a
// prefix is taken as a symmetric secret's base64, as the specification's
// reference libraries do.
func decodeKey(i int, s string) (key, error) {
	switch {
	case strings.HasPrefix(s, PublicKeyPrefix):
		b, ok := decodeBase64(s[len(PublicKeyPrefix):])
		if !ok {
			return key{}, signature.BadSecret(i, "not base64 after the whpk_ prefix")
		}
		if len(b) != ed25519.PublicKeySize {
			return key{}, signature.BadSecret(i, fmt.Sprintf("a whpk_ public key must be %d bytes; got %d", ed25519.PublicKeySize, len(b)))
		}
		return key{kind: publicKey, pub: ed25519.PublicKey(b)}, nil
	case strings.HasPrefix(s, SecretKeyPrefix):
		b, ok := decodeBase64(s[len(SecretKeyPrefix):])
		if !ok {
			return key{}, signature.BadSecret(i, "not base64 after the whsk_ prefix")
		}
		var priv ed25519.PrivateKey
		switch len(b) {
		case ed25519.SeedSize:
			priv = ed25519.NewKeyFromSeed(b)
		case ed25519.PrivateKeySize:
			priv = ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
			if subtle.ConstantTimeCompare(priv[ed25519.SeedSize:], b[ed25519.SeedSize:]) != 1 {
				return key{}, signature.BadSecret(i, "the whsk_ key's public half does not belong to its seed")
			}
		default:
			return key{}, signature.BadSecret(i, fmt.Sprintf("a whsk_ secret key must be %d or %d bytes; got %d", ed25519.SeedSize, ed25519.PrivateKeySize, len(b)))
		}
		return key{kind: secretKey, priv: priv, pub: priv.Public().(ed25519.PublicKey)}, nil
	default:
		b, ok := decodeBase64(strings.TrimPrefix(s, SecretPrefix))
		if !ok {
			return key{}, signature.BadSecret(i, "not base64 after the whsec_ prefix")
		}
		if len(b) == 0 {
			return key{}, signature.BadSecret(i, "empty secret")
		}
		if len(b) > maxSecretBytes {
			return key{}, signature.BadSecret(i, fmt.Sprintf("a whsec_ secret must be at most %d bytes; got %d", maxSecretBytes, len(b)))
		}
		return newSymmetric(b), nil
	}
}

// decodeBase64 decodes standard base64, padded or not.
func decodeBase64(s string) ([]byte, bool) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	return nil, false
}

// GenerateSecret returns a new symmetric secret: "whsec_" and the base64
// of SecretBytes random bytes.
func GenerateSecret() (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("standardwebhooks: generate secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// GenerateKeyPair returns a new Ed25519 key pair for v1a signatures: the
// secret key ("whsk_" and the base64 of the 32-byte seed) that signs, and
// the public key ("whpk_" and the base64 of the 32-byte public key) that
// receivers verify with.
func GenerateKeyPair() (secret, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("standardwebhooks: generate key pair: %w", err)
	}
	return SecretKeyPrefix + base64.StdEncoding.EncodeToString(priv.Seed()),
		PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub), nil
}

// PublicKey returns the whpk_ public key of a whsk_ secret key, to hand to
// receivers.
func PublicKey(secret string) (string, error) {
	if !strings.HasPrefix(secret, SecretKeyPrefix) {
		return "", signature.BadSecret(0, "a public key is derived from a whsk_ secret key only")
	}
	k, err := decodeKey(0, secret)
	if err != nil {
		return "", err
	}
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(k.pub), nil
}
