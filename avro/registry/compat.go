package registry

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Compatibility levels, as Confluent Schema Registry names them.
const (
	levelNone               = "NONE"
	levelBackward           = "BACKWARD"
	levelBackwardTransitive = "BACKWARD_TRANSITIVE"
	levelForward            = "FORWARD"
	levelForwardTransitive  = "FORWARD_TRANSITIVE"
	levelFull               = "FULL"
	levelFullTransitive     = "FULL_TRANSITIVE"
)

var levels = []string{levelNone, levelBackward, levelBackwardTransitive, levelForward, levelForwardTransitive, levelFull, levelFullTransitive}

// parseLevel returns the compatibility level named by s, in any case.
func parseLevel(s string) (string, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if slices.Contains(levels, u) {
		return u, true
	}
	return "", false
}

// Kinds of incompatibility, named as Avro's reference implementation and
// Confluent Schema Registry name them.
const (
	incompatNameMismatch        = "NAME_MISMATCH"
	incompatFixedSizeMismatch   = "FIXED_SIZE_MISMATCH"
	incompatMissingEnumSymbols  = "MISSING_ENUM_SYMBOLS"
	incompatReaderFieldNoDef    = "READER_FIELD_MISSING_DEFAULT_VALUE"
	incompatTypeMismatch        = "TYPE_MISMATCH"
	incompatMissingUnionBranch  = "MISSING_UNION_BRANCH"
	incompatDifferentSchemaType = "Incompatible because of different schema type"
)

// incompatibility is one reason why a reader schema cannot read data written
// with a writer schema.
type incompatibility struct {
	kind     string
	location string // JSON-pointer-like path into the reader schema, "/fields/1/type"
	info     string
}

// describe renders the incompatibility as Confluent Schema Registry does,
// naming the reader and writer schema ("new" or "old").
func (in incompatibility) describe(reader, writer string) string {
	var d string
	switch in.kind {
	case incompatFixedSizeMismatch:
		d = fmt.Sprintf("The size of FIXED type field at path '%s' in the %s schema does not match with the %s schema", in.location, reader, writer)
	case incompatTypeMismatch:
		d = fmt.Sprintf("The type (path '%s') of a field in the %s schema does not match with the %s schema", in.location, reader, writer)
	case incompatNameMismatch:
		d = fmt.Sprintf("The name of the schema has changed (path '%s')", in.location)
	case incompatMissingEnumSymbols:
		d = fmt.Sprintf("The %s schema is missing enum symbols '%s' at path '%s' in the %s schema", reader, in.info, in.location, writer)
	case incompatMissingUnionBranch:
		d = fmt.Sprintf("The %s schema is missing a type inside a union field at path '%s' in the %s schema", reader, in.location, writer)
	case incompatReaderFieldNoDef:
		d = fmt.Sprintf("The field '%s' at path '%s' in the %s schema has no default value and is missing in the %s schema", in.info, in.location, reader, writer)
	}
	return fmt.Sprintf("{errorType:'%s', description:'%s', additionalInfo:'%s'}", in.kind, d, in.info)
}

// readerWriter checks whether data written with writer can be read with
// reader, following the schema resolution rules of the Avro specification
// the way Avro's reference implementation checks them
// (SchemaCompatibility.checkReaderWriterCompatibility): every reason is
// reported with the path of the reader schema where it was found.
//
// Named types match by unqualified name or by a reader alias naming the
// writer's full name; reader fields find their writer field by name or by
// one of their aliases; a reader field that the writer lacks needs a
// default; an enum reader must hold every writer symbol unless it has a
// default; numbers promote int→long→float→double; string and bytes read
// each other; a writer union must have every branch readable, a reader
// union must have a branch that reads the writer. Logical types are not
// compared, as in Avro: only their underlying types are.
func readerWriter(reader, writer *avroType) []incompatibility {
	c := &compatChecker{memo: map[[2]*avroType][]incompatibility{}, busy: map[[2]*avroType]bool{}}
	return c.check(reader, writer, nil)
}

type compatChecker struct {
	memo map[[2]*avroType][]incompatibility
	busy map[[2]*avroType]bool
}

func location(path []string) string {
	return "/" + strings.Join(path, "/")
}

func with(path []string, parts ...string) []string {
	return append(slices.Clip(path), parts...)
}

func (c *compatChecker) check(r, w *avroType, path []string) []incompatibility {
	key := [2]*avroType{r, w}
	if res, ok := c.memo[key]; ok {
		return res
	}
	if c.busy[key] {
		// A recursive type reached again: what it adds is being checked
		// further up.
		return nil
	}
	c.busy[key] = true
	res := c.calculate(r, w, path)
	delete(c.busy, key)
	c.memo[key] = res
	return res
}

func typeMismatch(r, w *avroType, path []string) []incompatibility {
	return []incompatibility{{
		kind:     incompatTypeMismatch,
		location: location(path),
		info:     fmt.Sprintf("reader type: %s not compatible with writer type: %s", strings.ToUpper(r.kind), strings.ToUpper(w.kind)),
	}}
}

func (c *compatChecker) calculate(r, w *avroType, path []string) []incompatibility {
	if r.kind == w.kind {
		switch r.kind {
		case "array":
			return c.check(r.items, w.items, with(path, "items"))
		case "map":
			return c.check(r.values, w.values, with(path, "values"))
		case "fixed":
			res := checkNames(r, w, path)
			if r.size != w.size {
				res = append(res, incompatibility{
					kind:     incompatFixedSizeMismatch,
					location: location(with(path, "size")),
					info:     fmt.Sprintf("expected: %d, found: %d", w.size, r.size),
				})
			}
			return res
		case "enum":
			res := checkNames(r, w, path)
			var missing []string
			for _, s := range w.symbols {
				if !slices.Contains(r.symbols, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 && !r.hasEnumDef {
				res = append(res, incompatibility{
					kind:     incompatMissingEnumSymbols,
					location: location(with(path, "symbols")),
					info:     "[" + strings.Join(missing, ", ") + "]",
				})
			}
			return res
		case "record":
			res := checkNames(r, w, path)
			for i, rf := range r.fields {
				fpath := with(path, "fields", strconv.Itoa(i))
				wf := writerField(w, rf)
				if wf == nil {
					if !rf.hasDefault {
						res = append(res, incompatibility{
							kind:     incompatReaderFieldNoDef,
							location: location(fpath),
							info:     rf.name,
						})
					}
					continue
				}
				res = append(res, c.check(rf.typ, wf.typ, with(fpath, "type"))...)
			}
			return res
		case "union":
			var res []incompatibility
			for i, wb := range w.branches {
				bpath := with(path, strconv.Itoa(i))
				if len(c.check(r, wb, bpath)) > 0 {
					res = append(res, incompatibility{
						kind:     incompatMissingUnionBranch,
						location: location(bpath),
						info:     "reader union lacking writer type: " + strings.ToUpper(wb.kind),
					})
				}
			}
			return res
		default: // the same primitive
			return nil
		}
	}

	if w.kind == "union" {
		// Every branch the writer may have used must be readable.
		var res []incompatibility
		for i, wb := range w.branches {
			res = append(res, c.check(r, wb, with(path, strconv.Itoa(i)))...)
		}
		return res
	}

	switch r.kind {
	case "long":
		if w.kind == "int" {
			return nil
		}
	case "float":
		if w.kind == "int" || w.kind == "long" {
			return nil
		}
	case "double":
		if w.kind == "int" || w.kind == "long" || w.kind == "float" {
			return nil
		}
	case "bytes":
		if w.kind == "string" {
			return nil
		}
	case "string":
		if w.kind == "bytes" {
			return nil
		}
	case "union":
		for _, rb := range r.branches {
			if len(c.check(rb, w, path)) == 0 {
				return nil
			}
		}
		return []incompatibility{{
			kind:     incompatMissingUnionBranch,
			location: location(path),
			info:     "reader union lacking writer type: " + strings.ToUpper(w.kind),
		}}
	}
	return typeMismatch(r, w, path)
}

func checkNames(r, w *avroType, path []string) []incompatibility {
	if r.name == w.name || slices.Contains(r.aliases, w.fullName) {
		return nil
	}
	return []incompatibility{{
		kind:     incompatNameMismatch,
		location: location(with(path, "name")),
		info:     "expected: " + w.fullName,
	}}
}

func writerField(w *avroType, rf *avroField) *avroField {
	for _, wf := range w.fields {
		if wf.name == rf.name {
			return wf
		}
	}
	for _, a := range rf.aliases {
		for _, wf := range w.fields {
			if wf.name == a {
				return wf
			}
		}
	}
	return nil
}

// oldSchema is a registered version a new schema is checked against.
type oldSchema struct {
	version int
	text    string
	typ     *avroType // nil when the version is not an Avro schema
}

// checkLevel checks a new schema against the previous versions of a subject
// (oldest first) under a compatibility level and returns Confluent-style
// messages, empty when the schema is compatible. Non-transitive levels look
// at the latest version only, transitive ones at every version, newest
// first, stopping at the first that fails.
func checkLevel(level string, newType *avroType, previous []oldSchema) []string {
	if level == levelNone || len(previous) == 0 {
		return nil
	}
	candidates := previous[len(previous)-1:]
	switch level {
	case levelBackwardTransitive, levelForwardTransitive, levelFullTransitive:
		candidates = slices.Clone(previous)
		slices.Reverse(candidates)
	}
	var msgs []string
	for _, old := range candidates {
		msgs = checkPair(level, newType, old)
		if len(msgs) > 0 {
			break
		}
	}
	if len(msgs) > 0 {
		msgs = append(msgs, fmt.Sprintf("{validateFields: 'false', compatibility: '%s'}", level))
	}
	return msgs
}

func checkPair(level string, newType *avroType, old oldSchema) []string {
	if old.typ == nil {
		return []string{incompatDifferentSchemaType}
	}
	render := func(list []incompatibility, reader, writer string, appendOld bool) []string {
		if len(list) == 0 {
			return nil
		}
		out := make([]string, 0, len(list)+2)
		for _, in := range list {
			out = append(out, in.describe(reader, writer))
		}
		if appendOld {
			out = append(out, fmt.Sprintf("{oldSchemaVersion: %d}", old.version), fmt.Sprintf("{oldSchema: '%s'}", old.text))
		}
		return out
	}
	switch level {
	case levelBackward, levelBackwardTransitive:
		return render(readerWriter(newType, old.typ), "new", "old", true)
	case levelForward, levelForwardTransitive:
		return render(readerWriter(old.typ, newType), "old", "new", true)
	default: // FULL, FULL_TRANSITIVE
		msgs := render(readerWriter(old.typ, newType), "old", "new", false)
		return append(msgs, render(readerWriter(newType, old.typ), "new", "old", true)...)
	}
}
