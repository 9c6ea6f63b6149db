package standardwebhooks_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/signaturetest"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
)

// The vectors of the specification's reference libraries.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorSecretKey = "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorV1        = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	vectorV1a       = "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
)

const testID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"

// testBytes returns n deterministic bytes for test key i.
func testBytes(i, n int) []byte {
	sum := sha256.Sum256(fmt.Appendf(nil, "sluice standard webhooks test key %d", i))
	return sum[:n]
}

func symmetricSecret(i int) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(testBytes(i, 24))
}

func seed(i int) []byte { return testBytes(1000+i, ed25519.SeedSize) }

func publicKey(i int) string {
	pub := ed25519.NewKeyFromSeed(seed(i)).Public().(ed25519.PublicKey)
	return "whpk_" + base64.StdEncoding.EncodeToString(pub)
}

// signEntry signs content with one configured test secret, independently
// of the package: HMAC-SHA256 for whsec_, Ed25519 for the whpk_ public
// keys of the test seeds.
func signEntry(t testing.TB, secret string, content []byte) string {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			t.Fatalf("test secret: %v", err)
		}
		m := hmac.New(sha256.New, key)
		m.Write(content)
		return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	for i := range 16 {
		if publicKey(i) == secret {
			return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seed(i)), content))
		}
	}
	t.Fatalf("no test signing key for a configured secret")
	return ""
}

func scheme(t testing.TB, secret func(int) string, malformed ...map[string]string) signaturetest.Scheme {
	zero32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	s := signaturetest.Scheme{
		Name: standardwebhooks.Name,
		New: func(secrets []string, opts ...signature.Opt) (signature.Verifier, error) {
			return standardwebhooks.New(secrets, opts...)
		},
		Secret: secret,
		Sign: func(secrets []string, ts time.Time, body []byte) http.Header {
			content := fmt.Appendf(nil, "%s.%d.%s", testID, ts.Unix(), body)
			entries := make([]string, len(secrets))
			for i, s := range secrets {
				entries[i] = signEntry(t, s, content)
			}
			h := http.Header{}
			h.Set("webhook-id", testID)
			h.Set("webhook-timestamp", fmt.Sprint(ts.Unix()))
			h.Set("webhook-signature", strings.Join(entries, " "))
			return h
		},
		SignatureHeader: "webhook-signature",
		Required:        []string{"webhook-id", "webhook-timestamp", "webhook-signature"},
		Signed:          []string{"webhook-id", "webhook-timestamp"},
		TimestampHeader: "webhook-timestamp",
		HasTimestamp:    true,
		MultiSignature:  true,
		Malformed: map[string]string{
			"no comma":         "v1" + zero32,
			"empty version":    "," + zero32,
			"too many entries": strings.Repeat("v1,"+zero32+" ", standardwebhooks.MaxSignatures+1),
		},
		BadSecrets: map[string]string{
			"not base64":               "whsec_!!!!",
			"longer than 64 bytes":     "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)),
			"empty after the prefix":   "whsec_",
			"short public key":         "whpk_" + base64.StdEncoding.EncodeToString(make([]byte, 31)),
			"public key not base64":    "whpk_????",
			"secret key of 40 bytes":   "whsk_" + base64.StdEncoding.EncodeToString(make([]byte, 40)),
			"secret key halves differ": "whsk_" + base64.StdEncoding.EncodeToString(make([]byte, 64)),
		},
		DeliveryID: testID,
		EventType:  "contact.created",
	}
	for _, m := range malformed {
		for name, value := range m {
			s.Malformed[name] = value
		}
	}
	return s
}

// Malformed values of the entries each kind of key checks; entries of a
// version the verifier holds no key for are ignored, not malformed.
func symmetricMalformed() map[string]string {
	return map[string]string{
		"empty v1":            "v1,",
		"bad base64":          "v1,!!!!not+base64!!!!",
		"unpadded base64":     "v1," + strings.TrimRight(b64(32), "="),
		"short v1":            "v1," + b64(16),
		"long v1":             "v1," + b64(33),
		"url-safe base64":     "v1,____________________________________________",
		"comma-separated v1s": "v1," + b64(32) + ",v1," + b64(32),
	}
}

func asymmetricMalformed() map[string]string {
	return map[string]string{
		"empty v1a":       "v1a,",
		"short v1a":       "v1a," + b64(32),
		"long v1a":        "v1a," + b64(65),
		"v1a of 63 bytes": "v1a," + b64(63),
		"v1a bad base64":  "v1a," + strings.Repeat("!", 88),
	}
}

// b64 is the base64 of n zero bytes.
func b64(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

func TestConformance(t *testing.T) {
	t.Run("symmetric", func(t *testing.T) { signaturetest.Run(t, scheme(t, symmetricSecret, symmetricMalformed())) })
	t.Run("asymmetric", func(t *testing.T) { signaturetest.Run(t, scheme(t, publicKey, asymmetricMalformed())) })
	t.Run("mixed", func(t *testing.T) {
		signaturetest.Run(t, scheme(t, func(i int) string {
			if i%2 == 0 {
				return symmetricSecret(i)
			}
			return publicKey(i)
		}, symmetricMalformed()))
	})
}

func FuzzVerify(f *testing.F) {
	signaturetest.Fuzz(f, scheme(f, func(i int) string {
		if i%2 == 0 {
			return symmetricSecret(i)
		}
		return publicKey(i)
	}))
}

func BenchmarkVerify(b *testing.B) {
	b.Run("v1", func(b *testing.B) { signaturetest.Benchmark(b, scheme(b, symmetricSecret)) })
	b.Run("v1a", func(b *testing.B) { signaturetest.Benchmark(b, scheme(b, publicKey)) })
}

func vectorHeader(sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", vectorID)
	h.Set("webhook-timestamp", fmt.Sprint(vectorTimestamp))
	h.Set("webhook-signature", sig)
	return h
}

// TestPublishedVectors checks the signer and the verifier against the
// vectors of the specification's reference libraries.
func TestPublishedVectors(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	pub, err := standardwebhooks.PublicKey(vectorSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		secret string // signs
		verify string // verifies
		want   string
	}{
		{"v1", vectorSecret, vectorSecret, vectorV1},
		{"v1 without the prefix", strings.TrimPrefix(vectorSecret, "whsec_"), vectorSecret, vectorV1},
		{"v1a", vectorSecretKey, pub, vectorV1a},
		{"v1a verified with the secret key", vectorSecretKey, vectorSecretKey, vectorV1a},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			s, err := standardwebhooks.NewSigner([]string{tt.secret})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Sign(vectorID, at, []byte(vectorBody))
			if err != nil {
				t.Fatal(err)
			}
			if got.Signature != tt.want || got.ID != vectorID || got.Timestamp != fmt.Sprint(vectorTimestamp) {
				t.Errorf("Sign = %+v; want signature %s", got, tt.want)
			}
			v, err := standardwebhooks.New([]string{tt.verify})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(signature.Request{Header: vectorHeader(tt.want), Body: []byte(vectorBody)}, at.Add(4*time.Minute))
			if err != nil {
				t.Fatalf("published vector refused: %v", err)
			}
			if res.DeliveryID != vectorID || !res.Timestamp.Equal(at) {
				t.Errorf("Result = %+v", res)
			}
			_, err = v.Verify(signature.Request{Header: vectorHeader(tt.want), Body: []byte(vectorBody + " ")}, at)
			if !errors.Is(err, signature.ErrNoMatch) {
				t.Errorf("tampered vector body: %v; want ErrNoMatch", err)
			}
		})
	}
}

// TestSignerRotation signs with every configured key and each receiver,
// holding any one of them, accepts.
// rotationKeys returns what a sender holds during a secret rotation: the
// old and the new whsec_ secret, and a whsk_ secret key with its whpk_
// public key.
func rotationKeys(t *testing.T) (oldSecret, newSecret, sk, pk string) {
	t.Helper()
	oldSecret, err := standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	newSecret, err = standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	sk, pk, err = standardwebhooks.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return oldSecret, newSecret, sk, pk
}

func TestSignerRotation(t *testing.T) {
	oldSecret, newSecret, sk, pk := rotationKeys(t)
	s, err := standardwebhooks.NewSigner([]string{newSecret, oldSecret, sk})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1767225600, 0)
	body := []byte(`{"type":"order.paid","data":{"id":"o_1"}}`)
	signed, err := s.Sign("evt_42", at, body)
	if err != nil {
		t.Fatal(err)
	}
	entries := strings.Split(signed.Signature, " ")
	if len(entries) != 3 || !strings.HasPrefix(entries[0], "v1,") || !strings.HasPrefix(entries[1], "v1,") || !strings.HasPrefix(entries[2], "v1a,") {
		t.Fatalf("signature header %q; want two v1 and one v1a entries in key order", signed.Signature)
	}
	content := []byte("evt_42.1767225600." + string(body))
	for i, sec := range []string{newSecret, oldSecret} {
		if want := signEntry(t, sec, content); entries[i] != want {
			t.Errorf("entry %d = %s; an independent HMAC gives %s", i, entries[i], want)
		}
	}
	for _, tt := range []struct {
		name    string
		secrets []string
		index   int
	}{
		{"receiver with the new secret", []string{newSecret}, 0},
		{"receiver with the old secret", []string{oldSecret}, 0},
		{"receiver with the public key", []string{pk}, 0},
		{"receiver with an unrelated secret and the public key", []string{symmetricSecret(9), pk}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := standardwebhooks.New(tt.secrets)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(signature.Request{Header: signed.Header(), Body: body}, at)
			if err != nil {
				t.Fatal(err)
			}
			if res.SecretIndex != tt.index || res.DeliveryID != "evt_42" || res.EventType != "order.paid" {
				t.Errorf("Result = %+v", res)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	at := time.Unix(1767225600, 0)
	body := []byte(`{}`)
	content := fmt.Appendf(nil, "%s.%d.%s", testID, at.Unix(), body)
	v1 := signEntry(t, symmetricSecret(0), content)
	v1a := signEntry(t, publicKey(1), content)
	_, sig, _ := strings.Cut(v1, ",")
	cases := []struct {
		name    string
		secrets []string
		header  string
		want    error
	}{
		{"unknown versions only", []string{symmetricSecret(0)}, "v2," + sig + " v1b," + sig, signature.ErrNoMatch},
		{"unknown version before a match", []string{symmetricSecret(0)}, "v2,whatever " + v1, nil},
		{"a v1 signature under the v1a version", []string{publicKey(1)}, "v1a," + sig, signature.ErrMalformedHeader},
		{"v1a only, symmetric verifier", []string{symmetricSecret(0)}, v1a, signature.ErrNoMatch},
		{"v1 only, asymmetric verifier", []string{publicKey(1)}, v1, signature.ErrNoMatch},
		{"a malformed entry before a match", []string{symmetricSecret(0)}, "v1,bad " + v1, nil},
		{"a malformed entry after a mismatch", []string{symmetricSecret(2)}, v1 + " v1,bad", signature.ErrNoMatch},
		{"extra spaces", []string{symmetricSecret(0)}, "   " + v1 + "    " + v1a + "  ", nil},
		{"version case matters", []string{symmetricSecret(0)}, "V1," + sig, signature.ErrNoMatch},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			v, err := standardwebhooks.New(tt.secrets)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set("webhook-id", testID)
			h.Set("webhook-timestamp", fmt.Sprint(at.Unix()))
			h.Set("webhook-signature", tt.header)
			_, err = v.Verify(signature.Request{Header: h, Body: body}, at)
			if tt.want == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v; want %v", err, tt.want)
			}
		})
	}
}

func TestSignerRefuses(t *testing.T) {
	s, err := standardwebhooks.NewSigner([]string{symmetricSecret(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, id string }{
		{"empty", ""},
		{"full stop", "evt.1"},
		{"space", "evt 1"},
		{"newline", "evt\r\nX-Injected: 1"},
		{"non-ASCII", "évt"},
		{"too long", strings.Repeat("a", standardwebhooks.MaxIDBytes+1)},
	} {
		t.Run("id "+tt.name, func(t *testing.T) {
			if _, err := s.Sign(tt.id, time.Unix(1767225600, 0), nil); !errors.Is(err, standardwebhooks.ErrBadID) {
				t.Fatalf("error %v; want ErrBadID", err)
			}
		})
	}
	t.Run("timestamp before 1970", func(t *testing.T) {
		if _, err := s.Sign("evt_1", time.Unix(-1, 0), nil); err == nil {
			t.Fatal("signed a timestamp before 1970")
		}
	})
	for _, tt := range []struct {
		name    string
		secrets []string
	}{
		{"no secrets", nil},
		{"a public key", []string{symmetricSecret(0), publicKey(0)}},
		{"bad base64", []string{"whsec_%%%"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := standardwebhooks.NewSigner(tt.secrets)
			if !errors.Is(err, signature.ErrBadSecret) {
				t.Fatalf("error %v; want ErrBadSecret", err)
			}
			signaturetest.CheckNoLeak(t, err, signature.Request{}, tt.secrets)
		})
	}
}

func TestKeys(t *testing.T) {
	a, err := standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := standardwebhooks.GenerateSecret()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if !strings.HasPrefix(a, "whsec_") || err != nil || len(raw) != standardwebhooks.SecretBytes || a == b {
		t.Errorf("GenerateSecret = %d bytes, prefix %v, distinct %v", len(raw), strings.HasPrefix(a, "whsec_"), a != b)
	}
	sk, pk, err := standardwebhooks.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := standardwebhooks.PublicKey(sk); err != nil || got != pk {
		t.Errorf("PublicKey(secret key) = %q, %v; want the generated public key", got, err)
	}
	if _, err := standardwebhooks.PublicKey(a); !errors.Is(err, signature.ErrBadSecret) {
		t.Errorf("PublicKey(whsec_) error %v; want ErrBadSecret", err)
	}

	// The 64-byte form of a secret key (seed then public key) signs like
	// its seed.
	seedBytes, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sk, "whsk_"))
	full := "whsk_" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seedBytes))
	at := time.Unix(1767225600, 0)
	s1, err := standardwebhooks.NewSigner([]string{sk})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := standardwebhooks.NewSigner([]string{full})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := s1.Sign("evt_1", at, []byte("{}"))
	y, _ := s2.Sign("evt_1", at, []byte("{}"))
	if x != y {
		t.Errorf("the 64-byte secret key signs differently from its seed")
	}

	// Unpadded base64 secrets are read like padded ones.
	unpadded := "whsec_" + base64.RawStdEncoding.EncodeToString(testBytes(0, 25))
	padded := "whsec_" + base64.StdEncoding.EncodeToString(testBytes(0, 25))
	p1, err := standardwebhooks.NewSigner([]string{unpadded})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := standardwebhooks.NewSigner([]string{padded})
	x, _ = p1.Sign("evt_1", at, nil)
	y, _ = p2.Sign("evt_1", at, nil)
	if x != y {
		t.Errorf("an unpadded secret signs differently from the padded one")
	}
}

func TestSignedHeader(t *testing.T) {
	s, err := standardwebhooks.NewSigner([]string{symmetricSecret(0)})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign("evt_9", time.Unix(1767225600, 0), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Webhook-Id": {"stale", "values"}}
	signed.Set(h)
	h.Add("webhook-id", "added") // must not write over the timestamp
	if got := h.Values("webhook-id"); len(got) != 2 || got[0] != "evt_9" {
		t.Errorf("webhook-id values = %q; want the id, replacing what was there, then the added one", got)
	}
	for name, want := range map[string]string{
		"webhook-id":        "evt_9",
		"webhook-timestamp": "1767225600",
		"webhook-signature": signed.Signature,
		"Content-Type":      "application/json",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q; want %q", name, got, want)
		}
	}
	if got := signed.Header(); len(got) != 3 || got.Get("webhook-signature") != signed.Signature {
		t.Errorf("Header() = %v", got)
	}
}
