package avro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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

// parseJSON parses one JSON document. It checks the document with
// json.Valid first, so the parser below only ever sees well-formed input
// and stays small; the error of an invalid document comes from
// encoding/json and names the offset.
func parseJSON(data []byte) (jvalue, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil {
			// json.Valid and json.Unmarshal disagree only on documents
			// nested deeper than encoding/json allows.
			err = fmt.Errorf("invalid JSON")
		}
		return jvalue{}, err
	}
	p := jparser{data: data}
	p.skipSpace()
	return p.value()
}

type jparser struct {
	data []byte
	pos  int
	// Members and elements of the objects and arrays being parsed are
	// gathered on these stacks and copied out once complete, so that each
	// object or array costs one allocation of its exact size.
	members  []jmember
	elements []jvalue
}

func (p *jparser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value at pos; the input is known to be valid JSON.
func (p *jparser) value() (jvalue, error) {
	switch c := p.data[p.pos]; c {
	case 'n':
		p.pos += 4
		return jvalue{kind: jNull}, nil
	case 't':
		p.pos += 4
		return jvalue{kind: jBool, b: true}, nil
	case 'f':
		p.pos += 5
		return jvalue{kind: jBool}, nil
	case '"':
		s, err := p.str()
		return jvalue{kind: jString, s: s}, err
	case '[':
		p.pos++
		p.skipSpace()
		v := jvalue{kind: jArray}
		if p.data[p.pos] == ']' {
			p.pos++
			v.arr = []jvalue{}
			return v, nil
		}
		mark := len(p.elements)
		for {
			e, err := p.value()
			if err != nil {
				return v, err
			}
			p.elements = append(p.elements, e)
			p.skipSpace()
			if p.data[p.pos] == ',' {
				p.pos++
				p.skipSpace()
				continue
			}
			p.pos++ // ']'
			v.arr = append([]jvalue(nil), p.elements[mark:]...)
			clear(p.elements[mark:])
			p.elements = p.elements[:mark]
			return v, nil
		}
	case '{':
		p.pos++
		p.skipSpace()
		v := jvalue{kind: jObject}
		if p.data[p.pos] == '}' {
			p.pos++
			v.obj = []jmember{}
			return v, nil
		}
		mark := len(p.members)
		for {
			k, err := p.str()
			if err != nil {
				return v, err
			}
			p.skipSpace()
			p.pos++ // ':'
			p.skipSpace()
			e, err := p.value()
			if err != nil {
				return v, err
			}
			p.members = append(p.members, jmember{key: k, val: e})
			p.skipSpace()
			if p.data[p.pos] == ',' {
				p.pos++
				p.skipSpace()
				continue
			}
			p.pos++ // '}'
			v.obj = append([]jmember(nil), p.members[mark:]...)
			clear(p.members[mark:])
			p.members = p.members[:mark]
			return v, nil
		}
	default:
		start := p.pos
		for p.pos < len(p.data) {
			switch p.data[p.pos] {
			case '-', '+', '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				p.pos++
				continue
			}
			break
		}
		return jvalue{kind: jNumber, s: string(p.data[start:p.pos])}, nil
	}
}

// str parses the string at pos. Strings without escapes are sliced out
// directly; the rare escaped ones are handed to encoding/json, which gets
// surrogate pairs and invalid UTF-8 right.
func (p *jparser) str() (string, error) {
	start := p.pos
	p.pos++
	escaped := false
	for {
		c := p.data[p.pos]
		if c == '"' {
			break
		}
		if c == '\\' {
			escaped = true
			p.pos += 2
			continue
		}
		p.pos++
	}
	p.pos++
	raw := p.data[start:p.pos]
	if !escaped && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
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
