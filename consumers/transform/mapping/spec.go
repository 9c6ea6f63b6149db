package mapping

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The mapping file as written, before it is checked against the
// contracts. Every node keeps its line and its path for error messages.

type fileSpec struct {
	source string
	events []*eventSpec
	ignore []scalarAt // source event records left unmapped on purpose
}

type scalarAt struct {
	value string
	line  int
	path  string
}

type eventSpec struct {
	line    int
	path    string
	record  string
	types   []scalarAt
	objects []*objectSpec
}

type objectSpec struct {
	line        int
	path        string
	name        string
	object      string
	when        *whenSpec
	externalID  *fieldSpec
	externalURL *fieldSpec
	matchEmail  *fieldSpec
	matchDomain *fieldSpec
	action      *fieldSpec
	fields      []namedSpec
}

type namedSpec struct {
	name string
	spec *fieldSpec
}

type whenSpec struct {
	line    int
	path    string
	present string // a source path that must hold a value
	absent  string // a source path that must not
	field   string // with in / notIn
	in      []*yaml.Node
	notIn   []*yaml.Node
}

type fieldSpec struct {
	line int
	path string // where the spec is in the file

	from     []scalarAt
	konst    *yaml.Node
	def      *yaml.Node
	required bool
	vmap     []mapEntry
	as       []scalarAt
	unit     string
	layout   string
	money    *moneySpec
	fields   []namedSpec
	each     *scalarAt
	entries  []namedSpec
	when     *whenSpec
	ref      string // a sibling object's name
	refType  string // or an object type with refID
	refID    *fieldSpec
	isRef    bool
}

type mapEntry struct {
	key   string
	value *yaml.Node
	line  int
}

type moneySpec struct {
	amount   *fieldSpec
	currency *fieldSpec
	unit     string
	multiply *fieldSpec
	add      []*fieldSpec
	subtract []*fieldSpec
}

// specParser walks the YAML nodes of a mapping file and collects every
// problem it finds.
type specParser struct {
	file string
	errs SpecErrors
}

func (p *specParser) fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &SpecError{File: p.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func parseSpec(file string, data []byte) (*fileSpec, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &SpecError{File: file, Msg: "not YAML: " + err.Error()}
	}
	if len(root.Content) == 0 {
		return nil, &SpecError{File: file, Msg: "the mapping is empty"}
	}
	p := &specParser{file: file}
	fs := p.file_(root.Content[0])
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return fs, nil
}

// members returns the key/value pairs of a mapping node, refusing keys not
// in allowed.
func (p *specParser) members(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.fail(n, path, "expected a mapping, got %s", nodeKind(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok := false
		for _, a := range allowed {
			if k.Value == a {
				ok = true
				break
			}
		}
		if !ok {
			p.fail(k, join(path, k.Value), "unknown key; expected one of %s", strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.fail(k, join(path, k.Value), "given twice")
			continue
		}
		out[k.Value] = v
	}
	return out
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *specParser) str(n *yaml.Node, path string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, path, "expected a string, got %s", nodeKind(n))
		return ""
	}
	return n.Value
}

func (p *specParser) boolean(n *yaml.Node, path string) bool {
	if n == nil {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.fail(n, path, "expected true or false")
	}
	return b
}

// strs reads a string or a list of strings.
func (p *specParser) strs(n *yaml.Node, path string) []scalarAt {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		out := make([]scalarAt, 0, len(n.Content))
		for i, c := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			out = append(out, scalarAt{value: p.str(c, ip), line: c.Line, path: ip})
		}
		return out
	}
	return []scalarAt{{value: p.str(n, path), line: n.Line, path: path}}
}

func (p *specParser) file_(n *yaml.Node) *fileSpec {
	m := p.members(n, "", "source", "events", "ignore")
	if m == nil {
		return nil
	}
	fs := &fileSpec{source: p.str(m["source"], "source")}
	if m["source"] == nil {
		p.fail(n, "source", "missing: name the source system the mapping is for")
	}
	fs.ignore = p.strs(m["ignore"], "ignore")
	ev := m["events"]
	if ev == nil {
		p.fail(n, "events", "missing: list the source events and the objects they map to")
		return fs
	}
	if ev.Kind != yaml.SequenceNode {
		p.fail(ev, "events", "expected a list, got %s", nodeKind(ev))
		return fs
	}
	for i, e := range ev.Content {
		if es := p.event(e, fmt.Sprintf("events[%d]", i)); es != nil {
			fs.events = append(fs.events, es)
		}
	}
	return fs
}

func (p *specParser) event(n *yaml.Node, path string) *eventSpec {
	m := p.members(n, path, "record", "types", "objects")
	if m == nil {
		return nil
	}
	es := &eventSpec{line: n.Line, path: path, record: p.str(m["record"], join(path, "record"))}
	if m["record"] == nil {
		p.fail(n, join(path, "record"), "missing: the full name of the source event record")
	}
	es.types = p.strs(m["types"], join(path, "types"))
	objs := m["objects"]
	if objs == nil || objs.Kind != yaml.SequenceNode || len(objs.Content) == 0 {
		p.fail(n, join(path, "objects"), "expected a list of at least one object")
		return es
	}
	for i, o := range objs.Content {
		if os := p.object(o, fmt.Sprintf("%s.objects[%d]", path, i)); os != nil {
			es.objects = append(es.objects, os)
		}
	}
	return es
}

func (p *specParser) object(n *yaml.Node, path string) *objectSpec {
	m := p.members(n, path, "object", "name", "when", "external_id", "external_url", "match", "action", "fields")
	if m == nil {
		return nil
	}
	os := &objectSpec{line: n.Line, path: path}
	os.object = p.str(m["object"], join(path, "object"))
	if m["object"] == nil {
		p.fail(n, join(path, "object"), "missing: the canonical object (account, contact, order or ticket)")
	}
	os.name = os.object
	if m["name"] != nil {
		os.name = p.str(m["name"], join(path, "name"))
	}
	if m["when"] != nil {
		os.when = p.when(m["when"], join(path, "when"))
	}
	if m["external_id"] == nil {
		p.fail(n, join(path, "external_id"), "missing: where the object's id in the source system is")
	} else {
		os.externalID = p.field(m["external_id"], join(path, "external_id"))
	}
	if m["external_url"] != nil {
		os.externalURL = p.field(m["external_url"], join(path, "external_url"))
	}
	if mm := m["match"]; mm != nil {
		mp := join(path, "match")
		mem := p.members(mm, mp, "email", "domain")
		if mem["email"] != nil {
			os.matchEmail = p.field(mem["email"], join(mp, "email"))
		}
		if mem["domain"] != nil {
			os.matchDomain = p.field(mem["domain"], join(mp, "domain"))
		}
	}
	if m["action"] != nil {
		os.action = p.field(m["action"], join(path, "action"))
	}
	os.fields = p.named(m["fields"], join(path, "fields"))
	return os
}

// named reads a mapping of names to field specs, in file order.
func (p *specParser) named(n *yaml.Node, path string) []namedSpec {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, path, "expected a mapping of names to values, got %s", nodeKind(n))
		return nil
	}
	var out []namedSpec
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fp := join(path, k.Value)
		if seen[k.Value] {
			p.fail(k, fp, "given twice")
			continue
		}
		seen[k.Value] = true
		if fs := p.field(v, fp); fs != nil {
			out = append(out, namedSpec{name: k.Value, spec: fs})
		}
	}
	return out
}

func (p *specParser) when(n *yaml.Node, path string) *whenSpec {
	m := p.members(n, path, "present", "absent", "path", "in", "not_in")
	if m == nil {
		return nil
	}
	w := &whenSpec{line: n.Line, path: path}
	w.present = p.str(m["present"], join(path, "present"))
	w.absent = p.str(m["absent"], join(path, "absent"))
	w.field = p.str(m["path"], join(path, "path"))
	list := func(key string) []*yaml.Node {
		v := m[key]
		if v == nil {
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			p.fail(v, join(path, key), "expected a list of values")
			return nil
		}
		return v.Content
	}
	w.in, w.notIn = list("in"), list("not_in")
	n1 := 0
	for _, set := range []bool{w.present != "", w.absent != "", w.field != ""} {
		if set {
			n1++
		}
	}
	switch {
	case n1 != 1:
		p.fail(n, path, "give exactly one of present, absent, or path with in or not_in")
	case w.field != "" && (w.in == nil) == (w.notIn == nil):
		p.fail(n, path, "path needs exactly one of in or not_in")
	case w.field == "" && (w.in != nil || w.notIn != nil):
		p.fail(n, path, "in and not_in need a path")
	}
	return w
}

// fieldKeys are the keys a field spec may have.
func fieldKeys() []string {
	return []string{"from", "const", "default", "required", "map", "as", "unit", "layout", "money", "fields", "each", "entries", "when", "ref"}
}

func (p *specParser) field(n *yaml.Node, path string) *fieldSpec {
	fs := &fieldSpec{line: n.Line, path: path}
	if n.Kind == yaml.ScalarNode {
		// The short form: a source path.
		fs.from = []scalarAt{{value: p.str(n, path), line: n.Line, path: path}}
		return fs
	}
	if n.Kind == yaml.SequenceNode {
		// The short form of a list of paths, the first with a value wins.
		fs.from = p.strs(n, path)
		return fs
	}
	m := p.members(n, path, fieldKeys()...)
	if m == nil {
		return nil
	}
	fs.from = p.strs(m["from"], join(path, "from"))
	if c := m["const"]; c != nil {
		if c.Kind != yaml.ScalarNode {
			p.fail(c, join(path, "const"), "expected a scalar constant, got %s", nodeKind(c))
		}
		fs.konst = c
	}
	if d := m["default"]; d != nil {
		if d.Kind != yaml.ScalarNode {
			p.fail(d, join(path, "default"), "expected a scalar default, got %s", nodeKind(d))
		}
		fs.def = d
	}
	fs.required = p.boolean(m["required"], join(path, "required"))
	if mm := m["map"]; mm != nil {
		mp := join(path, "map")
		if mm.Kind != yaml.MappingNode {
			p.fail(mm, mp, "expected a mapping of source values to canonical values")
		} else {
			for i := 0; i+1 < len(mm.Content); i += 2 {
				k, v := mm.Content[i], mm.Content[i+1]
				if v.Kind != yaml.ScalarNode {
					p.fail(v, join(mp, k.Value), "expected a scalar value, got %s", nodeKind(v))
					continue
				}
				fs.vmap = append(fs.vmap, mapEntry{key: k.Value, value: v, line: k.Line})
			}
		}
	}
	fs.as = p.strs(m["as"], join(path, "as"))
	fs.unit = p.str(m["unit"], join(path, "unit"))
	fs.layout = p.str(m["layout"], join(path, "layout"))
	if mo := m["money"]; mo != nil {
		fs.money = p.moneySpec(mo, join(path, "money"))
	}
	if f := m["fields"]; f != nil {
		fs.fields = p.named(f, join(path, "fields"))
		if len(fs.fields) == 0 {
			p.fail(f, join(path, "fields"), "expected at least one field")
		}
	}
	if e := m["each"]; e != nil {
		ep := join(path, "each")
		fs.each = &scalarAt{value: p.str(e, ep), line: e.Line, path: ep}
	}
	if e := m["entries"]; e != nil {
		fs.entries = p.named(e, join(path, "entries"))
	}
	if w := m["when"]; w != nil {
		fs.when = p.when(w, join(path, "when"))
	}
	if r := m["ref"]; r != nil {
		rp := join(path, "ref")
		fs.isRef = true
		if r.Kind == yaml.ScalarNode {
			fs.ref = p.str(r, rp)
		} else {
			rm := p.members(r, rp, "object", "external_id")
			fs.refType = p.str(rm["object"], join(rp, "object"))
			if rm["object"] == nil || rm["external_id"] == nil {
				p.fail(r, rp, "a reference by id needs object and external_id")
			} else {
				fs.refID = p.field(rm["external_id"], join(rp, "external_id"))
			}
		}
	}
	// What a field may combine.
	sources := 0
	for _, set := range []bool{len(fs.from) > 0, fs.konst != nil, fs.money != nil, fs.fields != nil && fs.each == nil, fs.entries != nil, fs.isRef} {
		if set {
			sources++
		}
	}
	if fs.each != nil && fs.fields == nil && len(fs.from) == 0 {
		p.fail(n, path, "each needs fields (a list of records) or from (a list of values)")
	}
	if fs.each != nil && fs.fields != nil && len(fs.from) > 0 {
		p.fail(n, path, "each takes fields or from, not both")
	}
	if fs.each == nil && sources != 1 {
		p.fail(n, path, "give exactly one of from, const, money, fields, entries or ref")
	}
	if fs.each != nil && (fs.konst != nil || fs.money != nil || fs.entries != nil || fs.isRef) {
		p.fail(n, path, "each takes fields or from only")
	}
	if fs.konst != nil && (fs.def != nil || fs.vmap != nil || fs.as != nil) {
		p.fail(n, path, "a constant takes no default, map or as")
	}
	return fs
}

func (p *specParser) moneySpec(n *yaml.Node, path string) *moneySpec {
	m := p.members(n, path, "amount", "currency", "unit", "multiply", "add", "subtract")
	if m == nil {
		return nil
	}
	ms := &moneySpec{unit: p.str(m["unit"], join(path, "unit"))}
	if m["amount"] == nil || m["currency"] == nil {
		p.fail(n, path, "money needs amount and currency")
		return ms
	}
	ms.amount = p.field(m["amount"], join(path, "amount"))
	ms.currency = p.field(m["currency"], join(path, "currency"))
	if v := m["multiply"]; v != nil {
		ms.multiply = p.field(v, join(path, "multiply"))
	}
	list := func(key string) []*fieldSpec {
		v := m[key]
		if v == nil {
			return nil
		}
		kp := join(path, key)
		if v.Kind != yaml.SequenceNode {
			return []*fieldSpec{p.field(v, kp)}
		}
		var out []*fieldSpec
		for i, c := range v.Content {
			out = append(out, p.field(c, fmt.Sprintf("%s[%d]", kp, i)))
		}
		return out
	}
	ms.add, ms.subtract = list("add"), list("subtract")
	return ms
}

// scalarValue decodes a YAML scalar to a Go value: nil, bool, int64,
// float64 or string, by its resolved tag.
func scalarValue(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		err := n.Decode(&b)
		return b, err
	case "!!int":
		var i int64
		err := n.Decode(&i)
		return i, err
	case "!!float":
		var f float64
		err := n.Decode(&f)
		return f, err
	}
	return n.Value, nil
}

// quote quotes s for a message about the mapping file (never about event
// data).
func quote(s string) string { return strconv.Quote(s) }
