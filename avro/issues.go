package avro

import (
	"strconv"
	"strings"
)

// IssueCode classifies a validation issue. The codes are stable: clients
// and dashboards may depend on them.
type IssueCode string

// Issue codes.
const (
	// CodeInvalidJSON: the body is not one well-formed JSON document.
	CodeInvalidJSON IssueCode = "invalid_json"
	// CodeTypeMismatch: the JSON value has the wrong kind, e.g. a number
	// where a string is expected.
	CodeTypeMismatch IssueCode = "type_mismatch"
	// CodeRequired: a field without a default is missing.
	CodeRequired IssueCode = "required"
	// CodeNotInteger: a number with a fractional part where an int or
	// long is expected.
	CodeNotInteger IssueCode = "not_integer"
	// CodeOutOfRange: a number that does not fit its type (int is 32-bit,
	// long 64-bit), or a decimal with too many digits.
	CodeOutOfRange IssueCode = "out_of_range"
	// CodeInvalidFormat: a string that does not parse as what its logical
	// type needs (timestamp, date, time, UUID, decimal, base64).
	CodeInvalidFormat IssueCode = "invalid_format"
	// CodeUnknownSymbol: a string that is not one of an enum's symbols.
	CodeUnknownSymbol IssueCode = "unknown_symbol"
	// CodeUnknownField: a member the contract does not know, under the
	// reject policy for unknown fields.
	CodeUnknownField IssueCode = "unknown_field"
	// CodeDuplicateKey: the same key twice in one JSON object.
	CodeDuplicateKey IssueCode = "duplicate_key"
	// CodeNoUnionBranch: the value fits none of the types a union allows.
	CodeNoUnionBranch IssueCode = "no_union_branch"
	// CodeWrongSize: bytes of the wrong length for a fixed type.
	CodeWrongSize IssueCode = "wrong_size"
)

// Issue is one way a JSON payload breaks its contract. It names the place,
// what was expected and the kind of what came, never the value itself:
// payloads carry personal data and issues are logged.
type Issue struct {
	// Path is where the issue is, JSONPath-like: "$" is the document,
	// ".name" a member, "[2]" an array element, `["odd key"]` a member
	// whose key is not a plain name.
	Path string `json:"path"`
	// Code classifies the issue.
	Code IssueCode `json:"code"`
	// Expected says what the contract wants there, e.g. "string" or
	// "one of [lead, customer]".
	Expected string `json:"expected,omitempty"`
	// Got says what came, by kind ("number", "object", "unknown symbol"),
	// never by value.
	Got string `json:"got,omitempty"`
}

// String renders the issue the way error bodies and logs show it:
// "$.customer.email: expected string, got number", "$.items[2].qty:
// required".
func (i Issue) String() string {
	switch i.Code {
	case CodeRequired:
		return i.Path + ": required"
	case CodeUnknownField:
		return i.Path + ": unknown field"
	case CodeDuplicateKey:
		return i.Path + ": duplicate key"
	}
	return i.Path + ": expected " + i.Expected + ", got " + i.Got
}

// ValidationError is the error of a payload that breaks its contract. It
// holds every issue found, up to the validator's limit. errors.Is(err,
// ErrInvalid) is true for it.
type ValidationError struct {
	// Record is the full name of the contract's record.
	Record string `json:"record"`
	// Issues are the issues found, record members in the order of the
	// contract's fields.
	Issues []Issue `json:"issues"`
	// Truncated is true when there were more issues than the validator
	// collects.
	Truncated bool `json:"truncated,omitempty"`
}

// Error lists the issues on one line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("avro: payload breaks its contract ")
	b.WriteString(e.Record)
	b.WriteString(": ")
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(is.String())
	}
	if e.Truncated {
		b.WriteString("; and more")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// pathSeg is one step of a path: a member key or an array index.
type pathSeg struct {
	key   string
	index int
	isIdx bool
}

// renderPath writes a path in the JSONPath-like syntax of Issue.Path.
func renderPath(segs []pathSeg) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range segs {
		if s.isIdx {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if plainKey(s.key) {
			b.WriteByte('.')
			b.WriteString(s.key)
			continue
		}
		b.WriteString(`[`)
		b.WriteString(strconv.Quote(s.key))
		b.WriteString(`]`)
	}
	return b.String()
}

// plainKey reports whether key can follow a dot in a path.
func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for i, c := range key {
		switch {
		case c == '_', c == '$', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}
