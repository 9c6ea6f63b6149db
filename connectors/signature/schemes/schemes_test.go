package schemes_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/hmac"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/schemes"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/internal/config"
)

const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestNamesMatchConfig(t *testing.T) {
	if got, want := schemes.Names(), config.Schemes(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v; the configuration accepts %v", got, want)
	}
}

func TestNew(t *testing.T) {
	cases := []struct {
		cfg  schemes.Config
		want string // the verifier's type
	}{
		{schemes.Config{Scheme: "standard-webhooks", Secrets: []string{whsec}}, "*standardwebhooks.Verifier"},
		{schemes.Config{Scheme: "stripe", Secrets: []string{"whsec_x"}}, "*stripe.Verifier"},
		{schemes.Config{Scheme: "github", Secrets: []string{"s"}}, "*github.Verifier"},
		{schemes.Config{Scheme: "shopify", Secrets: []string{"s"}}, "*shopify.Verifier"},
		{schemes.Config{Scheme: "slack", Secrets: []string{"s"}}, "*slack.Verifier"},
		{schemes.Config{Scheme: "hmac", Secrets: []string{"s"}, HMAC: &hmac.Config{Header: "X-Sig"}}, "*hmac.Verifier"},
	}
	if len(cases) != len(schemes.Names()) {
		t.Fatalf("%d cases for %d schemes", len(cases), len(schemes.Names()))
	}
	for _, tt := range cases {
		t.Run(tt.cfg.Scheme, func(t *testing.T) {
			v, err := schemes.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", v); got != tt.want {
				t.Errorf("New gives %s; want %s", got, tt.want)
			}
			// Every scheme refuses an unsigned request as missing its header.
			_, err = v.Verify(signature.Request{Header: http.Header{}, Body: []byte("{}")}, time.Now())
			if !errors.Is(err, signature.ErrMissingHeader) {
				t.Errorf("unsigned request: %v; want ErrMissingHeader", err)
			}
		})
	}
}

func TestOptionsPassedThrough(t *testing.T) {
	signer, err := standardwebhooks.NewSigner([]string{whsec})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1767225600, 0)
	body := []byte(`{"type":"a"}`)
	signed, err := signer.Sign("msg_1", now.Add(-2*time.Minute), body)
	if err != nil {
		t.Fatal(err)
	}
	req := signature.Request{Header: signed.Header(), Body: body}
	cases := []struct {
		name string
		cfg  schemes.Config
		want error
	}{
		{"defaults", schemes.Config{Scheme: "standard-webhooks", Secrets: []string{whsec}}, nil},
		{"tolerance of a minute", schemes.Config{Scheme: "standard-webhooks", Secrets: []string{whsec}, Tolerance: time.Minute}, signature.ErrTimestampOutOfTolerance},
		{"body limit of 4 bytes", schemes.Config{Scheme: "standard-webhooks", Secrets: []string{whsec}, MaxBody: 4}, signature.ErrBodyTooLarge},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			v, err := schemes.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(req, now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("error %v; want %v", err, tt.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	cases := []struct {
		name string
		cfg  schemes.Config
		want error
		text string
	}{
		{"unknown scheme", schemes.Config{Scheme: "sha1", Secrets: []string{"s"}}, signature.ErrBadConfig, `unknown signature scheme "sha1"; expected one of standard-webhooks, stripe, github, shopify, slack, hmac`},
		{"empty scheme", schemes.Config{Secrets: []string{"s"}}, signature.ErrBadConfig, "unknown signature scheme"},
		{"hmac without settings", schemes.Config{Scheme: "hmac", Secrets: []string{"s"}}, signature.ErrBadConfig, "needs its hmac settings"},
		{"hmac settings elsewhere", schemes.Config{Scheme: "github", Secrets: []string{"s"}, HMAC: &hmac.Config{Header: "X"}}, signature.ErrBadConfig, "hmac settings are for"},
		{"bad hmac settings", schemes.Config{Scheme: "hmac", Secrets: []string{"s"}, HMAC: &hmac.Config{}}, signature.ErrBadConfig, "header must be"},
		{"negative tolerance", schemes.Config{Scheme: "slack", Secrets: []string{"s"}, Tolerance: -time.Second}, signature.ErrBadConfig, "tolerance"},
		{"no secrets", schemes.Config{Scheme: "stripe"}, signature.ErrBadSecret, "at least one secret"},
		{"bad whsec_ secret", schemes.Config{Scheme: "standard-webhooks", Secrets: []string{"whsec_not*base64"}}, signature.ErrBadSecret, "secret 0"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			v, err := schemes.New(tt.cfg)
			if v != nil {
				t.Errorf("New returned a verifier (%T) with an error", v)
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error %v; want %v saying %q", err, tt.want, tt.text)
			}
			for _, s := range tt.cfg.Secrets {
				if len(s) > 2 && strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}
}
