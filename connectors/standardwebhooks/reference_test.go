package standardwebhooks_test

import (
	"net/http"
	"testing"
	"time"

	reference "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
)

// TestReferenceLibraryAgrees holds sluice to the specification's own Go
// library, as a receiver or a sender outside sluice would use it: what
// sluice's Signer sends (during a rotation, with a v1a signature beside
// the v1 ones) verifies with the library and each whsec_ secret, and
// what the library signs verifies with sluice's Verifier. A changed body
// fails both.
func TestReferenceLibraryAgrees(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret, sk, _ := rotationKeys(t)
	at := time.Now()
	body := []byte(`{"type":"contact.updated","envelope":{"tenant_id":"acme"},"data":{"id":"con_1","email":"ada@example.com"}}`)
	tampered := []byte(`{"type":"contact.updated","envelope":{"tenant_id":"acme"},"data":{"id":"con_2","email":"ada@example.com"}}`)

	s, err := standardwebhooks.NewSigner([]string{newSecret, oldSecret, sk})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", at, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"new": newSecret, "old": oldSecret} {
		wh, err := reference.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, signed.Header()); err != nil {
			t.Errorf("the reference library refuses sluice's signature with the %s secret: %v (header %q)", name, err, signed.Signature)
		}
		if err := wh.Verify(tampered, signed.Header()); err == nil {
			t.Errorf("the reference library accepts a changed body with the %s secret", name)
		}
	}

	wh, err := reference.NewWebhook(oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign("msg_reference_1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	header.Set(reference.HeaderWebhookID, "msg_reference_1")
	header.Set(reference.HeaderWebhookTimestamp, signed.Timestamp)
	header.Set(reference.HeaderWebhookSignature, sig)
	v, err := standardwebhooks.New([]string{newSecret, oldSecret})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(signature.Request{Header: header, Body: body}, at)
	if err != nil {
		t.Fatalf("sluice refuses the reference library's signature: %v", err)
	}
	if res.SecretIndex != 1 || res.DeliveryID != "msg_reference_1" {
		t.Errorf("verified with secret %d as delivery %q; want the old secret (1) and msg_reference_1", res.SecretIndex, res.DeliveryID)
	}
	if _, err := v.Verify(signature.Request{Header: header, Body: tampered}, at); err == nil {
		t.Errorf("sluice accepts a changed body under the reference library's signature")
	}
}
