package kafka

import (
	"fmt"
	"strings"
)

// Namespace is the start of the name of every topic, consumer group and
// transactional id a sluice deployment owns, so that several deployments
// (staging and production, or two teams) share one Kafka cluster without
// reading, joining or fencing each other's. A deployment in namespace
// "staging" writes its canonical contacts to "staging.sluice.canonical.contact",
// joins "staging.sluice-transform", and can be held to its own resources
// with prefixed ACLs on "staging.". The empty namespace, the default, keeps
// the names as they are.
//
// Every role of one deployment must run in the same namespace.
type Namespace string

// MaxNamespaceLen bounds a namespace, so that the longest topic sluice
// derives from it stays well within Kafka's 249 characters.
const MaxNamespaceLen = 64

// ParseNamespace checks s as a namespace: at most MaxNamespaceLen of the
// characters Kafka allows in a topic name (ASCII letters, digits, '.', '_'
// and '-'), neither starting nor ending with '.'. The error names the
// offending character or rule.
func ParseNamespace(s string) (Namespace, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > MaxNamespaceLen {
		return "", fmt.Errorf("namespace %q: longer than %d characters", s, MaxNamespaceLen)
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "", fmt.Errorf("namespace %q: character %q at %d: only ASCII letters, digits, '.', '_' and '-' are allowed", s, c, i)
		}
	}
	if strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return "", fmt.Errorf("namespace %q: starts or ends with '.'", s)
	}
	return Namespace(s), nil
}

// Name returns name in the namespace: "<namespace>.<name>", or name
// itself in the empty namespace.
func (ns Namespace) Name(name string) string {
	if ns == "" {
		return name
	}
	return string(ns) + "." + name
}
