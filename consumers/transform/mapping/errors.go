package mapping

import (
	"errors"
	"strconv"
	"strings"
)

// Errors of the mapping package.
var (
	// ErrSpec is what a *SpecError matches with errors.Is: a mapping file
	// that cannot be used. It is found at start, never while events flow.
	ErrSpec = errors.New("mapping: invalid mapping")
	// ErrMapping is what an *Error matches with errors.Is: one event could
	// not be mapped. Another attempt gives the same result, so the
	// transform stage dead-letters the event.
	ErrMapping = errors.New("mapping: event cannot be mapped")
)

// SpecError is one problem of a mapping file, with where it is.
type SpecError struct {
	// File is the mapping's name, as given to Compile.
	File string
	// Line is the line in the file, 0 when unknown.
	Line int
	// Path is the place in the mapping, e.g.
	// "events[0].objects[0].fields.email.from".
	Path string
	// Msg says what is wrong.
	Msg string
}

// Error returns "mapping: <file>:<line>: <path>: <message>".
func (e *SpecError) Error() string {
	var b strings.Builder
	b.WriteString("mapping: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
	}
	if e.File != "" || e.Line > 0 {
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes a *SpecError match ErrSpec.
func (e *SpecError) Is(target error) bool { return target == ErrSpec }

// SpecErrors lists every problem found in a mapping file.
type SpecErrors []*SpecError

// Error returns every problem, one a line.
func (es SpecErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Is makes SpecErrors match ErrSpec.
func (es SpecErrors) Is(target error) bool { return target == ErrSpec }

// Error is the failure to map one event. Its message names the canonical
// field and the source path, never the value, which may be personal data.
type Error struct {
	// Record is the source event record, e.g. "sluice.source.crm.ContactEvent".
	Record string
	// Object is the name of the object being built, e.g. "contact".
	Object string
	// Field is the canonical field, e.g. "updated_at" or "lines[2].total".
	Field string
	// Path is the source path the value was read from, "" for a constant.
	Path string
	// Reason says what went wrong, without the value.
	Reason string
}

// Error returns "mapping: <object>.<field> (from <path>): <reason>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("mapping: ")
	b.WriteString(e.Object)
	if e.Field != "" {
		b.WriteByte('.')
		b.WriteString(e.Field)
	}
	if e.Path != "" {
		b.WriteString(" (from ")
		b.WriteString(e.Path)
		b.WriteByte(')')
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Is makes an *Error match ErrMapping.
func (e *Error) Is(target error) bool { return target == ErrMapping }
