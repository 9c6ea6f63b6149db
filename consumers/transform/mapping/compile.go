package mapping

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/consumers/identity"
)

// objectRecord returns the canonical record of an object type: account,
// contact, order or ticket.
func objectRecord(object string) (string, bool) {
	switch object {
	case "account":
		return "sluice.canonical.Account", true
	case "contact":
		return "sluice.canonical.Contact", true
	case "order":
		return "sluice.canonical.Order", true
	case "ticket":
		return "sluice.canonical.Ticket", true
	}
	return "", false
}

// EventRecord returns the full name of the canonical event record of an
// object type, the Record of its Objects: "sluice.canonical.ContactEvent"
// for contact. ok is false for a type that is not canonical.
func EventRecord(object string) (record string, ok bool) {
	rec, ok := objectRecord(object)
	if !ok {
		return "", false
	}
	return rec + "Event", true
}

// managed reports whether name is one of the fields of every canonical object that the
// transform stage sets itself, from the envelope and identity stitching.
func managed(name string) bool {
	return name == "tenant_id" || name == "id" || name == "external_ids"
}

// Actions of canonical events: the event type is "<object>.<action>".
const (
	ActionCreated = "created"
	ActionUpdated = "updated"
	ActionDeleted = "deleted"
)

func validAction(s string) bool {
	return s == ActionCreated || s == ActionUpdated || s == ActionDeleted
}

// Option configures Compile.
type Option func(*compileConfig)

type compileConfig struct {
	norm *identity.Normalizer
}

// Normalizer sets how the email and domain steps normalise values.
// Default: identity's default rules (identity.NewNormalizer(false, nil, nil)).
func Normalizer(n *identity.Normalizer) Option {
	return func(c *compileConfig) { c.norm = n }
}

// compiler holds what compiling one mapping file needs.
type compiler struct {
	file    string
	schemas *avro.Schemas
	types   map[string]*atype // parsed schemas by full name
	steps   map[string]stepDef
	errs    SpecErrors

	// Per event being compiled.
	record string
	src    *atype
	scopes []*atype // element types of the enclosing each, innermost last

	// prefixes are the parent getters of the paths compiled so far, by
	// event record and path prefix.
	prefixes map[string]*getter
}

func (c *compiler) fail(line int, path, format string, args ...any) {
	c.errs = append(c.errs, &SpecError{File: c.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// schemaType returns the parsed type of a loaded schema.
func (c *compiler) schemaType(name string) (*atype, error) {
	if t, ok := c.types[name]; ok {
		return t, nil
	}
	sc, ok := c.schemas.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no contract named %s", name)
	}
	t, err := parseSchema(sc.Text())
	if err != nil {
		return nil, fmt.Errorf("contract %s: %w", name, err)
	}
	c.types[name] = t
	return t, nil
}

// Compile reads a mapping file and checks it against the contracts: every
// source path must exist in its source event record, every canonical field
// in the canonical record, every conversion must be possible, every
// required canonical field must be set. file names the mapping in errors.
// A mapping that fails gives SpecErrors listing every problem found, each
// with its line and place in the file.
func Compile(file string, data []byte, schemas *avro.Schemas, opts ...Option) (*Mapping, error) {
	cfg := compileConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.norm == nil {
		cfg.norm = identity.NewNormalizer(false, nil, nil)
	}
	spec, err := parseSpec(file, data)
	if err != nil {
		return nil, err
	}
	c := &compiler{file: file, schemas: schemas, types: map[string]*atype{}, steps: stepDefs(cfg.norm), prefixes: map[string]*getter{}}
	m := &Mapping{file: file, source: spec.source, events: map[string][]*cevent{}}
	objects := map[string]bool{}
	for _, es := range spec.events {
		ce := c.event(spec.source, es)
		if ce == nil {
			continue
		}
		if _, seen := m.events[ce.record]; !seen {
			m.records = append(m.records, ce.record)
		}
		m.events[ce.record] = append(m.events[ce.record], ce)
		for _, o := range ce.objects {
			objects[o.typ] = true
		}
	}
	ignored := map[string]bool{}
	for _, ig := range spec.ignore {
		sc, ok := schemas.Lookup(ig.value)
		switch {
		case !ok || !sc.Event:
			c.fail(ig.line, ig.path, "%s is not a source event record", quote(ig.value))
		case sc.Source != spec.source:
			c.fail(ig.line, ig.path, "%s is an event of source %s, not %s", ig.value, sc.Source, spec.source)
		case m.events[ig.value] != nil:
			c.fail(ig.line, ig.path, "%s is mapped and ignored at once", ig.value)
		}
		ignored[ig.value] = true
	}
	// Every event the source sends is mapped or ignored on purpose.
	if spec.source != "" {
		known := false
		for _, sc := range schemas.Events() {
			if sc.Source != spec.source {
				continue
			}
			known = true
			if m.events[sc.Name] == nil && !ignored[sc.Name] {
				c.fail(0, "events", "the source event %s is neither mapped nor listed under ignore", sc.Name)
			}
		}
		if !known {
			c.fail(0, "source", "no source event contract belongs to source %s", quote(spec.source))
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	m.ignored = ignored
	for o := range objects {
		m.objects = append(m.objects, o)
	}
	slices.Sort(m.objects)
	return m, nil
}

func (c *compiler) event(source string, es *eventSpec) *cevent {
	sc, ok := c.schemas.Lookup(es.record)
	if !ok || !sc.Event || sc.Source == avro.SourceCanonical {
		c.fail(es.line, join(es.path, "record"), "%s is not a source event record", quote(es.record))
		return nil
	}
	if sc.Source != source {
		c.fail(es.line, join(es.path, "record"), "%s is an event of source %s, not %s", es.record, sc.Source, source)
		return nil
	}
	src, err := c.schemaType(es.record)
	if err != nil {
		c.fail(es.line, join(es.path, "record"), "%v", err)
		return nil
	}
	c.record, c.src, c.scopes = es.record, src, nil
	ce := &cevent{record: es.record}
	for _, t := range es.types {
		if t.value == "" || (strings.Contains(t.value, "*") && (strings.Count(t.value, "*") > 1 || !strings.HasSuffix(t.value, "*"))) {
			c.fail(t.line, t.path, "an event type is a name, a prefix ending in * or *")
			continue
		}
		ce.types = append(ce.types, t.value)
	}
	names := map[string]bool{}
	for _, os := range es.objects {
		co := c.object(os)
		if co == nil {
			continue
		}
		if names[co.name] {
			c.fail(os.line, join(os.path, "name"), "two objects of the event are named %s; give one a name", quote(co.name))
		}
		names[co.name] = true
		ce.objects = append(ce.objects, co)
	}
	for _, co := range ce.objects {
		for _, r := range co.refs {
			if r.sibling != "" && !names[r.sibling] {
				c.fail(r.line, r.path, "no object of this event is named %s", quote(r.sibling))
			}
			if r.sibling == co.name {
				c.fail(r.line, r.path, "an object cannot refer to itself")
			}
		}
	}
	return ce
}

func (c *compiler) object(os *objectSpec) *cobject {
	rec, ok := objectRecord(os.object)
	if !ok {
		c.fail(os.line, join(os.path, "object"), "unknown canonical object %s; expected account, contact, order or ticket", quote(os.object))
		return nil
	}
	evt, err := c.schemaType(rec + "Event")
	if err != nil {
		c.fail(os.line, join(os.path, "object"), "%v", err)
		return nil
	}
	dataField, ok := evt.byName["data"]
	if !ok || dataField.typ.kind != kRecord {
		c.fail(os.line, join(os.path, "object"), "%sEvent has no data record", rec)
		return nil
	}
	co := &cobject{name: os.name, typ: os.object, record: rec + "Event"}
	str := &atype{kind: kString}
	if os.when != nil {
		co.when = c.when(os.when)
	}
	if os.externalID != nil {
		co.extID = c.value(os.externalID, str, "external_id")
	}
	if os.externalURL != nil {
		co.extURL = c.value(os.externalURL, str, "external_url")
	}
	if os.matchEmail != nil {
		if os.object != "contact" {
			c.fail(os.matchEmail.line, os.matchEmail.path, "only contacts match on e-mail")
		}
		co.email = c.value(os.matchEmail, str, "match.email")
	}
	if os.matchDomain != nil {
		if os.object != "account" {
			c.fail(os.matchDomain.line, os.matchDomain.path, "only accounts match on domain")
		}
		// Each path is tried on its own: the first that gives a company
		// domain is the key.
		for i, from := range os.matchDomain.from {
			one := *os.matchDomain
			one.from = []scalarAt{from}
			co.domains = append(co.domains, c.value(&one, str, fmt.Sprintf("match.domain[%d]", i)))
		}
		if len(os.matchDomain.from) == 0 {
			c.fail(os.matchDomain.line, os.matchDomain.path, "match.domain takes one path or a list of paths")
		}
	}
	if os.action != nil {
		co.action = c.value(os.action, str, "action")
		c.checkActions(os.action)
	}
	co.data = c.recordOf(dataField.typ, os.fields, "", os.path+".fields", os.line, true)
	if co.data != nil {
		for _, f := range co.data.fields {
			if f.ref != nil {
				co.refs = append(co.refs, f.ref)
			}
		}
	}
	return co
}

func (c *compiler) checkActions(fs *fieldSpec) {
	if fs.konst != nil {
		if v, _ := scalarValue(fs.konst); !validAction(fmt.Sprint(v)) {
			c.fail(fs.konst.Line, fs.path, "an action is created, updated or deleted")
		}
	}
	for _, e := range fs.vmap {
		if v, _ := scalarValue(e.value); !validAction(fmt.Sprint(v)) {
			c.fail(e.line, join(fs.path+".map", e.key), "an action is created, updated or deleted")
		}
	}
	if fs.def != nil {
		if v, _ := scalarValue(fs.def); !validAction(fmt.Sprint(v)) {
			c.fail(fs.def.Line, fs.path+".default", "an action is created, updated or deleted")
		}
	}
}

// recordOf compiles the fields of a canonical record. top is true for the
// object itself, where the stage sets the managed fields and references
// are allowed.
func (c *compiler) recordOf(t *atype, specs []namedSpec, label, path string, line int, top bool) *crecord {
	r := &crecord{t: t}
	bySpec := map[string]*fieldSpec{}
	for _, ns := range specs {
		f, ok := t.byName[ns.name]
		switch {
		case !ok:
			c.fail(ns.spec.line, ns.spec.path, "the canonical %s has no field %s (fields: %s)", shortName(t.name), quote(ns.name), fieldNames(t))
			continue
		case top && managed(ns.name):
			c.fail(ns.spec.line, ns.spec.path, "%s is set by the transform stage, not by the mapping", ns.name)
			continue
		}
		_ = f
		bySpec[ns.name] = ns.spec
	}
	for _, f := range t.fields {
		cf := cfield{name: f.name, nullable: f.typ.nullable()}
		if f.hasDef {
			def, err := nativeDefault(f.typ, f.def)
			if err != nil {
				c.fail(line, path, "default of canonical field %s: %v", f.name, err)
			}
			cf.def, cf.hasDef = def, true
		}
		fl := joinLabel(label, f.name)
		fs := bySpec[f.name]
		switch {
		case top && managed(f.name):
			cf.managed = true
			cf.placeholder = ""
			if f.name == "external_ids" {
				// Shared by every object: an empty list that cannot be
				// written to, only appended to into a new one.
				cf.placeholder = []any{}
			}
		case fs != nil && fs.isRef:
			cf.ref = c.ref(fs, f, top)
		case fs != nil:
			cf.eval = c.value(fs, f.typ, fl)
			cf.required = fs.required
			cf.from = firstPath(fs)
		case !cf.nullable && !cf.hasDef:
			c.fail(line, path, "the canonical %s requires %s, which the mapping does not set", shortName(t.name), fl)
		}
		r.fields = append(r.fields, cf)
	}
	names := make([]string, len(r.fields))
	for i := range r.fields {
		names[i] = r.fields[i].name
	}
	var err error
	if r.slots, err = avro.NewFields(names...); err != nil { // a parsed schema names each field once
		c.fail(line, path, "canonical %s: %v", shortName(t.name), err)
	}
	return r
}

func firstPath(fs *fieldSpec) string {
	if len(fs.from) > 0 {
		return fs.from[0].value
	}
	if fs.each != nil {
		return fs.each.value
	}
	return ""
}

func (c *compiler) ref(fs *fieldSpec, f *afield, top bool) *cref {
	if !top {
		c.fail(fs.line, fs.path, "references are only allowed on the object's own fields")
		return nil
	}
	if arms := f.typ.nonNull(); len(arms) != 1 || arms[0].kind != kString {
		c.fail(fs.line, fs.path, "a reference gives a canonical id, a string; %s is %s", f.name, f.typ.describe())
		return nil
	}
	r := &cref{field: f.name, sibling: fs.ref, line: fs.line, path: fs.path, nullable: f.typ.nullable()}
	if fs.ref == "" {
		if _, ok := objectRecord(fs.refType); !ok {
			c.fail(fs.line, fs.path+".ref.object", "unknown canonical object %s", quote(fs.refType))
			return nil
		}
		r.typ = fs.refType
		if fs.refID != nil {
			r.extID = c.value(fs.refID, &atype{kind: kString}, f.name+".external_id")
		}
	}
	return r
}

func shortName(full string) string {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[i+1:]
	}
	return full
}

func joinLabel(label, name string) string {
	if label == "" {
		return name
	}
	return label + "." + name
}

// nativeDefault converts a field's JSON default to its native value.
func nativeDefault(t *atype, def any) (any, error) {
	if t.kind == kUnion {
		if len(t.arms) == 0 {
			return nil, fmt.Errorf("empty union")
		}
		if def == nil && t.arms[0].kind == kNull {
			return nil, nil
		}
		v, err := nativeDefault(t.arms[0], def)
		if err != nil {
			return nil, err
		}
		if n := t.arms[0].branchName(); n != "" {
			return map[string]any{n: v}, nil
		}
		return v, nil
	}
	switch t.kind {
	case kNull:
		return nil, nil
	case kBool:
		b, ok := def.(bool)
		if !ok {
			return nil, fmt.Errorf("not a boolean")
		}
		return b, nil
	case kInt, kLong:
		f, ok := def.(float64)
		if !ok || f != math.Trunc(f) {
			return nil, fmt.Errorf("not an integer")
		}
		if t.kind == kInt {
			return int(f), nil
		}
		return int64(f), nil
	case kFloat:
		f, ok := def.(float64)
		if !ok {
			return nil, fmt.Errorf("not a number")
		}
		return float32(f), nil
	case kDouble:
		f, ok := def.(float64)
		if !ok {
			return nil, fmt.Errorf("not a number")
		}
		return f, nil
	case kString, kEnum:
		s, ok := def.(string)
		if !ok {
			return nil, fmt.Errorf("not a string")
		}
		return s, nil
	case kArray:
		a, ok := def.([]any)
		if !ok {
			return nil, fmt.Errorf("not an array")
		}
		out := make([]any, 0, len(a))
		for _, e := range a {
			v, err := nativeDefault(t.items, e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case kMap:
		m, ok := def.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object")
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			v, err := nativeDefault(t.values, e)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case kRecord:
		m, ok := def.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object")
		}
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			d, has := m[f.name]
			if !has {
				if !f.hasDef {
					return nil, fmt.Errorf("no value for field %s", f.name)
				}
				d = f.def
			}
			v, err := nativeDefault(f.typ, d)
			if err != nil {
				return nil, err
			}
			out[f.name] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("defaults of %s are not supported", t.describe())
}

// when compiles a condition.
func (c *compiler) when(w *whenSpec) *cwhen {
	cw := &cwhen{}
	p := w.present
	switch {
	case w.present != "":
		cw.mode = whenPresent
	case w.absent != "":
		cw.mode, p = whenAbsent, w.absent
	default:
		cw.mode, p = whenIn, w.field
		if w.notIn != nil {
			cw.mode = whenNotIn
		}
	}
	g, t, err := c.compilePath(p)
	if err != nil {
		c.fail(w.line, w.path, "%v", err)
		return cw
	}
	cw.get = g
	vals := w.in
	if cw.mode == whenNotIn {
		vals = w.notIn
	}
	if vals != nil {
		cw.set = map[string]bool{}
		for _, n := range vals {
			v, err := scalarValue(n)
			s, ok := asString(v)
			if err != nil || !ok {
				c.fail(n.Line, w.path, "in and not_in take scalar values")
				continue
			}
			if t.kind == kEnum && !slices.Contains(t.symbols, s) {
				c.fail(n.Line, w.path, "%s is not a value of %s (values: %s)", quote(s), t.name, strings.Join(t.symbols, ", "))
			}
			cw.set[s] = true
		}
	}
	return cw
}

// value compiles a field spec into an evaluator of the canonical type dst
// (nil dst: the raw source value, for money's parts). The evaluator
// returns the native value, wrapped as its union needs, or nil for no
// value.
func (c *compiler) value(fs *fieldSpec, dst *atype, label string) *cvalue {
	cv := &cvalue{label: label}
	if fs == nil {
		return cv
	}
	nullable := dst != nil && dst.nullable()
	base := dst
	if dst != nil && dst.kind == kUnion {
		arms := dst.nonNull()
		if len(arms) != 1 {
			c.fail(fs.line, fs.path, "canonical field %s is %s; only [null, T] unions are supported", label, dst.describe())
			return cv
		}
		base = arms[0]
	}
	if fs.when != nil {
		cv.when = c.when(fs.when)
	}
	if fs.isRef {
		c.fail(fs.line, fs.path, "references are only allowed on the object's own fields")
		return cv
	}
	if base != nil {
		cv.wrap = ""
		if nullable {
			cv.wrap = base.branchName()
		}
	}
	conv := func(n *yaml.Node, what string) (any, bool) {
		v, err := scalarValue(n)
		if err != nil {
			c.fail(n.Line, fs.path, "%s: %v", what, err)
			return nil, false
		}
		if v == nil {
			if !nullable && base != nil {
				c.fail(n.Line, fs.path, "%s: null, but the canonical %s cannot be null", what, label)
				return nil, false
			}
			return nil, true
		}
		if base == nil {
			return v, true
		}
		f, err := c.converter(goType(v), base, fs)
		if err != nil {
			c.fail(n.Line, fs.path, "%s: %v", what, err)
			return nil, false
		}
		out, ok := f(v)
		if !ok {
			c.fail(n.Line, fs.path, "%s: %s is not a value of the canonical %s (%s)", what, quote(fmt.Sprint(v)), label, base.describe())
			return nil, false
		}
		return out, true
	}
	if fs.def != nil {
		if d, ok := conv(fs.def, "default"); ok {
			cv.def, cv.hasDef = d, true
		}
	}
	cv.required = fs.required
	switch {
	case fs.konst != nil:
		if v, ok := conv(fs.konst, "const"); ok {
			cv.konst, cv.isConst = v, true
		}
	case fs.money != nil:
		cv.money = c.money(fs, base, label)
	case fs.each != nil:
		cv.each = c.each(fs, base, label)
	case fs.fields != nil:
		if base == nil || base.kind != kRecord {
			c.fail(fs.line, fs.path, "fields build a record; the canonical %s is %s", label, describe(base))
			return cv
		}
		cv.rec = c.recordOf(base, fs.fields, label, fs.path+".fields", fs.line, false)
	case fs.entries != nil:
		if base == nil || base.kind != kMap {
			c.fail(fs.line, fs.path, "entries build a map; the canonical %s is %s", label, describe(base))
			return cv
		}
		for _, e := range fs.entries {
			cv.entries = append(cv.entries, centry{key: e.name, val: c.value(e.spec, base.values, label+"["+e.name+"]")})
		}
	default:
		for _, from := range fs.from {
			if p := c.pipe(fs, from, base, label); p != nil {
				cv.pipes = append(cv.pipes, p)
			}
		}
		c.checkMapKeys(fs, cv.pipes)
	}
	return cv
}

// checkMapKeys refuses a map key that no path can give: when every path
// is an enum, a key must be a value of one of them.
func (c *compiler) checkMapKeys(fs *fieldSpec, pipes []*cpipe) {
	if fs.vmap == nil || len(pipes) == 0 {
		return
	}
	var symbols []string
	for _, p := range pipes {
		if p.leaf == nil || p.leaf.kind != kEnum {
			return
		}
		symbols = append(symbols, p.leaf.symbols...)
	}
	for _, e := range fs.vmap {
		if !slices.Contains(symbols, e.key) {
			c.fail(e.line, join(fs.path+".map", e.key), "%s is not a value the source can give (values: %s)", quote(e.key), strings.Join(symbols, ", "))
		}
	}
}

func describe(t *atype) string {
	if t == nil {
		return "a raw value"
	}
	return t.describe()
}

// goType is the source type of a constant.
func goType(v any) *atype {
	switch v.(type) {
	case bool:
		return &atype{kind: kBool}
	case int64:
		return &atype{kind: kLong}
	case float64:
		return &atype{kind: kDouble}
	}
	return &atype{kind: kString}
}

// pipe compiles one source path of a field: read, steps, map, convert.
func (c *compiler) pipe(fs *fieldSpec, from scalarAt, base *atype, label string) *cpipe {
	g, t, err := c.compilePath(from.value)
	if err != nil {
		c.fail(from.line, from.path, "%v", err)
		return nil
	}
	p := &cpipe{get: g}
	defer func() { p.leaf = t }()
	for _, s := range fs.as {
		def, ok := c.steps[s.value]
		if !ok {
			c.fail(s.line, s.path, "unknown step %s; expected one of %s", quote(s.value), stepNames)
			return nil
		}
		if !def.accepts(t.kind) {
			c.fail(s.line, s.path, "%s cannot take %s (at %s)", s.value, t.describe(), from.value)
			return nil
		}
		p.steps = append(p.steps, def.fn)
		p.stepNames = append(p.stepNames, s.value)
		t = def.out
	}
	if fs.vmap != nil {
		p.lookup = map[string]any{}
		for _, e := range fs.vmap {
			v, err := scalarValue(e.value)
			if err != nil {
				c.fail(e.line, join(fs.path+".map", e.key), "%v", err)
				continue
			}
			if v != nil && base != nil {
				f, err := c.converter(goType(v), base, fs)
				if err != nil {
					c.fail(e.line, join(fs.path+".map", e.key), "%v", err)
					continue
				}
				out, ok := f(v)
				if !ok {
					c.fail(e.line, join(fs.path+".map", e.key), "%s is not a value of the canonical %s (%s)", quote(fmt.Sprint(v)), label, base.describe())
					continue
				}
				v = out
			}
			p.lookup[e.key] = v
		}
		return p
	}
	if base == nil {
		p.kind = t.kind
		return p
	}
	f, err := c.converter(t, base, fs)
	if err != nil {
		c.fail(from.line, from.path, "canonical %s: %v", label, err)
		return nil
	}
	if base.kind == kEnum && t.kind == kEnum && fs.def == nil {
		var missing []string
		for _, s := range t.symbols {
			if !slices.Contains(base.symbols, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			c.fail(from.line, from.path, "%s values %s are not values of the canonical %s; map them or give a default", t.name, strings.Join(missing, ", "), base.name)
		}
	}
	p.conv = f
	p.target = base.describe()
	return p
}

// converter returns the conversion of values of src to dst, or says why
// there is none.
func (c *compiler) converter(src, dst *atype, fs *fieldSpec) (func(any) (any, bool), error) {
	if !scalarKind(src.kind) && src.kind != kAny && src.kind != dst.kind {
		return nil, fmt.Errorf("cannot make %s from %s", dst.describe(), src.describe())
	}
	switch dst.kind {
	case kString:
		return func(v any) (any, bool) {
			s, ok := asString(v)
			return boxString(v, s), ok
		}, nil
	case kLong:
		if !numeric(src.kind) && src.kind != kString && src.kind != kAny {
			return nil, fmt.Errorf("cannot make a long from %s", src.describe())
		}
		return func(v any) (any, bool) { return asInt64(v) }, nil
	case kInt:
		if !numeric(src.kind) && src.kind != kString && src.kind != kAny {
			return nil, fmt.Errorf("cannot make an int from %s", src.describe())
		}
		return func(v any) (any, bool) {
			n, ok := asInt64(v)
			if !ok || n < math.MinInt32 || n > math.MaxInt32 {
				return nil, false
			}
			return int(n), true
		}, nil
	case kDouble, kFloat:
		if !numeric(src.kind) && src.kind != kString && src.kind != kAny {
			return nil, fmt.Errorf("cannot make a number from %s", src.describe())
		}
		if dst.kind == kFloat {
			return func(v any) (any, bool) {
				f, ok := asFloat(v)
				return float32(f), ok
			}, nil
		}
		return func(v any) (any, bool) { return asFloat(v) }, nil
	case kBool:
		if src.kind != kBool && src.kind != kString && src.kind != kAny && src.kind != kInt && src.kind != kLong {
			return nil, fmt.Errorf("cannot make a boolean from %s", src.describe())
		}
		return func(v any) (any, bool) { return asBool(v) }, nil
	case kEnum:
		if !textKind(src.kind) {
			return nil, fmt.Errorf("cannot make %s from %s; map its values", dst.describe(), src.describe())
		}
		syms := dst.symbols
		return func(v any) (any, bool) {
			s, ok := asString(v)
			if !ok || !slices.Contains(syms, s) {
				return nil, false
			}
			return boxString(v, s), true
		}, nil
	case kTimestamp:
		unit, layout := fs.unit, fs.layout
		switch unit {
		case "", "s", "ms", "us":
		default:
			return nil, fmt.Errorf("unit %s: expected s, ms or us", quote(unit))
		}
		switch src.kind {
		case kTimestamp, kDate:
			return func(v any) (any, bool) {
				t, ok := asTime(v, "", "")
				// A time already in UTC and cut to milliseconds (as the
				// decoder gives them) is passed on as it came, not boxed
				// anew: == holds only for the very same representation.
				if x, isTime := v.(time.Time); ok && isTime && x == t {
					return v, true
				}
				return t, ok
			}, nil
		case kInt, kLong, kFloat, kDouble, kDecimal:
			if unit == "" {
				return nil, fmt.Errorf("a number becomes a timestamp only with unit: s, ms or us")
			}
		case kString, kAny:
		default:
			return nil, fmt.Errorf("cannot make a timestamp from %s", src.describe())
		}
		return func(v any) (any, bool) { return asTime(v, unit, layout) }, nil
	case kArray:
		if src.kind != kArray && src.kind != kAny {
			return nil, fmt.Errorf("cannot make %s from %s", dst.describe(), src.describe())
		}
		if dst.items.kind == kRecord {
			return nil, fmt.Errorf("build a list of records with each and fields")
		}
		items := src.items
		if items == nil {
			items = &atype{kind: kAny}
		}
		var unwrap map[string]bool
		if items.kind == kUnion {
			unwrap = map[string]bool{}
			for _, a := range items.nonNull() {
				if n := a.branchName(); n != "" {
					unwrap[n] = true
				}
			}
			items = &atype{kind: kAny}
		}
		elem, err := c.converter(items, dst.items, fs)
		if err != nil {
			return nil, err
		}
		return func(v any) (any, bool) {
			arr, ok := v.([]any)
			if !ok {
				return nil, false
			}
			out := make([]any, 0, len(arr))
			for _, e := range arr {
				if unwrap != nil {
					e = unwrapUnion(e, unwrap)
				}
				if e == nil {
					continue
				}
				x, ok := elem(e)
				if !ok {
					return nil, false
				}
				out = append(out, x)
			}
			return out, true
		}, nil
	case kMap:
		if src.kind != kMap && src.kind != kAny {
			return nil, fmt.Errorf("cannot make %s from %s; build it with entries", dst.describe(), src.describe())
		}
		vals := src.values
		if vals == nil || vals.kind == kUnion {
			vals = &atype{kind: kAny}
		}
		elem, err := c.converter(vals, dst.values, fs)
		if err != nil {
			return nil, err
		}
		return func(v any) (any, bool) {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			out := make(map[string]any, len(m))
			for k, e := range m {
				if e == nil {
					continue
				}
				x, ok := elem(e)
				if !ok {
					return nil, false
				}
				out[k] = x
			}
			return out, true
		}, nil
	case kRecord:
		if dst.name == moneyRecord {
			return nil, fmt.Errorf("build an amount with money")
		}
		return nil, fmt.Errorf("build %s with fields", dst.describe())
	}
	return nil, fmt.Errorf("canonical %s fields are not supported", dst.describe())
}

func numeric(k kind) bool {
	switch k {
	case kInt, kLong, kFloat, kDouble, kDecimal:
		return true
	}
	return false
}

const moneyRecord = "sluice.canonical.Money"

func (c *compiler) money(fs *fieldSpec, base *atype, label string) *cmoney {
	ms := fs.money
	if base == nil || base.kind != kRecord || base.name != moneyRecord {
		c.fail(fs.line, fs.path, "money builds a %s; the canonical %s is %s", moneyRecord, label, describe(base))
		return nil
	}
	if ms == nil || ms.amount == nil || ms.currency == nil {
		return nil
	}
	cm := &cmoney{label: label}
	cm.amount = c.value(ms.amount, nil, label+".amount_minor")
	cm.currency = c.value(ms.currency, &atype{kind: kString}, label+".currency")
	if ms.multiply != nil {
		cm.multiply = c.value(ms.multiply, nil, label+".amount_minor")
	}
	for _, a := range ms.add {
		cm.add = append(cm.add, c.value(a, nil, label+".amount_minor"))
	}
	for _, s := range ms.subtract {
		cm.subtract = append(cm.subtract, c.value(s, nil, label+".amount_minor"))
	}
	switch ms.unit {
	case "minor":
	case "major":
		cm.major = true
	case "":
		// By what the amount is: whole numbers are minor units, decimals
		// major units.
		kinds := map[kind]bool{}
		for _, p := range cm.amount.pipes {
			kinds[p.kind] = true
		}
		if cm.amount.isConst {
			kinds[goType(cm.amount.konst).kind] = true
		}
		switch {
		case len(kinds) == 0:
		case onlyKinds(kinds, kInt, kLong):
		case onlyKinds(kinds, kDecimal, kFloat, kDouble):
			cm.major = true
		default:
			c.fail(fs.line, fs.path+".money", "say whether the amount is in minor units (cents) or major units: unit: minor or unit: major")
		}
	default:
		c.fail(fs.line, fs.path+".money.unit", "expected minor or major")
	}
	return cm
}

func onlyKinds(set map[kind]bool, ks ...kind) bool {
	for k := range set {
		if !slices.Contains(ks, k) {
			return false
		}
	}
	return true
}

func (c *compiler) each(fs *fieldSpec, base *atype, label string) *ceach {
	if base == nil || base.kind != kArray {
		c.fail(fs.line, fs.path, "each builds a list; the canonical %s is %s", label, describe(base))
		return nil
	}
	g, t, err := c.compilePath(fs.each.value)
	if err != nil {
		c.fail(fs.each.line, fs.each.path, "%v", err)
		return nil
	}
	if t.kind != kArray {
		c.fail(fs.each.line, fs.each.path, "each needs a list; %s is %s", fs.each.value, t.describe())
		return nil
	}
	ce := &ceach{get: g, label: label}
	items := t.items
	if items.kind == kUnion {
		arms := items.nonNull()
		ce.unwrap = map[string]bool{}
		for _, a := range arms {
			if n := a.branchName(); n != "" {
				ce.unwrap[n] = true
			}
		}
		if len(arms) == 1 {
			items = arms[0]
		} else {
			items = &atype{kind: kAny, arms: arms}
		}
	}
	c.scopes = append(c.scopes, items)
	defer func() { c.scopes = c.scopes[:len(c.scopes)-1] }()
	elemLabel := label + "[]"
	if fs.fields != nil {
		if base.items.kind != kRecord {
			c.fail(fs.line, fs.path, "fields build records; the canonical %s holds %s", label, base.items.describe())
			return nil
		}
		ce.rec = c.recordOf(base.items, fs.fields, elemLabel, fs.path+".fields", fs.line, false)
		return ce
	}
	one := *fs
	one.each = nil
	ce.val = c.value(&one, base.items, elemLabel)
	return ce
}
