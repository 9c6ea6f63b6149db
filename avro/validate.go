package avro

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	havro "github.com/hamba/avro/v2"
)

// UnknownFields is an integration's policy for JSON members its contract
// does not know.
type UnknownFields int

const (
	// DropUnknown leaves unknown members out of the validated value: what
	// the contract does not name never enters sluice (data minimisation).
	// The default.
	DropUnknown UnknownFields = iota
	// RejectUnknown makes every unknown member an issue (unknown_field).
	RejectUnknown
)

// ParseUnknownFields reads a policy as the catalog writes it: "drop"
// (also "") or "reject".
func ParseUnknownFields(s string) (UnknownFields, error) {
	switch s {
	case "", "drop":
		return DropUnknown, nil
	case "reject":
		return RejectUnknown, nil
	}
	return 0, fmt.Errorf("avro: unknown-field policy %q is neither drop nor reject", s)
}

// DefaultMaxIssues is how many issues a validator collects by default.
const DefaultMaxIssues = 20

// ValidatorOpt configures a Validator.
type ValidatorOpt func(*validatorConfig)

type validatorConfig struct {
	unknown   UnknownFields
	maxIssues int
}

// Unknown sets the policy for unknown members. Default DropUnknown.
func Unknown(p UnknownFields) ValidatorOpt {
	return func(c *validatorConfig) { c.unknown = p }
}

// MaxIssues bounds the issues a ValidationError lists; when a payload has
// more, the error says it was truncated. Default DefaultMaxIssues
// (20); values below 1 mean 1.
func MaxIssues(n int) ValidatorOpt {
	return func(c *validatorConfig) { c.maxIssues = max(n, 1) }
}

// Validator checks partner JSON against one contract and turns it into the
// native value that the Serde encodes (see EncodeNative). It is built once
// per contract and is safe for concurrent use.
//
// The JSON is plain JSON as partners send it, not Avro's JSON encoding:
//
//   - null, true/false, strings, arrays and objects map to Avro's null,
//     boolean, string, array, and record or map.
//   - int and long take JSON numbers with an integral value that fits
//     (32 or 64 bits); 3.0 and 3e2 are integers, 3.5 is not. float and
//     double take any number that fits.
//   - bytes and fixed take standard base64 (RFC 4648 section 4), padding
//     optional; fixed must decode to exactly its size.
//   - enum takes one of its symbols, case-sensitively.
//   - A union takes its value bare: null for the null branch; a scalar
//     or array goes to the first branch it is valid for; an object goes
//     to the record or map branch whose fields name most of its keys (its
//     shape), ties going to a branch it is valid for, then to the earlier
//     one. When the chosen branch finds issues, they are the ones
//     reported, so errors point inside the record that was meant.
//   - A field that is missing, or null while its type is not nullable,
//     takes the field's default; without a default it is required.
//   - Logical types: timestamp-millis and -micros take an RFC 3339 string
//     with a zone or an integer count of milliseconds or microseconds
//     since the Unix epoch; local-timestamp-* an RFC 3339 date-time
//     without zone; date "YYYY-MM-DD" or days since the epoch;
//     time-millis and -micros "hh:mm:ss[.fraction]" or the count since
//     midnight; uuid the 8-4-4-4-12 hex form; decimal a JSON number or a
//     numeric string with no more decimal places than its scale and no
//     more digits than its precision. Finer precision than the logical
//     type holds is truncated.
//   - Members the contract does not know are dropped or refused, as the
//     UnknownFields policy says.
//
// The native value is what hamba/avro produces when it decodes into
// map[string]any: records are map[string]any with every field, arrays
// []any, maps map[string]any, int is int, long int64, float float32,
// fixed [n]byte, timestamps and dates time.Time, times time.Duration,
// decimals *big.Rat. A union value is bare when its branch is a primitive
// or logical type, and map[string]any{branch: value} when it is a record,
// enum or fixed (keyed by full name), an array ("array") or a map ("map").
type Validator struct {
	record string
	root   *vnode
	cfg    validatorConfig
	// parsers holds *jparser whose slabs are reused from one body to the
	// next.
	parsers sync.Pool
}

// Validator returns the validator of a contract. For an event record it
// validates the payload, the record's "data" field: the partner's JSON
// body, to which sluice adds the envelope. For any other record it
// validates the record itself.
func (s *Schemas) Validator(record string, opts ...ValidatorOpt) (*Validator, error) {
	sc, ok := s.byName[record]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownRecord, record)
	}
	rec, ok := sc.parsed.(*havro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a record", ErrUnknownRecord, record)
	}
	target := havro.Schema(rec)
	if sc.Event {
		target = rec.Fields()[1].Type()
	}
	return newValidator(target, opts...)
}

func newValidator(s havro.Schema, opts ...ValidatorOpt) (*Validator, error) {
	cfg := validatorConfig{unknown: DropUnknown, maxIssues: DefaultMaxIssues}
	for _, o := range opts {
		o(&cfg)
	}
	root, err := compileNode(s, map[string]*vnode{})
	if err != nil {
		return nil, err
	}
	if root.kind != vRecord {
		return nil, fmt.Errorf("%w: a validator needs a record, not %s", ErrSchema, root.desc)
	}
	v := &Validator{record: root.name, root: root, cfg: cfg}
	v.parsers.New = func() any { return new(jparser) }
	return v, nil
}

// Record returns the full name of the record the validator checks.
func (v *Validator) Record() string { return v.record }

// Validate checks body against the contract and returns its native value.
// A body that breaks the contract gives a *ValidationError with every
// issue found (up to the limit). body is not retained: the strings of the
// native value share one copy of it.
func (v *Validator) Validate(body []byte) (map[string]any, error) {
	p := v.parsers.Get().(*jparser)
	doc, ok := p.parse(body)
	if !ok {
		if p.release() {
			v.parsers.Put(p)
		}
		return nil, &ValidationError{Record: v.record, Issues: []Issue{{
			Path: "$", Code: CodeInvalidJSON, Expected: "a JSON object", Got: "invalid JSON: " + invalidJSON(body).Error(),
		}}}
	}
	c := vctx{unknown: v.cfg.unknown, max: v.cfg.maxIssues}
	out, ok := c.value(v.root, &doc)
	// The native value holds no part of the parsed tree: its strings are
	// slices of the document's string, not of the parser's slabs.
	if p.release() {
		v.parsers.Put(p)
	}
	if !ok || c.errs > 0 {
		return nil, &ValidationError{Record: v.record, Issues: c.issues, Truncated: c.truncated}
	}
	return out.(map[string]any), nil
}

// vkind is what a compiled node checks.
type vkind uint8

const (
	vNull vkind = iota
	vBool
	vInt
	vLong
	vFloat
	vDouble
	vString
	vBytes
	vEnum
	vFixed
	vArray
	vMap
	vRecord
	vUnion
	vTimestampMillis
	vTimestampMicros
	vLocalTimestampMillis
	vLocalTimestampMicros
	vDate
	vTimeMillis
	vTimeMicros
	vUUID
	vDecimal      // bytes
	vFixedDecimal // fixed
)

// vnode is a schema compiled for validation.
type vnode struct {
	kind vkind
	name string // full name of named types
	desc string // what is expected, for issues
	// short names the node inside a union's description.
	short string

	symbols map[string]int // enum: symbol -> index
	// symbolList is the enum's symbols in order (index -> symbol), boxed
	// once so that decoding one allocates nothing.
	symbolList []any
	// duration marks a fixed of logical type duration, which hamba
	// decodes into its own type.
	duration bool
	size     int            // fixed
	fixedT   reflect.Type   // fixed: [size]byte
	prec     int            // decimal
	scale    int            // decimal
	items    *vnode         // array items, map values
	fields   []vfield       // record
	index    map[string]int // record: field name -> index
	slots    *Fields        // record: its fields, for Records of it
	arms     []varm         // union
	nullArm  int            // union: index of the null arm, or -1
	// pairArm is, for a union of null and one other type, the index of
	// the other, and -1 for other unions: hamba encodes the two apart.
	pairArm int
	// pow10Prec and pow10Scale are 10^prec and 10^scale (decimals).
	pow10Prec, pow10Scale *big.Int
	// emptyItems marks an array whose items take no bytes of a body (set
	// by prepareDecode).
	emptyItems bool
	// slotsHint and recordsHint are the slab sizes decodeSlots starts
	// with for a record decoded from the top (set by prepareDecode).
	slotsHint, recordsHint int
}

// vfield is a compiled record field.
type vfield struct {
	name   string
	node   *vnode
	hasDef bool
	def    any
}

// varm is a compiled union branch.
type varm struct {
	node *vnode
	// wrap is the key of the branch's value in hamba's native union form,
	// or "" when the value is bare.
	wrap string
	// name is hamba's name of the branch (see unionName).
	name string
}

func compileNode(s havro.Schema, memo map[string]*vnode) (*vnode, error) {
	switch t := s.(type) {
	case *havro.RefSchema:
		return compileNode(t.Schema(), memo)
	case *havro.NullSchema:
		return &vnode{kind: vNull, desc: "null", short: "null"}, nil
	case *havro.PrimitiveSchema:
		return compilePrimitive(t)
	case *havro.EnumSchema:
		if n, ok := memo[t.FullName()]; ok {
			return n, nil
		}
		n := &vnode{kind: vEnum, name: t.FullName(), symbols: make(map[string]int, len(t.Symbols())), symbolList: make([]any, len(t.Symbols()))}
		for i, sym := range t.Symbols() {
			n.symbolList[i] = sym
			if _, dup := n.symbols[sym]; !dup {
				n.symbols[sym] = i
			}
		}
		n.desc = "one of " + listSymbols(t.Symbols())
		n.short = "enum " + t.Name()
		memo[n.name] = n
		return n, nil
	case *havro.FixedSchema:
		if n, ok := memo[t.FullName()]; ok {
			return n, nil
		}
		n := &vnode{kind: vFixed, name: t.FullName(), size: t.Size(), fixedT: reflect.ArrayOf(t.Size(), reflect.TypeFor[byte]())}
		n.desc = strconv.Itoa(t.Size()) + " bytes in base64"
		n.short = "fixed " + t.Name()
		if l := t.Logical(); l != nil && l.Type() == havro.Duration {
			n.duration = true
		}
		if d, ok := t.Logical().(*havro.DecimalLogicalSchema); ok {
			n.kind = vFixedDecimal
			n.prec, n.scale = d.Precision(), d.Scale()
			n.pow10Prec, n.pow10Scale = pow10(n.prec), pow10(n.scale)
			n.desc = decimalDesc(n.prec, n.scale)
			n.short = "decimal"
		}
		memo[n.name] = n
		return n, nil
	case *havro.ArraySchema:
		items, err := compileNode(t.Items(), memo)
		if err != nil {
			return nil, err
		}
		return &vnode{kind: vArray, items: items, desc: "array", short: "array"}, nil
	case *havro.MapSchema:
		values, err := compileNode(t.Values(), memo)
		if err != nil {
			return nil, err
		}
		return &vnode{kind: vMap, items: values, desc: "object", short: "object"}, nil
	case *havro.RecordSchema:
		if n, ok := memo[t.FullName()]; ok {
			return n, nil
		}
		n := &vnode{kind: vRecord, name: t.FullName(), desc: "object", short: "object", index: map[string]int{}}
		memo[n.name] = n
		for i, f := range t.Fields() {
			fn, err := compileNode(f.Type(), memo)
			if err != nil {
				return nil, err
			}
			vf := vfield{name: f.Name(), node: fn, hasDef: f.HasDefault()}
			if vf.hasDef {
				vf.def, err = nativeDefault(fn, f.Default())
				if err != nil {
					return nil, fmt.Errorf("%w: %s.%s: default: %v", ErrSchema, n.name, f.Name(), err)
				}
			}
			n.fields = append(n.fields, vf)
			n.index[f.Name()] = i
		}
		names := make([]string, len(n.fields))
		for i := range n.fields {
			names[i] = n.fields[i].name
		}
		n.slots = &Fields{names: names, index: n.index}
		return n, nil
	case *havro.UnionSchema:
		n := &vnode{kind: vUnion, nullArm: -1, pairArm: -1}
		var shorts []string
		for i, b := range t.Types() {
			bn, err := compileNode(b, memo)
			if err != nil {
				return nil, err
			}
			arm := varm{node: bn, name: unionName(b)}
			switch bn.kind {
			case vRecord, vEnum, vFixed, vFixedDecimal:
				arm.wrap = bn.name
			case vArray:
				arm.wrap = "array"
			case vMap:
				arm.wrap = "map"
			case vNull:
				n.nullArm = i
			}
			n.arms = append(n.arms, arm)
			shorts = append(shorts, bn.short)
		}
		if len(shorts) == 2 && n.nullArm >= 0 {
			n.pairArm = 1 - n.nullArm
			n.desc = shorts[1-n.nullArm] + " or null"
		} else {
			n.desc = "one of [" + strings.Join(shorts, ", ") + "]"
		}
		n.short = n.desc
		return n, nil
	}
	return nil, fmt.Errorf("%w: unsupported schema type %s", ErrSchema, s.Type())
}

func compilePrimitive(t *havro.PrimitiveSchema) (*vnode, error) {
	n := &vnode{}
	switch t.Type() {
	case havro.Boolean:
		n.kind = vBool
	case havro.Int:
		n.kind = vInt
	case havro.Long:
		n.kind = vLong
	case havro.Float:
		n.kind = vFloat
	case havro.Double:
		n.kind = vDouble
	case havro.String:
		n.kind = vString
	case havro.Bytes:
		n.kind = vBytes
	default:
		return nil, fmt.Errorf("%w: unsupported primitive %s", ErrSchema, t.Type())
	}
	n.desc = string(t.Type())
	if n.kind == vBytes {
		n.desc = "bytes in base64"
	}
	n.short = string(t.Type())
	if t.Logical() == nil {
		return n, nil
	}
	lt := t.Logical().Type()
	switch {
	case lt == havro.TimestampMillis && n.kind == vLong:
		n.kind, n.desc = vTimestampMillis, "RFC 3339 timestamp or epoch milliseconds"
	case lt == havro.TimestampMicros && n.kind == vLong:
		n.kind, n.desc = vTimestampMicros, "RFC 3339 timestamp or epoch microseconds"
	case lt == havro.LocalTimestampMillis && n.kind == vLong:
		n.kind, n.desc = vLocalTimestampMillis, "local date-time (YYYY-MM-DDThh:mm:ss)"
	case lt == havro.LocalTimestampMicros && n.kind == vLong:
		n.kind, n.desc = vLocalTimestampMicros, "local date-time (YYYY-MM-DDThh:mm:ss)"
	case lt == havro.Date && n.kind == vInt:
		n.kind, n.desc = vDate, "date (YYYY-MM-DD) or days since the epoch"
	case lt == havro.TimeMillis && n.kind == vInt:
		n.kind, n.desc = vTimeMillis, "time of day (hh:mm:ss) or milliseconds since midnight"
	case lt == havro.TimeMicros && n.kind == vLong:
		n.kind, n.desc = vTimeMicros, "time of day (hh:mm:ss) or microseconds since midnight"
	case lt == havro.UUID && n.kind == vString:
		n.kind, n.desc = vUUID, "UUID"
	case lt == havro.Decimal && n.kind == vBytes:
		d := t.Logical().(*havro.DecimalLogicalSchema)
		n.kind, n.prec, n.scale = vDecimal, d.Precision(), d.Scale()
		n.pow10Prec, n.pow10Scale = pow10(n.prec), pow10(n.scale)
		n.desc = decimalDesc(n.prec, n.scale)
	default:
		return n, nil // an unknown logical type is its underlying type
	}
	n.short = string(lt)
	return n, nil
}

func decimalDesc(prec, scale int) string {
	return fmt.Sprintf("decimal with at most %d digits, %d after the point", prec, scale)
}

func listSymbols(syms []string) string {
	const show = 20
	if len(syms) > show {
		return "[" + strings.Join(syms[:show], ", ") + ", ...]"
	}
	return "[" + strings.Join(syms, ", ") + "]"
}

// vctx is the state of one validation.
type vctx struct {
	unknown   UnknownFields
	max       int
	issues    []Issue
	errs      int // issues found, kept or not
	truncated bool
	path      []pathSeg
}

func (c *vctx) add(code IssueCode, expected, got string) {
	c.errs++
	if len(c.issues) >= c.max {
		c.truncated = true
		return
	}
	c.issues = append(c.issues, Issue{Path: renderPath(c.path), Code: code, Expected: expected, Got: got})
}

func (c *vctx) push(key string) { c.path = append(c.path, pathSeg{key: key}) }
func (c *vctx) pushIndex(i int) { c.path = append(c.path, pathSeg{index: i, isIdx: true}) }
func (c *vctx) pop()            { c.path = c.path[:len(c.path)-1] }

func (c *vctx) mismatch(n *vnode, j *jvalue) (any, bool) {
	c.add(CodeTypeMismatch, n.desc, j.kind.String())
	return nil, false
}

// value checks j against n and returns its native value; ok is false when
// it recorded an issue.
func (c *vctx) value(n *vnode, j *jvalue) (any, bool) {
	switch n.kind {
	case vNull:
		if j.kind != jNull {
			return c.mismatch(n, j)
		}
		return nil, true
	case vBool:
		if j.kind != jBool {
			return c.mismatch(n, j)
		}
		return j.b, true
	case vInt, vLong:
		if j.kind != jNumber {
			return c.mismatch(n, j)
		}
		bits := 64
		if n.kind == vInt {
			bits = 32
		}
		i, code := parseInteger(j.s, bits)
		if code != "" {
			c.add(code, n.desc, numberProblem(code))
			return nil, false
		}
		if n.kind == vInt {
			return int(i), true
		}
		return i, true
	case vFloat, vDouble:
		if j.kind != jNumber {
			return c.mismatch(n, j)
		}
		bits := 64
		if n.kind == vFloat {
			bits = 32
		}
		f, err := strconv.ParseFloat(j.s, bits)
		if err != nil && (math.IsInf(f, 0) || !errors.Is(err, strconv.ErrRange)) {
			c.add(CodeOutOfRange, n.desc, "a number out of range")
			return nil, false
		}
		if n.kind == vFloat {
			return float32(f), true
		}
		return f, true
	case vString:
		if j.kind != jString {
			return c.mismatch(n, j)
		}
		return j.s, true
	case vBytes:
		if j.kind != jString {
			return c.mismatch(n, j)
		}
		b, ok := decodeBase64(j.s)
		if !ok {
			c.add(CodeInvalidFormat, n.desc, "a string that is not base64")
			return nil, false
		}
		return b, true
	case vEnum:
		if j.kind != jString {
			return c.mismatch(n, j)
		}
		if _, ok := n.symbols[j.s]; !ok {
			c.add(CodeUnknownSymbol, n.desc, "unknown symbol")
			return nil, false
		}
		return j.s, true
	case vFixed:
		if j.kind != jString {
			return c.mismatch(n, j)
		}
		b, ok := decodeBase64(j.s)
		if !ok {
			c.add(CodeInvalidFormat, n.desc, "a string that is not base64")
			return nil, false
		}
		if len(b) != n.size {
			c.add(CodeWrongSize, n.desc, strconv.Itoa(len(b))+" bytes")
			return nil, false
		}
		arr := reflect.New(n.fixedT).Elem()
		reflect.Copy(arr, reflect.ValueOf(b))
		return arr.Interface(), true
	case vArray:
		if j.kind != jArray {
			return c.mismatch(n, j)
		}
		out := make([]any, len(j.arr))
		ok := true
		for i := range j.arr {
			c.pushIndex(i)
			v, eok := c.value(n.items, &j.arr[i])
			c.pop()
			out[i] = v
			ok = ok && eok
		}
		return out, ok
	case vMap:
		if j.kind != jObject {
			return c.mismatch(n, j)
		}
		out := make(map[string]any, len(j.obj))
		ok := true
		for i := range j.obj {
			m := &j.obj[i]
			c.push(m.key)
			if _, dup := out[m.key]; dup {
				c.add(CodeDuplicateKey, "", "")
				ok = false
			} else {
				v, eok := c.value(n.items, &m.val)
				out[m.key] = v
				ok = ok && eok
			}
			c.pop()
		}
		return out, ok
	case vRecord:
		return c.record(n, j)
	case vUnion:
		return c.union(n, j)
	case vTimestampMillis, vTimestampMicros, vLocalTimestampMillis, vLocalTimestampMicros:
		return c.timestamp(n, j)
	case vDate:
		return c.date(n, j)
	case vTimeMillis, vTimeMicros:
		return c.timeOfDay(n, j)
	case vUUID:
		if j.kind != jString {
			return c.mismatch(n, j)
		}
		if !isUUID(j.s) {
			c.add(CodeInvalidFormat, n.desc, "a string that is not a UUID")
			return nil, false
		}
		return j.s, true
	case vDecimal, vFixedDecimal:
		return c.decimal(n, j)
	}
	return c.mismatch(n, j)
}

func (c *vctx) record(n *vnode, j *jvalue) (any, bool) {
	if j.kind != jObject {
		return c.mismatch(n, j)
	}
	before := c.errs
	// at[i] is 1 + the member index of field i, 0 when absent.
	var buf [32]int
	var at []int
	if len(n.fields) <= len(buf) {
		at = buf[:len(n.fields)]
	} else {
		at = make([]int, len(n.fields))
	}
	for mi := range j.obj {
		m := &j.obj[mi]
		fi, known := n.index[m.key]
		switch {
		case !known:
			if c.unknown == RejectUnknown {
				c.push(m.key)
				c.add(CodeUnknownField, "", "")
				c.pop()
			}
		case at[fi] != 0:
			c.push(m.key)
			c.add(CodeDuplicateKey, "", "")
			c.pop()
		default:
			at[fi] = mi + 1
		}
	}
	out := make(map[string]any, len(n.fields))
	for fi := range n.fields {
		f := &n.fields[fi]
		var mv *jvalue
		if at[fi] != 0 {
			mv = &j.obj[at[fi]-1].val
		}
		// A null for a field that is not nullable but has a default
		// counts as absent: partners write null for "not set".
		if mv != nil && mv.kind == jNull && f.hasDef && !nullable(f.node) {
			mv = nil
		}
		if mv == nil {
			if !f.hasDef {
				c.push(f.name)
				c.add(CodeRequired, f.node.desc, "nothing")
				c.pop()
				continue
			}
			out[f.name] = cloneNative(f.def)
			continue
		}
		c.push(f.name)
		v, _ := c.value(f.node, mv)
		c.pop()
		out[f.name] = v
	}
	return out, c.errs == before
}

func nullable(n *vnode) bool {
	return n.kind == vNull || (n.kind == vUnion && n.nullArm >= 0)
}

// accepts reports whether a node can take a JSON value of kind k at all.
func accepts(n *vnode, k jkind) bool {
	switch k {
	case jNull:
		return n.kind == vNull
	case jBool:
		return n.kind == vBool
	case jNumber:
		switch n.kind {
		case vInt, vLong, vFloat, vDouble, vTimestampMillis, vTimestampMicros, vDate,
			vTimeMillis, vTimeMicros, vDecimal, vFixedDecimal:
			return true
		}
	case jString:
		switch n.kind {
		case vString, vUUID, vBytes, vEnum, vFixed, vDecimal, vFixedDecimal,
			vTimestampMillis, vTimestampMicros, vLocalTimestampMillis, vLocalTimestampMicros,
			vDate, vTimeMillis, vTimeMicros:
			return true
		}
	case jArray:
		return n.kind == vArray
	case jObject:
		return n.kind == vRecord || n.kind == vMap
	}
	return false
}

// union picks the branch for j. Scalars take the first branch that
// accepts them; objects take, among the record and map branches that
// accept them, the one whose fields match most of the object's keys.
//
// Each branch is tried in c itself, and what the trial added to c is
// taken back; when no branch fits, the closest one is validated once
// more to report its issues.
func (c *vctx) union(n *vnode, j *jvalue) (any, bool) {
	type trial struct {
		arm   int
		val   any
		errs  int
		score int
	}
	var best trial
	candidates := 0
	mark := c.save()
	for ai := range n.arms {
		arm := &n.arms[ai]
		if !accepts(arm.node, j.kind) {
			continue
		}
		candidates++
		v, _ := c.value(arm.node, j)
		errs := c.errs - mark.errs
		c.restore(mark)
		if j.kind != jObject && errs == 0 {
			return wrapArm(arm, v), true
		}
		score := shapeScore(arm.node, j)
		if candidates == 1 || better(errs, score, best.errs, best.score) {
			best = trial{arm: ai, val: v, errs: errs, score: score}
		}
	}
	switch {
	case candidates == 0:
		return c.mismatch(n, j)
	case best.errs == 0:
		return wrapArm(&n.arms[best.arm], best.val), true
	case candidates > 1 && j.kind != jObject:
		c.add(CodeNoUnionBranch, n.desc, j.kind.String()+" that fits none of them")
		return nil, false
	}
	// One candidate, or objects: report the closest branch's own issues,
	// which say precisely what is wrong inside it.
	c.value(n.arms[best.arm].node, j)
	return nil, false
}

// vmark is the state of a vctx to go back to after a trial.
type vmark struct {
	issues    int
	errs      int
	truncated bool
}

func (c *vctx) save() vmark {
	return vmark{issues: len(c.issues), errs: c.errs, truncated: c.truncated}
}

func (c *vctx) restore(m vmark) {
	clear(c.issues[m.issues:])
	c.issues, c.errs, c.truncated = c.issues[:m.issues], m.errs, m.truncated
}

// better orders union trials for objects: the shape decides first (more
// of the object's keys are fields of the branch), then validity, then
// fewer issues; on a tie the earlier branch stays.
func better(errs, score, bestErrs, bestScore int) bool {
	if score != bestScore {
		return score > bestScore
	}
	if (errs == 0) != (bestErrs == 0) {
		return errs == 0
	}
	return errs < bestErrs
}

// shapeScore counts the keys of object j that are fields of record n.
func shapeScore(n *vnode, j *jvalue) int {
	if n.kind != vRecord || j.kind != jObject {
		return 0
	}
	score := 0
	for i := range j.obj {
		if _, ok := n.index[j.obj[i].key]; ok {
			score++
		}
	}
	return score
}

func wrapArm(arm *varm, v any) any {
	if arm.wrap == "" {
		return v
	}
	return map[string]any{arm.wrap: v}
}

func (c *vctx) timestamp(n *vnode, j *jvalue) (any, bool) {
	unit := time.Millisecond
	if n.kind == vTimestampMicros || n.kind == vLocalTimestampMicros {
		unit = time.Microsecond
	}
	local := n.kind == vLocalTimestampMillis || n.kind == vLocalTimestampMicros
	switch j.kind {
	case jString:
		layout := time.RFC3339Nano
		if local {
			layout = "2006-01-02T15:04:05.999999999"
		}
		t, err := time.Parse(layout, j.s)
		if err != nil {
			c.add(CodeInvalidFormat, n.desc, "a string that is not one")
			return nil, false
		}
		return t.UTC().Truncate(unit), true
	case jNumber:
		if local {
			return c.mismatch(n, j)
		}
		i, code := parseInteger(j.s, 64)
		if code != "" {
			c.add(code, n.desc, numberProblem(code))
			return nil, false
		}
		if unit == time.Millisecond {
			return time.UnixMilli(i).UTC(), true
		}
		return time.UnixMicro(i).UTC(), true
	}
	return c.mismatch(n, j)
}

func (c *vctx) date(n *vnode, j *jvalue) (any, bool) {
	switch j.kind {
	case jString:
		t, err := time.Parse(time.DateOnly, j.s)
		if err != nil {
			c.add(CodeInvalidFormat, n.desc, "a string that is not one")
			return nil, false
		}
		return t, true
	case jNumber:
		days, code := parseInteger(j.s, 32)
		if code != "" {
			c.add(code, n.desc, numberProblem(code))
			return nil, false
		}
		return time.Unix(days*86400, 0).UTC(), true
	}
	return c.mismatch(n, j)
}

func (c *vctx) timeOfDay(n *vnode, j *jvalue) (any, bool) {
	unit, bits := time.Millisecond, 32
	if n.kind == vTimeMicros {
		unit, bits = time.Microsecond, 64
	}
	var d time.Duration
	switch j.kind {
	case jString:
		t, err := time.Parse("15:04:05.999999999", j.s)
		if err != nil {
			c.add(CodeInvalidFormat, n.desc, "a string that is not one")
			return nil, false
		}
		d = t.Sub(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())).Truncate(unit)
	case jNumber:
		i, code := parseInteger(j.s, bits)
		if code != "" {
			c.add(code, n.desc, numberProblem(code))
			return nil, false
		}
		if i < 0 || i >= int64(24*time.Hour/unit) {
			c.add(CodeOutOfRange, n.desc, "a number out of range")
			return nil, false
		}
		d = time.Duration(i) * unit
	default:
		return c.mismatch(n, j)
	}
	return d, true
}

func (c *vctx) decimal(n *vnode, j *jvalue) (any, bool) {
	if j.kind != jNumber && j.kind != jString {
		return c.mismatch(n, j)
	}
	if j.kind == jString && !isJSONNumber(j.s) {
		c.add(CodeInvalidFormat, n.desc, "a string that is not a number")
		return nil, false
	}
	// The number's shape decides the cases whose exponent would make
	// big.Rat slow; the others are small enough to compute.
	shape, ok := splitNumber(j.s)
	switch {
	case !ok:
		c.add(CodeInvalidFormat, n.desc, "a string that is not a number")
		return nil, false
	case shape.zero:
	case shape.exp+int64(n.scale) < 0:
		c.add(CodeOutOfRange, n.desc, "more than "+strconv.Itoa(n.scale)+" decimal places")
		return nil, false
	case int64(shape.digits)+shape.exp+int64(n.scale) > int64(n.prec):
		c.add(CodeOutOfRange, n.desc, "more than "+strconv.Itoa(n.prec)+" digits")
		return nil, false
	}
	r, ok := new(big.Rat).SetString(j.s)
	if !ok {
		c.add(CodeInvalidFormat, n.desc, "a string that is not a number")
		return nil, false
	}
	// r times 10^scale must be an integer of at most prec digits.
	unscaled, rem := new(big.Int).QuoRem(new(big.Int).Mul(r.Num(), n.pow10Scale), r.Denom(), new(big.Int))
	if rem.Sign() != 0 {
		c.add(CodeOutOfRange, n.desc, "more than "+strconv.Itoa(n.scale)+" decimal places")
		return nil, false
	}
	if unscaled.CmpAbs(n.pow10Prec) >= 0 {
		c.add(CodeOutOfRange, n.desc, "more than "+strconv.Itoa(n.prec)+" digits")
		return nil, false
	}
	return r, true
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// parseInteger parses a JSON number that must be an integer of the given
// size. It returns an issue code when it is not.
func parseInteger(raw string, bits int) (int64, IssueCode) {
	i, err := strconv.ParseInt(raw, 10, bits)
	if err == nil {
		return i, ""
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, CodeOutOfRange
	}
	// A fraction or an exponent: fine as long as the value is integral.
	if len(raw) > 400 {
		return 0, CodeOutOfRange // no integer of 64 bits needs that much text
	}
	// The number's shape decides the cases whose exponent would make
	// big.Rat slow; the others are small enough to compute.
	shape, ok := splitNumber(raw)
	switch {
	case !ok:
		return 0, CodeNotInteger
	case shape.zero:
	case shape.exp < 0:
		return 0, CodeNotInteger
	case int64(shape.digits)+shape.exp > 19:
		return 0, CodeOutOfRange
	}
	r, ok := new(big.Rat).SetString(raw)
	if !ok {
		return 0, CodeNotInteger
	}
	if !r.IsInt() {
		return 0, CodeNotInteger
	}
	num := r.Num()
	if !num.IsInt64() {
		return 0, CodeOutOfRange
	}
	i = num.Int64()
	if bits == 32 && (i < math.MinInt32 || i > math.MaxInt32) {
		return 0, CodeOutOfRange
	}
	return i, ""
}

// numberShape is a nonzero number as ±d × 10^exp, where d is an integer
// of digits digits with no trailing zero.
type numberShape struct {
	zero   bool
	digits int
	exp    int64
}

// maxRatExp is the largest power of ten big.Rat.SetString takes.
const maxRatExp = 1e6

// splitNumber takes apart s, a number in JSON's grammar, without
// computing it. ok is false for the numbers big.Rat.SetString refuses: an
// exponent beyond 64 bits, or, for a number that is not zero, a power of
// ten (the exponent less the digits after the point) beyond maxRatExp.
func splitNumber(s string) (numberShape, bool) {
	i := 0
	if s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	whole, frac := s[start:i], ""
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		frac = s[start:i]
	}
	var exp int64
	if i < len(s) { // 'e' or 'E'
		var err error
		if exp, err = strconv.ParseInt(s[i+1:], 10, 64); err != nil {
			return numberShape{}, false
		}
	}
	// The digits of whole and frac, read as one run.
	digit := func(k int) byte {
		if k < len(whole) {
			return whole[k]
		}
		return frac[k-len(whole)]
	}
	total := len(whole) + len(frac)
	lead := 0
	for lead < total && digit(lead) == '0' {
		lead++
	}
	if lead == total {
		return numberShape{zero: true}, true
	}
	if exp > 10*maxRatExp || exp < -10*maxRatExp {
		return numberShape{}, false
	}
	if pow := exp - int64(len(frac)); pow > maxRatExp || pow < -maxRatExp {
		return numberShape{}, false
	}
	trail := 0
	for digit(total-1-trail) == '0' {
		trail++
	}
	return numberShape{digits: total - lead - trail, exp: exp - int64(len(frac)) + int64(trail)}, true
}

func numberProblem(code IssueCode) string {
	switch code {
	case CodeNotInteger:
		return "a number with a fraction"
	case CodeOutOfRange:
		return "a number out of range"
	}
	return "number"
}

// isJSONNumber reports whether s follows the JSON number grammar.
func isJSONNumber(s string) bool {
	end, ok := scanNumber(s, 0)
	return ok && end == len(s)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func decodeBase64(s string) ([]byte, bool) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	return nil, false
}

// nativeDefault converts a field default, as hamba parsed it, to the
// native form of node n.
func nativeDefault(n *vnode, def any) (any, error) {
	switch n.kind {
	case vUnion:
		// A union's default belongs to its first branch.
		if n.arms[0].node.kind == vNull {
			return nil, nil
		}
		v, err := nativeDefault(n.arms[0].node, def)
		if err != nil {
			return nil, err
		}
		return wrapArm(&n.arms[0], v), nil
	case vNull:
		// hamba checked the default is null; inside a record default it
		// stands for null with a marker of its own.
		return nil, nil
	case vBool, vString, vEnum, vUUID:
		return def, nil
	case vInt:
		if i, ok := def.(int); ok {
			return i, nil
		}
	case vLong:
		if i, ok := def.(int64); ok {
			return i, nil
		}
	case vFloat:
		if f, ok := def.(float32); ok {
			return f, nil
		}
	case vDouble:
		if f, ok := def.(float64); ok {
			return f, nil
		}
	case vBytes:
		if b, ok := def.([]byte); ok {
			return b, nil
		}
	case vFixed:
		return def, nil
	case vTimestampMillis, vLocalTimestampMillis:
		if i, ok := def.(int64); ok {
			return time.UnixMilli(i).UTC(), nil
		}
	case vTimestampMicros, vLocalTimestampMicros:
		if i, ok := def.(int64); ok {
			return time.UnixMicro(i).UTC(), nil
		}
	case vDate:
		if i, ok := def.(int); ok {
			return time.Unix(int64(i)*86400, 0).UTC(), nil
		}
	case vTimeMillis:
		if i, ok := def.(int); ok {
			return time.Duration(i) * time.Millisecond, nil
		}
	case vTimeMicros:
		if i, ok := def.(int64); ok {
			return time.Duration(i) * time.Microsecond, nil
		}
	case vArray:
		arr, ok := def.([]any)
		if !ok {
			break
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			v, err := nativeDefault(n.items, e)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case vMap:
		m, ok := def.(map[string]any)
		if !ok {
			break
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			v, err := nativeDefault(n.items, e)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case vRecord:
		m, ok := def.(map[string]any)
		if !ok {
			break
		}
		out := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			v, err := nativeDefault(f.node, m[f.name])
			if err != nil {
				return nil, err
			}
			out[f.name] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported default %T for %s", def, n.desc)
}

// cloneNative deep-copies the mutable parts of a native value, so that
// defaults handed out can be changed by callers.
func cloneNative(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = cloneNative(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneNative(e)
		}
		return out
	case []byte:
		return append([]byte(nil), t...)
	case *big.Rat:
		return new(big.Rat).Set(t)
	}
	return v
}
