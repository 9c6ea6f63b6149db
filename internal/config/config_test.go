package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadComposeExample(t *testing.T) {
	c, err := Load("../../examples/sluice.compose.yaml")
	if err != nil {
		t.Fatalf("compose catalog: %v", err)
	}
	if d, ok := c.Destination("demo-sink"); !ok || d.URL != "http://sink:8090/hooks/demo" {
		t.Errorf("compose catalog must send to the compose service sink, got %+v", d)
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load("../../examples/sluice.yaml")
	if err != nil {
		t.Fatalf("example catalog: %v", err)
	}
	in, ok := c.Integration("crm")
	if !ok {
		t.Fatal("integration crm missing")
	}
	if in.Lane != LaneInteractive || in.Partitions != DefaultPartitions || in.Limits.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("defaults not applied: lane %q partitions %d max body %d", in.Lane, in.Partitions, in.Limits.MaxBodyBytes)
	}
	secrets, err := ResolveAll(in.Signature.Secrets)
	if err != nil {
		t.Fatalf("resolve secrets: %v", err)
	}
	if len(secrets) != 1 || !strings.HasPrefix(secrets[0], "whsec_") {
		t.Errorf("secret not read from the example file")
	}
	d, ok := c.Destination("demo-sink")
	if !ok || d.Timeout != 20*time.Second || d.Retry.MaxAttempts != DefaultMaxAttempts {
		t.Errorf("destination defaults: %+v", d)
	}
}

const good = `version: 1
tenants:
  - id: acme
integrations:
  - id: crm
    kind: webhook
    source: crm
    signature:
      scheme: stripe
      secrets: [env:CRM_SECRET]
    contract:
      events:
        - type: "*"
          record: sluice.source.crm.ContactEvent
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		replace [2]string
		want    string
	}{
		{"unknown scheme", [2]string{"scheme: stripe", "scheme: sha1"}, `9: integrations[0].signature.scheme: expected one of standard-webhooks, stripe, github, shopify, slack, hmac; got "sha1"`},
		{"literal secret", [2]string{"[env:CRM_SECRET]", "[hunter2]"}, `10: integrations[0].signature.secrets[0]: expected a secret reference`},
		{"bad tenant id", [2]string{"id: acme", "id: Acme Corp"}, `3: tenants[0].id: expected lower-case letters`},
		{"unknown tenant", [2]string{"source: crm", "source: crm\n    tenants: [globex]"}, `8: integrations[0].tenants[0]: unknown tenant "globex"`},
		{"missing kind", [2]string{"    kind: webhook\n", ""}, `integrations[0].kind: required: expected one of webhook, outbox, sync`},
		{"duplicate tenant", [2]string{"  - id: acme\n", "  - id: acme\n  - id: acme\n"}, `tenants[1].id: duplicate tenant "acme"`},
		{"bad integration id", [2]string{"id: crm", "id: crm/v2"}, `integrations[0].id: expected lower-case letters, digits, '.', '-' or '_'; got "crm/v2"`},
		{"duplicate integration", [2]string{"integrations:\n", "integrations:\n  - {id: crm, kind: outbox, source: db}\n"}, `integrations[1].id: duplicate integration "crm"`},
		{"destination without id", [2]string{"integrations:\n", "destinations:\n  - {kind: kafka, topic: out}\nintegrations:\n"}, `destinations[0].id: required`},
		{"duplicate destination", [2]string{"integrations:\n", "destinations:\n  - {id: out, kind: kafka, topic: a}\n  - {id: out, kind: kafka, topic: b}\nintegrations:\n"}, `destinations[1].id: duplicate destination "out"`},
		{"destination without kind", [2]string{"integrations:\n", "destinations:\n  - {id: out, topic: out}\nintegrations:\n"}, `destinations[0].kind: required: expected one of webhook, kafka`},
		{"bad record", [2]string{"record: sluice.source.crm.ContactEvent", "record: 'not a name'"}, `integrations[0].contract.events[0].record: expected the full name of an Avro record`},
		{"hmac without config", [2]string{"scheme: stripe", "scheme: hmac"}, `integrations[0].signature.hmac: required for the hmac scheme`},
		{"separator without timestamp", [2]string{"scheme: stripe", "scheme: hmac\n      hmac: {header: X-Sig, separator: ':'}"}, `integrations[0].signature.hmac.separator: only allowed with timestamp_header`},
		{"bad version", [2]string{"version: 1", "version: 2"}, `1: version: expected 1; got 2`},
		{"unknown field", [2]string{"source: crm", "source: crm\n    sorce: x"}, `field sorce not found`},
		{"wrong type", [2]string{"version: 1", "version: one"}, `cannot unmarshal`},
		{"free-mail domain with a scheme", [2]string{"integrations:\n", "identity:\n  free_mail_domains: [https://mail.example.net]\nintegrations:\n"}, `identity.free_mail_domains[0]: expected a domain name in lower case, such as mail.example.net; got "https://mail.example.net"`},
		{"shared host without a dot", [2]string{"integrations:\n", "identity:\n  shared_hosts: [pages]\nintegrations:\n"}, `identity.shared_hosts[0]: expected a domain name in lower case`},
		{"upper-case free-mail domain", [2]string{"integrations:\n", "identity:\n  free_mail_domains: [Mail.Example.NET]\nintegrations:\n"}, `identity.free_mail_domains[0]: expected a domain name in lower case`},
		{"bad duration", [2]string{"secrets: [env:CRM_SECRET]", "secrets: [env:CRM_SECRET]\n      tolerance: 48h"}, `integrations[0].signature.tolerance: expected a duration from 0s to 24h0m0s; got 48h0m0s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(good, tt.replace[0], tt.replace[1], 1)
			if src == good {
				t.Fatalf("replacement %q did not apply", tt.replace[0])
			}
			_, err := Parse([]byte(src), t.TempDir())
			if err == nil {
				t.Fatalf("no error for:\n%s", src)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %v\ndoes not contain\n  %s", err, tt.want)
			}
		})
	}
}

func TestParseIdentity(t *testing.T) {
	src := strings.Replace(good, "integrations:\n", "identity:\n  free_mail_domains: [mail.example-isp.net]\n  shared_hosts: [pages.example.com]\n  strip_plus_tags: true\nintegrations:\n", 1)
	c, err := Parse([]byte(src), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{FreeMailDomains: []string{"mail.example-isp.net"}, SharedHosts: []string{"pages.example.com"}, StripPlusTags: true}
	if !reflect.DeepEqual(c.Identity, want) {
		t.Errorf("identity %+v, want %+v", c.Identity, want)
	}
}

func TestParseReportsEveryError(t *testing.T) {
	src := strings.NewReplacer("scheme: stripe", "scheme: nope", "id: crm", "id: CRM").Replace(good)
	_, err := Parse([]byte(src), "")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	if len(ve.Fields) != 2 {
		t.Errorf("want 2 field errors, got %d: %v", len(ve.Fields), err)
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(good, "kind: webhook", "kind: carrier-pigeon", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path+":6: integrations[0].kind: expected one of webhook, outbox, sync") {
		t.Errorf("want the file, line and path in %v", err)
	}
}

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_TEST_SECRET", "from-env")
	tests := []struct {
		ref, want, err string
	}{
		{"env:SLUICE_TEST_SECRET", "from-env", ""},
		{"file:s", "from-file", ""},
		{"env:SLUICE_TEST_UNSET", "", "environment variable SLUICE_TEST_UNSET is not set"},
		{"file:missing", "", "no such file"},
		{"vault:x", "", "expected a secret reference"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			s := NewSecret(tt.ref, dir)
			got, err := s.Resolve()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("want error %q, got %v", tt.err, err)
				}
				if strings.Contains(err.Error(), "from-") {
					t.Errorf("error leaks a secret value: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			if s.String() != tt.ref {
				t.Errorf("String() = %q, want the reference", s.String())
			}
		})
	}
}
