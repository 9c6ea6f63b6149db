package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is one invalid field of a catalog.
type FieldError struct {
	// File is the catalog's path, "" when parsed from memory.
	File string
	// Line is the line of the field, 0 when unknown.
	Line int
	// Path is the field's path, e.g. "integrations[0].signature.scheme".
	Path string
	// Msg says what was expected and what came.
	Msg string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError lists every invalid field of a catalog.
type ValidationError struct {
	Fields []*FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return "config: invalid catalog:\n  " + strings.Join(msgs, "\n  ")
}

// Load reads, parses and validates the catalog at path.
func Load(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(b, path, filepath.Dir(abs))
}

// Parse parses and validates a catalog held in memory. Relative file
// references are resolved against dir.
func Parse(b []byte, dir string) (*Catalog, error) { return parse(b, "", dir) }

func parse(b []byte, file, dir string) (*Catalog, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("config: %s%w", prefix(file), err)
	}
	if len(root.Content) == 0 {
		return nil, &ValidationError{Fields: []*FieldError{{File: file, Msg: "the catalog is empty"}}}
	}
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %s%w", prefix(file), cleanYAMLError(err))
	}
	c.dir = dir
	for i := range c.Integrations {
		if s := c.Integrations[i].Signature; s != nil {
			for j := range s.Secrets {
				s.Secrets[j].dir = dir
			}
		}
	}
	for i := range c.Destinations {
		for j := range c.Destinations[i].Secrets {
			c.Destinations[i].Secrets[j].dir = dir
		}
	}
	v := &validator{file: file, lines: lineIndex(root.Content[0])}
	v.catalog(&c)
	if len(v.errs) > 0 {
		return nil, &ValidationError{Fields: v.errs}
	}
	c.applyDefaults()
	return &c, nil
}

func prefix(file string) string {
	if file == "" {
		return ""
	}
	return file + ": "
}

// cleanYAMLError drops yaml's "unmarshal errors:" framing, which only
// repeats what each line says.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

// lineIndex maps each field path of a YAML document to its line.
func lineIndex(n *yaml.Node) map[string]int {
	idx := map[string]int{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		idx[path] = n.Line
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				idx[p] = k.Line
				walk(val, p)
				idx[p] = k.Line
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(n, "")
	return idx
}
