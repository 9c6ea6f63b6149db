package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/connectors/github"
	"github.com/sluicehq/sluice/connectors/shopify"
	"github.com/sluicehq/sluice/connectors/slack"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/connectors/stripe"
	"github.com/sluicehq/sluice/internal/config"
)

// sendFlags configure sluice send.
type sendFlags struct {
	tenant      string
	integration string
	url         string
	id          string
	eventType   string
	batch       bool
	timeout     time.Duration
}

func newSendCmd(g *globals) *cobra.Command {
	f := &sendFlags{}
	cmd := &cobra.Command{
		Use:   "send FILE",
		Short: "Sign an event file the way the integration's partner does and send it to the webhook ingress",
		Long: `send reads FILE, signs it with the integration's scheme and its first
secret from the catalog, exactly as the partner would, and POSTs it to the
webhook ingress; it prints the status and the answer. A .ndjson file, or
--batch, goes to the batch route.

Every scheme is signed: standard-webhooks (whsec_ and whsk_ secrets),
stripe, github, shopify, slack and the configured hmac. The delivery id is
--id, or a new random one, so sending the same file twice writes it twice;
send it with the same --id to see the second answered as a duplicate.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSend(cmd.Context(), g, f, args[0], cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.tenant, "tenant", "", "tenant id (required)")
	fl.StringVar(&f.integration, "integration", "", "integration id (required)")
	fl.StringVar(&f.url, "url", envOr(g.getenv, "SLUICE_INGRESS_URL", "http://127.0.0.1:8080"), "base URL of the webhook ingress (env SLUICE_INGRESS_URL)")
	fl.StringVar(&f.id, "id", "", "delivery id (default: a new random msg_ id)")
	fl.StringVar(&f.eventType, "event-type", "", "event type, for schemes that send it in a header (github, shopify, or a contract's event_type header)")
	fl.BoolVar(&f.batch, "batch", false, "send to the batch route (default for .ndjson files)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the answer")
	_ = cmd.MarkFlagRequired("tenant")
	_ = cmd.MarkFlagRequired("integration")
	return cmd
}

func runSend(ctx context.Context, g *globals, f *sendFlags, file string, out io.Writer) error {
	catalog, err := g.catalog()
	if err != nil {
		return err
	}
	in, ok := catalog.Integration(f.integration)
	if !ok {
		return fmt.Errorf("send: no integration %q in %s", f.integration, g.config)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	id := f.id
	if id == "" {
		id = newDeliveryID()
	}
	h, err := signFor(in, id, time.Now(), body, f.eventType)
	if err != nil {
		return err
	}
	batch := f.batch || filepath.Ext(file) == ".ndjson"
	url := webhookURL(f.url, f.tenant, in.ID, batch)
	h.Set("Content-Type", "application/json")
	if batch && filepath.Ext(file) == ".ndjson" {
		h.Set("Content-Type", "application/x-ndjson")
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("send: reading the answer: %w", err)
	}
	fmt.Fprintf(out, "POST %s (delivery id %s)\n%s\n%s", url, id, resp.Status, answer)
	if len(answer) > 0 && answer[len(answer)-1] != '\n' {
		fmt.Fprintln(out)
	}
	if resp.StatusCode >= 300 {
		return exitCode(1)
	}
	return nil
}

// webhookURL is the ingress route of tenant and integration.
func webhookURL(base, tenant, integration string, batch bool) string {
	u := strings.TrimRight(base, "/") + "/v1/webhooks/" + tenant + "/" + integration
	if batch {
		u += "/batch"
	}
	return u
}

// newDeliveryID returns "msg_" and 16 random hex digits: an id every
// scheme takes as it is.
func newDeliveryID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "msg_" + hex.EncodeToString(b[:])
}

// signFor signs body for the integration with its first secret, as
// delivery id at time now, and returns the headers the partner would
// send. eventType goes into the header of schemes that send it in one
// (and of a contract's event_type header); the delivery id likewise into a
// contract's event_id header.
func signFor(in *config.Integration, id string, now time.Time, body []byte, eventType string) (http.Header, error) {
	if in.Signature == nil {
		return nil, fmt.Errorf("send: integration %s has no signature: it takes no webhooks", in.ID)
	}
	if len(in.Signature.Secrets) == 0 {
		return nil, fmt.Errorf("send: integration %s has no secret", in.ID)
	}
	secret, err := in.Signature.Secrets[0].Resolve()
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	h, err := sign(in.Signature, secret, id, now, body, eventType)
	if err != nil {
		return nil, fmt.Errorf("send: integration %s: %w", in.ID, err)
	}
	if ref := in.Contract.EventType; ref != nil && ref.Header != "" && eventType != "" {
		h.Set(ref.Header, eventType)
	}
	if ref := in.Contract.EventID; ref != nil && ref.Header != "" {
		h.Set(ref.Header, id)
	}
	return h, nil
}

// sign computes one scheme's signature headers.
func sign(sig *config.Signature, secret, id string, now time.Time, body []byte, eventType string) (http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := func(newHash func() hash.Hash, parts ...[]byte) []byte {
		m := hmac.New(newHash, []byte(secret))
		for _, p := range parts {
			m.Write(p)
		}
		return m.Sum(nil)
	}
	h := http.Header{}
	switch sig.Scheme {
	case config.SchemeStandardWebhooks:
		if strings.HasPrefix(secret, standardwebhooks.PublicKeyPrefix) {
			return nil, errors.New("the first secret is a whpk_ public key, which verifies but cannot sign; put the whsk_ secret key first")
		}
		s, err := standardwebhooks.NewSigner([]string{secret})
		if err != nil {
			return nil, err
		}
		signed, err := s.Sign(id, now, body)
		if err != nil {
			return nil, err
		}
		signed.Set(h)
	case config.SchemeStripe:
		h.Set(stripe.HeaderSignature, "t="+ts+",v1="+hex.EncodeToString(mac(sha256.New, []byte(ts+"."), body)))
	case config.SchemeGitHub:
		h.Set(github.HeaderSignature, "sha256="+hex.EncodeToString(mac(sha256.New, body)))
		h.Set(github.HeaderDelivery, id)
		if eventType != "" {
			h.Set(github.HeaderEvent, eventType)
		}
	case config.SchemeShopify:
		h.Set(shopify.HeaderSignature, base64.StdEncoding.EncodeToString(mac(sha256.New, body)))
		h.Set(shopify.HeaderWebhookID, id)
		if eventType != "" {
			h.Set(shopify.HeaderTopic, eventType)
		}
	case config.SchemeSlack:
		h.Set(slack.HeaderTimestamp, ts)
		h.Set(slack.HeaderSignature, "v0="+hex.EncodeToString(mac(sha256.New, []byte("v0:"+ts+":"), body)))
	case config.SchemeHMAC:
		c := sig.HMAC
		if c == nil {
			return nil, errors.New("the hmac scheme has no hmac settings")
		}
		newHash := sha256.New
		if strings.EqualFold(c.Algorithm, "sha512") {
			newHash = sha512.New
		}
		var sum []byte
		if c.TimestampHeader != "" {
			sep := "."
			if c.Separator != nil {
				sep = *c.Separator
			}
			h.Set(c.TimestampHeader, ts)
			sum = mac(newHash, []byte(ts+sep), body)
		} else {
			sum = mac(newHash, body)
		}
		encoded := hex.EncodeToString(sum)
		if strings.EqualFold(c.Encoding, "base64") {
			encoded = base64.StdEncoding.EncodeToString(sum)
		}
		h.Set(c.Header, c.Prefix+encoded)
	default:
		return nil, fmt.Errorf("no signer for scheme %q", sig.Scheme)
	}
	return h, nil
}
