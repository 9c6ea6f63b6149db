package avro

import (
	"fmt"
	"strings"
)

// Subject returns the schema registry subject of the record written to
// topic, under the TopicRecordNameStrategy: "<topic>-<record full name>",
// e.g. "sluice.in.crm-sluice.source.crm.ContactEvent". Several event types
// share one topic (contact and company events of a CRM), so the subject
// names both.
func Subject(topic, record string) string { return topic + "-" + record }

// ParseSubject splits a subject of the TopicRecordNameStrategy into its
// topic and record full name. A record name cannot hold '-', so the split
// is at the last '-'.
func ParseSubject(subject string) (topic, record string, err error) {
	i := strings.LastIndexByte(subject, '-')
	if i <= 0 || i == len(subject)-1 {
		return "", "", fmt.Errorf("%w: %q is not <topic>-<record>", ErrSubject, subject)
	}
	topic, record = subject[:i], subject[i+1:]
	if !validFullName(record) {
		return "", "", fmt.Errorf("%w: %q does not end in a record full name", ErrSubject, subject)
	}
	return topic, record, nil
}

// validFullName reports whether s is a valid Avro full name: dot-separated
// names of [A-Za-z_][A-Za-z0-9_]*.
func validFullName(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, c := range part {
			switch {
			case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			case i > 0 && c >= '0' && c <= '9':
			default:
				return false
			}
		}
	}
	return true
}
