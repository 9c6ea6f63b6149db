package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/testkit"
)

// copySchemas copies avro/schemas into a directory the test may change.
func copySchemas(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "avro", "schemas")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func sluice(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(args, &out, &out, func(string) string { return "" })
	return code, out.String()
}

func TestSchemaRegisterThenCheckCatchesABreakingChange(t *testing.T) {
	t.Parallel()
	url := registrytest.Start(t, testkit.NewKafka(t))
	dir := copySchemas(t)
	catalog := filepath.Join("..", "..", "examples", "sluice.yaml")
	common := []string{"--config", catalog, "--registry", url, "--dir", dir}

	code, out := sluice(t, append([]string{"schema", "register"}, common...)...)
	if code != 0 || !strings.Contains(out, "sluice.in.crm-sluice.source.crm.ContactEvent") {
		t.Fatalf("register: exit %d\n%s", code, out)
	}
	code, out = sluice(t, append([]string{"schema", "check"}, common...)...)
	if code != 0 || strings.Contains(out, "INCOMPATIBLE") {
		t.Fatalf("check of what was just registered: exit %d\n%s", code, out)
	}

	// A new required field without a default cannot read what was
	// written before: a breaking change under BACKWARD.
	file := filepath.Join(dir, "source", "crm", "Contact.avsc")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), `"fields": [`, `"fields": [{"name": "mandatory_new_field", "type": "string", "doc": "breaks readers"},`, 1)
	if broken == string(b) {
		t.Fatal("could not edit the schema")
	}
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = sluice(t, append([]string{"schema", "check"}, common...)...)
	if code != 1 {
		t.Fatalf("check of a breaking change: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "INCOMPATIBLE  sluice.in.crm-sluice.source.crm.ContactEvent") || !strings.Contains(out, "mandatory_new_field") {
		t.Errorf("check does not explain the break:\n%s", out)
	}
	// Checking only the events of another file passes.
	code, out = sluice(t, append([]string{"schema", "check", filepath.Join(dir, "source", "crm", "CompanyEvent.avsc")}, common...)...)
	if code != 0 {
		t.Errorf("check of an untouched file: exit %d\n%s", code, out)
	}
}

func TestSchemaShowUnknown(t *testing.T) {
	t.Parallel()
	url := registrytest.Start(t, testkit.NewKafka(t))
	code, out := sluice(t, "schema", "show", "--registry", url, "no.such.Record")
	if code == 0 || !strings.Contains(out, "neither a record of the contracts nor a subject") {
		t.Fatalf("show unknown: exit %d\n%s", code, out)
	}
	code, out = sluice(t, "schema", "show", "--registry", url, "sluice.Envelope")
	if code != 0 || !strings.Contains(out, `"name": "Envelope"`) {
		t.Fatalf("show envelope: exit %d\n%s", code, out)
	}
}

func TestSchemaRegisterInANamespace(t *testing.T) {
	t.Parallel()
	url := registrytest.Start(t, testkit.NewKafka(t))
	catalog := filepath.Join("..", "..", "examples", "sluice.yaml")
	code, out := sluice(t, "schema", "register", "--namespace", "staging", "--config", catalog, "--registry", url)
	if code != 0 {
		t.Fatalf("register: exit %d\n%s", code, out)
	}
	for _, want := range []string{"staging.sluice.in.crm-sluice.source.crm.ContactEvent", "staging.sluice.canonical.contact-sluice.canonical.ContactEvent", "staging.sluice.canonical.contact.batch-sluice.canonical.ContactEvent"} {
		if !strings.Contains(out, want) {
			t.Errorf("register did not name %s:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "sluice.") {
			t.Errorf("a subject outside the namespace: %s", line)
		}
	}
}
