package mapping

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/avro"
)

// Mapping is a compiled mapping file: how the events of one source system
// become canonical objects. It never changes after Compile and is safe for
// concurrent use.
type Mapping struct {
	file    string
	source  string
	events  map[string][]*cevent // by source event record
	records []string
	objects []string
	ignored map[string]bool
}

// File returns the name the mapping was compiled under.
func (m *Mapping) File() string { return m.file }

// Source returns the source system the mapping is for, e.g. "crm".
func (m *Mapping) Source() string { return m.source }

// Records returns the source event records the mapping maps, in file
// order.
func (m *Mapping) Records() []string { return slices.Clone(m.records) }

// Objects returns the canonical object types the mapping can produce,
// sorted.
func (m *Mapping) Objects() []string { return slices.Clone(m.objects) }

// Object is one canonical object mapped from a source event, before
// identity stitching: the transform stage gives it its canonical id,
// tenant, external ids and references.
type Object struct {
	// Name is the object's name in the mapping, unique within the event
	// (by default its type).
	Name string
	// Type is the canonical object type: account, contact, order or
	// ticket.
	Type string
	// Record is the full name of the canonical event record, e.g.
	// "sluice.canonical.ContactEvent".
	Record string
	// ExternalID is the object's id in the source system.
	ExternalID string
	// ExternalURL links to the object in the source system, "" if none.
	ExternalURL string
	// Email is the raw e-mail address a contact matches on, "" if none.
	Email string
	// Domains are the raw domains, URLs or addresses an account matches
	// on, in the order to try them.
	Domains []string
	// Action is created, updated or deleted.
	Action string
	// Data is the canonical record in native form, ready for the serde:
	// its fields in the schema's slots, its nested records Records too.
	// tenant_id, id and external_ids are left empty, and so are the
	// fields named in Refs.
	Data *avro.Record
	// Refs are the fields that hold the canonical id of another object.
	Refs []Ref
}

// Ref is a field of an object that holds another object's canonical id.
type Ref struct {
	// Field is the canonical field, e.g. "account_id".
	Field string
	// Sibling names another object of the same event ("customer"); or,
	// when empty, Type and ExternalID name the object by its id in the
	// same source system.
	Sibling    string
	Type       string
	ExternalID string
}

// Apply maps one decoded source event (the native value of the event
// record: {"envelope": ..., "data": ...}, as a map[string]any or an
// *avro.Record, whose records may be either too) to its canonical
// objects. An
// event of a record the mapping ignores, or whose type or conditions
// select no object, gives none. A value that cannot be mapped gives an
// *Error naming the canonical field and the source path.
func (m *Mapping) Apply(record string, event any) ([]Object, error) {
	entries, ok := m.events[record]
	if !ok {
		if m.ignored[record] {
			return nil, nil
		}
		return nil, &Error{Record: record, Object: m.source, Reason: "the mapping " + m.file + " does not map this record"}
	}
	eventType, _ := avro.Field(avro.Field(event, "envelope"), "event_type").(string)
	var out []Object
	for _, e := range entries {
		if !e.matches(eventType) {
			continue
		}
		for _, o := range e.objects {
			c := &ectx{root: event, record: record, object: o.name}
			obj, ok, err := o.build(c)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, obj)
			}
		}
	}
	return out, nil
}

// TypePattern reports whether an event type matches a pattern of the
// mapping's types lists: the type itself, a prefix ending in '*', or "*".
func TypePattern(pattern, eventType string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(eventType, p)
	}
	return pattern == eventType
}

type cevent struct {
	record  string
	types   []string
	objects []*cobject
}

func (e *cevent) matches(eventType string) bool {
	if len(e.types) == 0 {
		return true
	}
	for _, p := range e.types {
		if TypePattern(p, eventType) {
			return true
		}
	}
	return false
}

type cobject struct {
	name, typ, record string
	when              *cwhen
	extID, extURL     *cvalue
	email             *cvalue
	domains           []*cvalue
	action            *cvalue
	data              *crecord
	refs              []*cref
}

type cref struct {
	field    string
	sibling  string
	typ      string
	extID    *cvalue
	nullable bool
	line     int
	path     string
}

// ectx is the state of mapping one object of one event.
type ectx struct {
	root   any
	items  []any // elements of the enclosing each, innermost last
	idx    []int // their indexes
	record string
	object string

	// prefix is the parent getter read last, and prefixValue its value:
	// paths under one prefix are mostly read one after the other.
	prefix      *getter
	prefixValue any
}

// under returns the value at a parent getter's path, read once for the
// paths under it that are read in a row.
func (c *ectx) under(p *getter) any {
	if c.prefix != p {
		c.prefix, c.prefixValue = p, p.get(c)
	}
	return c.prefixValue
}

func (c *ectx) fail(label, path, reason string) error {
	return &Error{Record: c.record, Object: c.object, Field: c.fill(label), Path: path, Reason: reason}
}

// fill puts the indexes of the enclosing each into a label's "[]".
func (c *ectx) fill(label string) string {
	if !strings.Contains(label, "[]") {
		return label
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(label, "[]")
		if j < 0 {
			b.WriteString(label)
			return b.String()
		}
		b.WriteString(label[:j])
		b.WriteByte('[')
		if i < len(c.idx) {
			b.WriteString(strconv.Itoa(c.idx[i]))
		}
		b.WriteByte(']')
		i++
		label = label[j+2:]
	}
}

func (o *cobject) build(c *ectx) (Object, bool, error) {
	if o.when != nil && !o.when.holds(c) {
		return Object{}, false, nil
	}
	obj := Object{Name: o.name, Type: o.typ, Record: o.record, Action: ActionUpdated}
	id, err := o.extID.eval(c)
	if err != nil {
		return obj, false, err
	}
	if id == nil || id.(string) == "" {
		return obj, false, c.fail("external_id", o.extID.firstPath(), "the object's id in the source system is missing")
	}
	obj.ExternalID = id.(string)
	if o.extURL != nil {
		u, err := o.extURL.eval(c)
		if err != nil {
			return obj, false, err
		}
		if u != nil {
			obj.ExternalURL = u.(string)
		}
	}
	if o.email != nil {
		e, err := o.email.eval(c)
		if err != nil {
			return obj, false, err
		}
		if e != nil {
			obj.Email = e.(string)
		}
	}
	for _, d := range o.domains {
		v, err := d.eval(c)
		if err != nil {
			return obj, false, err
		}
		if v != nil {
			obj.Domains = append(obj.Domains, v.(string))
		}
	}
	if o.action != nil {
		a, err := o.action.eval(c)
		if err != nil {
			return obj, false, err
		}
		if a != nil {
			s := a.(string)
			if !validAction(s) {
				return obj, false, c.fail("action", o.action.firstPath(), "an action is created, updated or deleted")
			}
			obj.Action = s
		}
	}
	data, _, err := o.data.build(c, false)
	if err != nil {
		return obj, false, err
	}
	obj.Data = data
	if d, ok := data.Get("deleted").(bool); ok && d {
		obj.Action = ActionDeleted
	}
	for _, r := range o.refs {
		ref := Ref{Field: r.field, Sibling: r.sibling, Type: r.typ}
		if r.sibling == "" {
			if r.extID == nil {
				continue
			}
			v, err := r.extID.eval(c)
			if err != nil {
				return obj, false, err
			}
			if v == nil || v.(string) == "" {
				continue // no reference: the field stays null
			}
			ref.ExternalID = v.(string)
		}
		obj.Refs = append(obj.Refs, ref)
	}
	return obj, true, nil
}

// crecord builds a canonical record.
type crecord struct {
	t      *atype
	fields []cfield
	// slots names fields, in order: the records built are its Records.
	slots *avro.Fields
}

type cfield struct {
	name     string
	eval     *cvalue // nil: the mapping does not set the field
	def      any
	hasDef   bool
	nullable bool
	managed  bool
	// placeholder is a managed field's value until the stage sets it.
	placeholder any
	required    bool
	ref         *cref
	from        string
}

// build returns the record and whether the event gave any of its fields a
// value. An optional record (one left out when none of its fields has a
// value) that none has is not made: build returns nil and false.
func (r *crecord) build(c *ectx, optional bool) (*avro.Record, bool, error) {
	var out *avro.Record
	if !optional {
		out = r.slots.New()
	}
	anyGiven := false
	for i := range r.fields {
		f := &r.fields[i]
		v, given, err := f.value(c)
		if err != nil {
			return nil, false, err
		}
		if given && out == nil {
			// The first value of an optional record: make it, with the
			// fields before, which had none (and so no error either).
			out = r.slots.New()
			for j := range r.fields[:i] {
				out.Values[j], _ = r.fields[j].none(c)
			}
		}
		anyGiven = anyGiven || given
		if out != nil {
			out.Values[i] = v
		}
	}
	return out, anyGiven, nil
}

// value returns the field's value and whether the event gave it.
func (f *cfield) value(c *ectx) (any, bool, error) {
	if f.eval != nil {
		v, err := f.eval.eval(c)
		if err != nil {
			return nil, false, err
		}
		if v != nil {
			return v, true, nil
		}
		if f.eval.required {
			return nil, false, c.fail(f.eval.label, f.from, "a required value is missing")
		}
	}
	v, err := f.none(c)
	return v, false, err
}

// none returns the field's value when the event gives it none.
func (f *cfield) none(c *ectx) (any, error) {
	switch {
	case f.managed:
		return f.placeholder, nil
	case f.ref != nil:
		if f.ref.nullable {
			return nil, nil
		}
		return "", nil
	case f.nullable:
		return nil, nil
	case f.hasDef:
		return cloneNative(f.def), nil
	}
	label := f.name
	if f.eval != nil {
		label = f.eval.label
	}
	return nil, c.fail(label, f.from, "the canonical model requires a value, and the event has none")
}

// cvalue evaluates one field spec.
type cvalue struct {
	label    string
	when     *cwhen
	required bool
	def      any
	hasDef   bool
	wrap     string // union branch name to wrap a value in, "" for bare

	isConst bool
	konst   any
	pipes   []*cpipe
	money   *cmoney
	each    *ceach
	rec     *crecord
	entries []centry
}

type centry struct {
	key string
	val *cvalue
}

func (v *cvalue) firstPath() string {
	if len(v.pipes) > 0 {
		return v.pipes[0].get.text
	}
	return ""
}

// eval returns the native value, or nil for none.
func (v *cvalue) eval(c *ectx) (any, error) {
	if v.when != nil && !v.when.holds(c) {
		return v.wrapped(v.fallback())
	}
	var out any
	switch {
	case v.isConst:
		out = v.konst
	case v.money != nil:
		m, err := v.money.eval(c)
		if err != nil {
			return nil, err
		}
		out = m
	case v.each != nil:
		arr, err := v.each.eval(c)
		if err != nil {
			return nil, err
		}
		out = arr
	case v.rec != nil:
		m, any_, err := v.rec.build(c, true)
		if err != nil {
			return nil, err
		}
		if any_ {
			out = m
		}
	case v.entries != nil:
		m := make(map[string]any, len(v.entries))
		for _, e := range v.entries {
			x, err := e.val.eval(c)
			if err != nil {
				return nil, err
			}
			if x != nil {
				m[e.key] = x
			}
		}
		out = m
	default:
		for _, p := range v.pipes {
			x, done, err := p.run(c, v)
			if err != nil {
				return nil, err
			}
			if done {
				out = x
				break
			}
		}
	}
	if out == nil {
		out = v.fallback()
	}
	return v.wrapped(out)
}

func (v *cvalue) fallback() any {
	if v.hasDef {
		return cloneNative(v.def)
	}
	return nil
}

func (v *cvalue) wrapped(x any) (any, error) {
	if x == nil || v.wrap == "" {
		return x, nil
	}
	return map[string]any{v.wrap: x}, nil
}

// cpipe is one source path of a field.
type cpipe struct {
	get       *getter
	steps     []func(any) (any, bool)
	stepNames []string
	lookup    map[string]any
	conv      func(any) (any, bool)
	target    string
	kind      kind   // of a raw value (no conversion)
	leaf      *atype // the value's type after the steps
}

// run reads and converts the path's value; done is false when the path
// has no value and the next one should be tried.
func (p *cpipe) run(c *ectx, v *cvalue) (any, bool, error) {
	x := p.get.get(c)
	if x == nil {
		return nil, false, nil
	}
	for i, s := range p.steps {
		y, ok := s(x)
		if !ok {
			return nil, false, c.fail(v.label, p.get.text, "the value cannot be converted with "+p.stepNames[i])
		}
		if y == nil {
			return nil, false, nil
		}
		x = y
	}
	if p.lookup != nil {
		key, ok := asString(x)
		if ok {
			if y, hit := p.lookup[key]; hit {
				return y, y != nil, nil
			}
		}
		if v.hasDef {
			return cloneNative(v.def), true, nil
		}
		return nil, false, c.fail(v.label, p.get.text, "the value has no entry in the mapping's map and there is no default")
	}
	if p.conv == nil {
		return x, true, nil
	}
	y, ok := p.conv(x)
	if !ok {
		if v.hasDef && strings.HasPrefix(p.target, "enum") {
			return cloneNative(v.def), true, nil
		}
		return nil, false, c.fail(v.label, p.get.text, "the value cannot be read as "+p.target)
	}
	return y, true, nil
}

// cmoney builds a sluice.canonical.Money.
type cmoney struct {
	label    string
	amount   *cvalue
	currency *cvalue
	multiply *cvalue
	add      []*cvalue
	subtract []*cvalue
	major    bool
}

func (m *cmoney) eval(c *ectx) (any, error) {
	a, err := m.amount.eval(c)
	if err != nil || a == nil {
		return nil, err
	}
	amount, ok := asRat(a)
	if !ok {
		return nil, c.fail(m.label+".amount_minor", m.amount.firstPath(), "the amount is not a number")
	}
	cur, err := m.currency.eval(c)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, c.fail(m.label+".currency", m.currency.firstPath(), "the currency is missing")
	}
	code, ok := normalizeCurrency(cur.(string))
	if !ok {
		return nil, c.fail(m.label+".currency", m.currency.firstPath(), "the currency is not a three-letter ISO 4217 code")
	}
	// amount may be the event's own value: it is copied before any
	// arithmetic changes it.
	total := amount
	if m.multiply != nil || len(m.add) > 0 || len(m.subtract) > 0 {
		total = new(big.Rat).Set(amount)
	}
	if m.multiply != nil {
		q, err := m.multiply.eval(c)
		if err != nil {
			return nil, err
		}
		if q != nil {
			r, ok := asRat(q)
			if !ok {
				return nil, c.fail(m.label+".amount_minor", m.multiply.firstPath(), "the multiplier is not a number")
			}
			total.Mul(total, r)
		}
	}
	for i, parts := range [][]*cvalue{m.add, m.subtract} {
		for _, p := range parts {
			x, err := p.eval(c)
			if err != nil {
				return nil, err
			}
			if x == nil {
				continue // a missing term counts as nothing
			}
			r, ok := asRat(x)
			if !ok {
				return nil, c.fail(m.label+".amount_minor", p.firstPath(), "the amount is not a number")
			}
			if i == 0 {
				total.Add(total, r)
			} else {
				total.Sub(total, r)
			}
		}
	}
	minor, reason := toMinor(total, m.major, code)
	if reason != "" {
		return nil, c.fail(m.label+".amount_minor", m.amount.firstPath(), reason)
	}
	return map[string]any{"amount_minor": minor, "currency": code}, nil
}

// ceach builds a list from a source list.
type ceach struct {
	get    *getter
	unwrap map[string]bool
	label  string
	rec    *crecord
	val    *cvalue
}

func (e *ceach) eval(c *ectx) (any, error) {
	x := e.get.get(c)
	if x == nil {
		return nil, nil
	}
	arr, ok := x.([]any)
	if !ok {
		return nil, c.fail(e.label, e.get.text, "the value is not a list")
	}
	out := make([]any, 0, len(arr))
	for i, el := range arr {
		if e.unwrap != nil {
			el = unwrapUnion(el, e.unwrap)
		}
		if el == nil {
			continue
		}
		c.items = append(c.items, el)
		c.idx = append(c.idx, i)
		var v any
		var err error
		if e.rec != nil {
			v, _, err = e.rec.build(c, false)
		} else {
			v, err = e.val.eval(c)
		}
		c.items = c.items[:len(c.items)-1]
		c.idx = c.idx[:len(c.idx)-1]
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// cwhen is a condition on the event.
type cwhen struct {
	mode int
	get  *getter
	set  map[string]bool
}

const (
	whenPresent = iota
	whenAbsent
	whenIn
	whenNotIn
)

func (w *cwhen) holds(c *ectx) bool {
	if w.get == nil {
		return false
	}
	v := w.get.get(c)
	switch w.mode {
	case whenPresent:
		return v != nil
	case whenAbsent:
		return v == nil
	}
	in := false
	if v != nil {
		if s, ok := asString(v); ok {
			in = w.set[s]
		}
	}
	if w.mode == whenIn {
		return in
	}
	return !in
}

// String describes the mapping for logs.
func (m *Mapping) String() string {
	return fmt.Sprintf("mapping %s (source %s, %d records)", m.file, m.source, len(m.records))
}
