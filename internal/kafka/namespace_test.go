package kafka

import (
	"strings"
	"testing"
)

func TestNamespaceName(t *testing.T) {
	for _, tc := range []struct {
		ns   Namespace
		name string
		want string
	}{
		{"", CanonicalTopic("contact"), "sluice.canonical.contact"},
		{"staging", CanonicalTopic("contact"), "staging.sluice.canonical.contact"},
		{"team-a.prod", "sluice-transform", "team-a.prod.sluice-transform"},
		{"eu_1", SchemasTopic, "eu_1._sluice_schemas"},
	} {
		if got := tc.ns.Name(tc.name); got != tc.want {
			t.Errorf("Namespace(%q).Name(%q) = %q, want %q", tc.ns, tc.name, got, tc.want)
		}
	}
}

func TestParseNamespace(t *testing.T) {
	for _, ok := range []string{"", "staging", "team-a.prod", "EU_1", strings.Repeat("n", MaxNamespaceLen)} {
		ns, err := ParseNamespace(ok)
		if err != nil || string(ns) != ok {
			t.Errorf("ParseNamespace(%q) = %q, %v", ok, ns, err)
		}
	}
	for bad, want := range map[string]string{
		"stag ing":                             `character ' ' at 4`,
		"staging/eu":                           `character '/' at 7`,
		"ünicode":                              `character 'ü' at 0`,
		".staging":                             "starts or ends with '.'",
		"staging.":                             "starts or ends with '.'",
		strings.Repeat("n", MaxNamespaceLen+1): "longer than 64 characters",
	} {
		_, err := ParseNamespace(bad)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "namespace") {
			t.Errorf("ParseNamespace(%q) = %v, want an error saying %q", bad, err, want)
		}
	}
}

func TestConfigRefusesABadNamespace(t *testing.T) {
	c := Config{Brokers: []string{"a:9092"}, Namespace: "staging"}
	if _, err := c.Opts(); err != nil {
		t.Fatal(err)
	}
	c.Namespace = "stag ing"
	if _, err := c.Opts(); err == nil || !strings.Contains(err.Error(), `namespace "stag ing"`) {
		t.Errorf("Opts with namespace %q: %v", c.Namespace, err)
	}
}
