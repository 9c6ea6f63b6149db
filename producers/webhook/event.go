package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/internal/config"
)

// MaxEventIDBytes is the longest event id kept as the provider sent it;
// it is also Standard Webhooks' limit on a message id.
const MaxEventIDBytes = 256

// jsonDoc is one event's JSON, parsed lazily and only as deep as the
// paths the contract names.
type jsonDoc struct {
	raw    []byte
	top    map[string]json.RawMessage
	parsed bool
	object bool
}

// valid reports whether the event is one well-formed JSON value. An
// object already parsed for a lookup is known to be.
func (d *jsonDoc) valid() bool { return (d.parsed && d.object) || json.Valid(d.raw) }

// lookup returns the string or number at a dotted path ("type",
// "event.id"), and whether there is one. Numbers are returned as written.
func (d *jsonDoc) lookup(path string) (string, bool) {
	if !d.parsed {
		d.parsed = true
		d.object = json.Unmarshal(d.raw, &d.top) == nil
	}
	if !d.object || path == "" {
		return "", false
	}
	key, rest, nested := strings.Cut(path, ".")
	v, ok := d.top[key]
	for ok && nested {
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return "", false
		}
		key, rest, nested = strings.Cut(rest, ".")
		v, ok = m[key]
	}
	if !ok {
		return "", false
	}
	return scalar(v)
}

// scalar returns a JSON string's value or a number's text.
func scalar(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || len(v) > signature.MaxHeaderBytes {
		return "", false
	}
	switch c := v[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	case c == '-' || c >= '0' && c <= '9':
		var n json.Number
		if json.Unmarshal(v, &n) != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}

// field reads a FieldRef from the request's headers or the event's JSON.
func field(ref *config.FieldRef, h http.Header, doc *jsonDoc) (string, bool) {
	switch {
	case ref == nil:
		return "", false
	case ref.Header != "":
		v := signature.Optional(h, ref.Header)
		return v, v != ""
	default:
		return doc.lookup(ref.JSON)
	}
}

// hashID is the event id of an event without one of its own: the hex
// SHA-256 of tenant, integration, event type and the event's raw bytes,
// each length-prefixed so that no two inputs give the same text.
func hashID(tenant, integration, eventType string, raw []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(tenant), []byte(integration), []byte(eventType), raw} {
		var n [8]byte
		l := uint64(len(part))
		for i := range n {
			n[i] = byte(l >> (56 - 8*i))
		}
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// safeID reports whether id can be used as it is: 1 to MaxEventIDBytes
// bytes of printable ASCII without a space or a full stop, so it can be
// sent on as a Standard Webhooks message id and sits safely in a Redis
// key and a header.
func safeID(id string) bool {
	if id == "" || len(id) > MaxEventIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '.' {
			return false
		}
	}
	return true
}

// eventID returns the event id of a provider id: the id itself when it is
// safe, else "h_" and the hex SHA-256 of it, with the original returned
// to be kept in the provider-event-id header.
func eventID(provider string) (id, original string) {
	if safeID(provider) {
		return provider, ""
	}
	sum := sha256.Sum256([]byte(provider))
	return "h_" + hex.EncodeToString(sum[:]), provider
}

// occurredAt returns when the event happened: a top-level timestamp of
// the validated payload ("timestamp", "occurred_at" or "occurredAt"),
// else the signed timestamp of the request, else nil.
func occurredAt(data map[string]any, signed time.Time) *time.Time {
	for _, k := range []string{"timestamp", "occurred_at", "occurredAt"} {
		if t, ok := data[k].(time.Time); ok {
			t = t.UTC()
			return &t
		}
	}
	if !signed.IsZero() {
		t := signed.UTC()
		return &t
	}
	return nil
}

// Why a batch is refused: errTooMany is 413, the others 400.
var (
	errEmptyBatch = errors.New("the batch holds no event")
	errNotArray   = errors.New("a JSON batch must be an array of events")
	errTooMany    = errors.New("too many events")
)

// splitArray returns the elements of a JSON array, each as its raw bytes,
// stopping with errTooMany after limit.
func splitArray(body []byte, limit int) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return nil, errNotArray
	}
	var items [][]byte
	for dec.More() {
		if len(items) == limit {
			return nil, errTooMany
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.New("the JSON array is malformed: " + jsonReason(err))
		}
		items = append(items, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("the JSON array is malformed: " + jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the JSON array is followed by more data")
	}
	if len(items) == 0 {
		return nil, errEmptyBatch
	}
	return items, nil
}

// splitLines returns the non-blank lines of an NDJSON body, each as its
// raw bytes without the line ending, stopping with errTooMany after limit.
// A line that is not JSON is an event that breaks its contract, not a
// malformed batch.
func splitLines(body []byte, limit int) ([][]byte, error) {
	var items [][]byte
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(items) == limit {
			return nil, errTooMany
		}
		items = append(items, line)
	}
	if len(items) == 0 {
		return nil, errEmptyBatch
	}
	return items, nil
}

// jsonReason describes a JSON syntax error without quoting the input.
func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return "not JSON"
}

// issueJSON is one contract issue in an answer.
type issueJSON struct {
	Path     string `json:"path"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
}

// breach is why an event breaks its contract.
type breach struct {
	code      string // CodeSchemaViolation or CodeUnknownEventType
	detail    string
	issues    []avro.Issue
	truncated bool
}

// answerIssues lists the issues for the sender, whose own data they are
// about.
func (b *breach) answerIssues() []issueJSON {
	out := make([]issueJSON, 0, len(b.issues))
	for _, is := range b.issues {
		out = append(out, issueJSON{Path: is.Path, Code: string(is.Code), Message: is.String(), Expected: is.Expected, Got: is.Got})
	}
	return out
}

// maxErrorMessage bounds the error-message header of an invalid record.
const maxErrorMessage = 1024

// headerMessage lists the issues for the invalid record's error-message
// header and the logs: paths and codes only, never a value (which may be
// personal data), truncated to maxErrorMessage bytes.
func (b *breach) headerMessage() string {
	if len(b.issues) == 0 {
		return b.detail
	}
	var s strings.Builder
	for i, is := range b.issues {
		part := is.Path + ": " + string(is.Code)
		if i > 0 {
			part = "; " + part
		}
		if s.Len()+len(part) > maxErrorMessage-len("; ...") {
			s.WriteString("; ...")
			return s.String()
		}
		s.WriteString(part)
	}
	if b.truncated {
		s.WriteString("; ...")
	}
	return s.String()
}

// paths lists the issue paths with their codes, for log lines.
func (b *breach) paths() []string {
	out := make([]string, 0, len(b.issues))
	for _, is := range b.issues {
		out = append(out, is.Path+": "+string(is.Code))
	}
	return out
}
