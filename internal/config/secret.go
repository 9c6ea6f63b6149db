package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a reference to a secret value: "env:NAME" or "file:path". The
// value is read by Resolve; the reference itself is all that is ever
// printed.
type Secret struct {
	ref string
	dir string
}

// NewSecret returns a secret reference, resolved against dir for relative
// file paths.
func NewSecret(ref, dir string) Secret { return Secret{ref: ref, dir: dir} }

// String returns the reference, never the value.
func (s Secret) String() string { return s.ref }

// UnmarshalYAML reads a reference and refuses a literal value.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a secret reference (env:NAME or file:path)", n.Line)
	}
	s.ref = n.Value
	return nil
}

// MarshalYAML writes the reference.
func (s Secret) MarshalYAML() (any, error) { return s.ref, nil }

// valid reports what is wrong with the reference, or "".
func (s Secret) problem() string {
	kind, rest, ok := strings.Cut(s.ref, ":")
	switch {
	case !ok || (kind != "env" && kind != "file"):
		return `expected a secret reference "env:NAME" or "file:path"; literal secrets are not accepted`
	case rest == "":
		return fmt.Sprintf("expected a name after %q", kind+":")
	}
	return ""
}

// Resolve reads the secret's value. Trailing newlines of a file are
// trimmed. Errors name the reference, never the value.
func (s Secret) Resolve() (string, error) {
	kind, rest, _ := strings.Cut(s.ref, ":")
	switch kind {
	case "env":
		v, ok := os.LookupEnv(rest)
		if !ok || v == "" {
			return "", fmt.Errorf("config: secret %s: environment variable %s is not set", s.ref, rest)
		}
		return v, nil
	case "file":
		path := rest
		if !filepath.IsAbs(path) && s.dir != "" {
			path = filepath.Join(s.dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("config: secret %s: %w", s.ref, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("config: secret %s: file is empty", s.ref)
		}
		return v, nil
	}
	return "", fmt.Errorf("config: secret %q: %s", s.ref, s.problem())
}

// ResolveAll resolves every secret in order.
func ResolveAll(secrets []Secret) ([]string, error) {
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		v, err := s.Resolve()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
