package avro

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jkind is the kind of a JSON value.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// String names the kind the way validation errors say what came.
func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "boolean"
	case jNumber:
		return "number"
	case jString:
		return "string"
	case jArray:
		return "array"
	case jObject:
		return "object"
	}
	return "unknown"
}

// jvalue is a parsed JSON value that keeps what encoding/json throws away:
// the order of object members, repeated keys, and the exact text of
// numbers (so that 9007199254740993 stays an integer).
type jvalue struct {
	kind jkind
	b    bool
	// s is the string value, or the literal text of a number.
	s   string
	arr []jvalue
	obj []jmember
}

// jmember is one member of a JSON object, in document order.
type jmember struct {
	key string
	val jvalue
}

// maxDepth is how deeply arrays and objects may nest: encoding/json's
// limit, so that both agree on which documents are valid.
const maxDepth = 10000

// parseJSON parses one JSON document, checking it as it goes: it accepts
// exactly the documents json.Valid accepts, and an invalid one gets the
// error encoding/json gives it, which names the offset.
//
// The document is copied into one string, and every string and number of
// the result that needs no unescaping is a slice of it: one allocation
// for all of them. Arrays and objects are carved out of shared slabs.
func parseJSON(data []byte) (jvalue, error) {
	var p jparser
	v, ok := p.parse(data)
	if !ok {
		return jvalue{}, invalidJSON(data)
	}
	return v, nil
}

// invalidJSON returns encoding/json's error for a document parseJSON
// refused.
func invalidJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	// Not reached while parseJSON and encoding/json agree (FuzzParseJSON
	// checks they do).
	return errors.New("invalid JSON")
}

type jparser struct {
	src   string
	pos   int
	depth int
	// Members and elements of the objects and arrays being parsed are
	// gathered on these stacks and copied out once complete, into the
	// slabs below, so that each object or array is stored once at its
	// exact size and most cost no allocation of their own.
	members  []jmember
	elements []jvalue
	memSlab  []jmember
	valSlab  []jvalue
}

// parse parses data as parseJSON does; ok is false when it is not valid
// JSON. A parser may parse one document after another, reusing its slabs
// once release has forgotten the previous one.
func (p *jparser) parse(data []byte) (v jvalue, ok bool) {
	p.src, p.pos, p.depth = string(data), 0, 0
	return p.document()
}

// maxKeptSlab bounds the slabs a parser keeps for the next document.
const maxKeptSlab = 1 << 12

// release forgets the last document, whose values must no longer be
// used, and keeps the latest slabs (each as large as the ones before it)
// for the next one. It reports whether the parser is worth keeping.
func (p *jparser) release() bool {
	p.src = ""
	clear(p.memSlab)
	clear(p.valSlab)
	p.memSlab, p.valSlab = p.memSlab[:0], p.valSlab[:0]
	return cap(p.memSlab) <= maxKeptSlab && cap(p.valSlab) <= maxKeptSlab &&
		cap(p.members) <= maxKeptSlab && cap(p.elements) <= maxKeptSlab
}

// slabSize is the first slab's length for a document of n bytes: about
// one entry for every 16 bytes of JSON, which is what typical payloads
// hold.
func slabSize(n int) int { return min(max(n/16, 8), 4096) }

// carveMembers returns a slice of exactly n members from the slab.
func (p *jparser) carveMembers(n int) []jmember {
	if cap(p.memSlab)-len(p.memSlab) < n {
		p.memSlab = make([]jmember, 0, max(n, 2*cap(p.memSlab), slabSize(len(p.src))))
	}
	l := len(p.memSlab)
	p.memSlab = p.memSlab[:l+n]
	return p.memSlab[l : l+n : l+n]
}

// carveValues returns a slice of exactly n values from the slab.
func (p *jparser) carveValues(n int) []jvalue {
	if cap(p.valSlab)-len(p.valSlab) < n {
		p.valSlab = make([]jvalue, 0, max(n, 2*cap(p.valSlab), slabSize(len(p.src))/2))
	}
	l := len(p.valSlab)
	p.valSlab = p.valSlab[:l+n]
	return p.valSlab[l : l+n : l+n]
}

// document parses the whole input as one value with optional whitespace
// around it.
func (p *jparser) document() (jvalue, bool) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return jvalue{}, false
	}
	v, ok := p.value()
	if !ok {
		return jvalue{}, false
	}
	p.skipSpace()
	return v, p.pos == len(p.src)
}

func (p *jparser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// literal consumes word at pos.
func (p *jparser) literal(word string) bool {
	if !strings.HasPrefix(p.src[p.pos:], word) {
		return false
	}
	p.pos += len(word)
	return true
}

// value parses the value at pos, which is not past the end.
func (p *jparser) value() (jvalue, bool) {
	switch c := p.src[p.pos]; c {
	case 'n':
		return jvalue{kind: jNull}, p.literal("null")
	case 't':
		return jvalue{kind: jBool, b: true}, p.literal("true")
	case 'f':
		return jvalue{kind: jBool}, p.literal("false")
	case '"':
		s, ok := p.str()
		return jvalue{kind: jString, s: s}, ok
	case '[':
		return p.array()
	case '{':
		return p.object()
	default:
		start := p.pos
		if !p.number() {
			return jvalue{}, false
		}
		return jvalue{kind: jNumber, s: p.src[start:p.pos]}, true
	}
}

func (p *jparser) array() (jvalue, bool) {
	v := jvalue{kind: jArray}
	if p.depth++; p.depth > maxDepth {
		return v, false
	}
	defer func() { p.depth-- }()
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		v.arr = []jvalue{}
		return v, true
	}
	mark := len(p.elements)
	defer func() {
		clear(p.elements[mark:])
		p.elements = p.elements[:mark]
	}()
	for {
		if p.pos >= len(p.src) {
			return v, false
		}
		e, ok := p.value()
		if !ok {
			return v, false
		}
		p.elements = append(p.elements, e)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return v, false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
			continue
		case ']':
			p.pos++
			v.arr = p.carveValues(len(p.elements) - mark)
			copy(v.arr, p.elements[mark:])
			return v, true
		}
		return v, false
	}
}

func (p *jparser) object() (jvalue, bool) {
	v := jvalue{kind: jObject}
	if p.depth++; p.depth > maxDepth {
		return v, false
	}
	defer func() { p.depth-- }()
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		v.obj = []jmember{}
		return v, true
	}
	mark := len(p.members)
	defer func() {
		clear(p.members[mark:])
		p.members = p.members[:mark]
	}()
	for {
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return v, false
		}
		k, ok := p.str()
		if !ok {
			return v, false
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return v, false
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.src) {
			return v, false
		}
		e, ok := p.value()
		if !ok {
			return v, false
		}
		p.members = append(p.members, jmember{key: k, val: e})
		p.skipSpace()
		if p.pos >= len(p.src) {
			return v, false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
			continue
		case '}':
			p.pos++
			v.obj = p.carveMembers(len(p.members) - mark)
			copy(v.obj, p.members[mark:])
			return v, true
		}
		return v, false
	}
}

// number consumes a number in JSON's grammar (see scanNumber).
func (p *jparser) number() bool {
	end, ok := scanNumber(p.src, p.pos)
	if ok {
		p.pos = end
	}
	return ok
}

// scanNumber reads a number in JSON's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, from s[i:], and returns
// where it ends and whether one was there.
func scanNumber(s string, i int) (int, bool) {
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return i, false
	case s[i] == '0':
		i++
	case digits() == 0:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return i, true
}

// str parses the string at pos. A string without escapes and with valid
// UTF-8 is a slice of the document; any other is unescaped into a string
// of its own, the way encoding/json does it (invalid UTF-8 and lone
// surrogates become U+FFFD).
func (p *jparser) str() (string, bool) {
	s := p.src
	start := p.pos + 1
	ascii := true
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			p.pos = i + 1
			if ascii || utf8.ValidString(s[start:i]) {
				return s[start:i], true
			}
			return unquote(s[start:i]), true
		case c == '\\':
			return p.escapedStr(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// escapedStr finishes a string that starts at start and holds escapes.
func (p *jparser) escapedStr(start int) (string, bool) {
	s := p.src
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			p.pos = i + 1
			return unquote(s[start:i]), true
		case c < 0x20:
			return "", false
		case c == '\\':
			i++
			if i >= len(s) {
				return "", false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || hex4(s[i+1:i+5]) < 0 {
					return "", false
				}
				i += 4
			default:
				return "", false
			}
		}
	}
	return "", false
}

// hex4 decodes four hex digits, or returns -1.
func hex4(s string) rune {
	var r rune
	for i := range 4 {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unquote unescapes the body of a string whose escapes are known to be
// well formed, as encoding/json does: invalid UTF-8 and unpaired
// surrogates become U+FFFD.
func unquote(s string) string {
	b := make([]byte, 0, len(s)+utf8.UTFMax)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			i++
			switch s[i] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+1:])
				i += 5
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, hex4(s[i+2:])); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[i])
			}
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r)
			i += size
		}
	}
	return string(b)
}

// marshalJSON writes v compactly, members in their original order.
func marshalJSON(buf *bytes.Buffer, v jvalue) {
	switch v.kind {
	case jNull:
		buf.WriteString("null")
	case jBool:
		buf.WriteString(strconv.FormatBool(v.b))
	case jNumber:
		buf.WriteString(v.s)
	case jString:
		writeJSONString(buf, v.s)
	case jArray:
		buf.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				buf.WriteByte(',')
			}
			marshalJSON(buf, e)
		}
		buf.WriteByte(']')
	case jObject:
		buf.WriteByte('{')
		for i, m := range v.obj {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, m.key)
			buf.WriteByte(':')
			marshalJSON(buf, m.val)
		}
		buf.WriteByte('}')
	}
}

func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // a string always encodes
	buf.Truncate(buf.Len() - 1) // Encode ends with a newline
}

// member returns the value of the first member named key.
func (v *jvalue) member(key string) (*jvalue, bool) {
	for i := range v.obj {
		if v.obj[i].key == key {
			return &v.obj[i].val, true
		}
	}
	return nil, false
}

// str returns the string value of member key, or "".
func (v *jvalue) memberString(key string) string {
	m, ok := v.member(key)
	if !ok || m.kind != jString {
		return ""
	}
	return m.s
}

// clone returns a deep copy of v.
func (v jvalue) clone() jvalue {
	out := v
	if v.arr != nil {
		out.arr = make([]jvalue, len(v.arr))
		for i, e := range v.arr {
			out.arr[i] = e.clone()
		}
	}
	if v.obj != nil {
		out.obj = make([]jmember, len(v.obj))
		for i, m := range v.obj {
			out.obj[i] = jmember{key: m.key, val: m.val.clone()}
		}
	}
	return out
}
