// Package standardwebhooks signs and verifies webhooks the Standard
// Webhooks way (standardwebhooks.com, specification 1.0.0).
//
// A request carries three headers: webhook-id (the message id, the same
// across retries), webhook-timestamp (Unix seconds of the attempt) and
// webhook-signature, a space-separated list of "<version>,<base64>"
// entries. The signed content is "{id}.{timestamp}.{body}" over the raw
// body bytes. Version v1 is HMAC-SHA256 with a symmetric secret serialized
// as "whsec_" + base64; version v1a is Ed25519 with a key pair serialized
// as "whsk_" + base64 (the secret key, a 32-byte seed, or the 64-byte
// seed-and-public-key form) and "whpk_" + base64 (the 32-byte public key).
//
// Verifier accepts a request when any entry of a version it holds a key
// for matches any of its keys; entries of other versions are ignored, as
// the specification asks, so a sender can add signatures during a
// rotation. Signer is the sending side: it signs with every configured key
// and puts all the signatures in one header, so receivers that hold either
// the old or the new secret accept the message during a rotation.
// GenerateSecret and GenerateKeyPair make new keys.
package standardwebhooks

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

// Name is the scheme's name in configuration.
const Name = "standard-webhooks"

// The headers of the specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Signature versions.
const (
	// VersionSymmetric marks an HMAC-SHA256 signature.
	VersionSymmetric = "v1"
	// VersionAsymmetric marks an Ed25519 signature.
	VersionAsymmetric = "v1a"
)

// MaxSignatures is the most entries a webhook-signature header may carry;
// a longer list is refused as malformed, which bounds the Ed25519 work one
// request can ask for.
const MaxSignatures = 16

// Verifier checks Standard Webhooks signatures. It is safe for concurrent
// use.
type Verifier struct {
	keys []key
	opts signature.Options
}

var _ signature.Verifier = (*Verifier)(nil)

// New returns a verifier that accepts a request signed with any of
// secrets: whsec_ symmetric secrets (v1 signatures) and whpk_ public keys
// or whsk_ secret keys (v1a signatures), in any mix. A secret without a
// prefix is taken as a symmetric secret's base64. Options: Tolerance
// (default 5 minutes) and MaxBody (default 1 MiB).
func New(secrets []string, opts ...signature.Opt) (*Verifier, error) {
	o, err := signature.NewOptions(opts...)
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return nil, signature.NoSecrets()
	}
	v := &Verifier{opts: o, keys: make([]key, 0, len(secrets))}
	for i, s := range secrets {
		k, err := decodeKey(i, s)
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, k)
	}
	return v, nil
}

// Verify checks req: the three headers present, the timestamp within the
// tolerance of now, and one signature entry made with one of the
// verifier's keys over "{id}.{timestamp}.{body}". The result carries the
// webhook-id as DeliveryID and the body's top-level "type", when it is a
// JSON string, as EventType.
func (v *Verifier) Verify(req signature.Request, now time.Time) (signature.Result, error) {
	if err := signature.CheckBody(req.Body, v.opts.MaxBody); err != nil {
		return signature.Result{}, err
	}
	id, err := signature.Value(req.Header, HeaderID)
	if err != nil {
		return signature.Result{}, err
	}
	tsText, err := signature.Value(req.Header, HeaderTimestamp)
	if err != nil {
		return signature.Result{}, err
	}
	sigs, err := signature.Value(req.Header, HeaderSignature)
	if err != nil {
		return signature.Result{}, err
	}
	ts, err := signature.ParseUnix(HeaderTimestamp, tsText)
	if err != nil {
		return signature.Result{}, err
	}
	if err := signature.CheckTimestamp(HeaderTimestamp, ts, now, v.opts.Tolerance); err != nil {
		return signature.Result{}, err
	}
	idx, err := v.match(id, tsText, req.Body, sigs)
	if err != nil {
		return signature.Result{}, err
	}
	return signature.Result{
		Scheme:      Name,
		DeliveryID:  id,
		EventType:   eventType(req.Body),
		Timestamp:   ts,
		SecretIndex: idx,
	}, nil
}

// match returns the index of the first key, in configuration order, that
// made one of the entries of sigs. Entries of versions the verifier holds
// no key for are skipped. It refuses the header as malformed when no
// entry matched and none of a version the verifier checks was well
// formed; otherwise as not matching.
func (v *Verifier) match(id, ts string, body []byte, sigs string) (int, error) {
	var (
		entries   [MaxSignatures]parsed
		n         int    // entries seen
		good      int    // well-formed entries of a checked version
		malformed string // why the last bad entry was bad
	)
	for rest := sigs; rest != ""; {
		var entry string
		entry, rest, _ = strings.Cut(rest, " ")
		if entry == "" {
			continue
		}
		if n++; n > MaxSignatures {
			return 0, signature.Malformed(HeaderSignature, fmt.Sprintf("more than %d signatures", MaxSignatures))
		}
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version == "" {
			malformed = `an entry is not "<version>,<base64 signature>"`
			continue
		}
		e := &entries[good]
		switch version {
		case VersionSymmetric:
			if !v.has(symmetric) {
				continue
			}
			if !decodeSig(e.sig[:sha256.Size], sig) {
				malformed = "a v1 signature is not the base64 of 32 bytes"
				continue
			}
			e.kind = symmetric
		case VersionAsymmetric:
			if !v.has(publicKey) {
				continue
			}
			if !decodeSig(e.sig[:], sig) {
				malformed = "a v1a signature is not the base64 of 64 bytes"
				continue
			}
			e.kind = publicKey
		default:
			continue
		}
		good++
	}
	if good == 0 && malformed != "" {
		return 0, signature.Malformed(HeaderSignature, malformed)
	}
	var content []byte // for Ed25519, which verifies the whole content
	for i := range v.keys {
		k := &v.keys[i]
		var mac [sha256.Size]byte
		computed := false
		for j := range good {
			e := &entries[j]
			switch {
			case k.kind == symmetric && e.kind == symmetric:
				if !computed {
					mac, computed = k.sum(id, ts, body), true
				}
				if hmac.Equal(mac[:], e.sig[:sha256.Size]) {
					return i, nil
				}
			case k.kind != symmetric && e.kind == publicKey:
				if content == nil {
					content = signedContent(id, ts, body)
				}
				if ed25519.Verify(k.pub, content, e.sig[:]) {
					return i, nil
				}
			}
		}
	}
	return 0, signature.NoMatch(HeaderSignature, len(v.keys))
}

// parsed is a decoded signature entry: kind symmetric for v1 (the first
// 32 bytes of sig) or publicKey for v1a.
type parsed struct {
	kind keyKind
	sig  [ed25519.SignatureSize]byte
}

// has reports whether the verifier holds a key that checks the version of
// kind: symmetric for v1, publicKey (either Ed25519 kind) for v1a.
func (v *Verifier) has(kind keyKind) bool {
	for _, k := range v.keys {
		if k.kind == kind || (kind == publicKey && k.kind == secretKey) {
			return true
		}
	}
	return false
}

// decodeSig decodes the base64 signature s into dst, reporting whether s
// is the canonical padded base64 of exactly len(dst) bytes.
func decodeSig(dst []byte, s string) bool {
	if base64.StdEncoding.EncodedLen(len(dst)) != len(s) {
		return false
	}
	var buf [ed25519.SignatureSize + 3]byte // DecodedLen of the longest s
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(s))
	if err != nil || n != len(dst) {
		return false
	}
	copy(dst, buf[:n])
	return true
}

// signedContent is "{id}.{timestamp}.{body}".
func signedContent(id, ts string, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(ts)+2+len(body))
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, ts...)
	b = append(b, '.')
	return append(b, body...)
}

// eventType returns the body's top-level "type" when the body is a JSON
// object and it is a string, else "".
func eventType(body []byte) string {
	var p struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	return p.Type
}

// formatTimestamp is the header form of ts.
func formatTimestamp(ts time.Time) string { return strconv.FormatInt(ts.Unix(), 10) }
