package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

const schemaTypeAvro = "AVRO"

// version is one version of a subject.
type version struct {
	subject    string
	version    int
	id         int
	schemaType string // "" for AVRO, as Confluent stores it
	refs       []Reference
	text       string
	deleted    bool
}

type subjectVersion struct {
	subject string
	version int
}

// schemaEntry is a schema id: one schema text with its references, used by
// one or more subject versions.
type schemaEntry struct {
	id         int
	schemaType string
	text       string
	refs       []Reference
	identity   string
	users      map[subjectVersion]bool
}

// state is everything the storage topic says, as of the records applied so
// far. It is not safe for concurrent use; the Server guards it.
type state struct {
	subjects   map[string]map[int]*version
	ids        map[int]*schemaEntry
	byIdentity map[string]int
	maxID      int
	configs    map[string]string // subject ("" for global) → compatibility level
	modes      map[string]string // subject ("" for global) → mode
	// removals counts versions removed (hard deletes, replaced or cleared
	// versions): what was parsed from the old state may be stale.
	removals int
}

func newState() *state {
	return &state{
		subjects:   map[string]map[int]*version{},
		ids:        map[int]*schemaEntry{},
		byIdentity: map[string]int{},
		configs:    map[string]string{},
		modes:      map[string]string{},
	}
}

// identity is what makes two registrations the same schema: the type, the
// canonical text (the same for every spelling of an Avro schema) and the
// references. It is made from stored texts too, so a schema stored in
// another spelling (by an older sluice, which kept names as written, or
// by another registry) is the schema registered or looked up now.
func identity(schemaType, text string, refs []Reference) string {
	if schemaType == "" {
		schemaType = schemaTypeAvro
	}
	var r []byte
	if len(refs) > 0 {
		r, _ = json.Marshal(refs)
	}
	return schemaType + "\n" + canonicalSchema(text) + "\n" + string(r)
}

// apply applies one record of the storage topic. It returns an error, for
// logging, when the record is malformed or refused; the state is then
// unchanged.
func (st *state) apply(key, value []byte) error {
	k, err := decodeKey(key)
	if err != nil {
		return err
	}
	switch k.KeyType {
	case keySchema:
		if k.Subject == nil || k.Version == nil {
			return fmt.Errorf("registry: SCHEMA key without subject or version: %s", key)
		}
		if value == nil {
			st.removeVersion(*k.Subject, *k.Version)
			return nil
		}
		var v schemaValue
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("registry: SCHEMA value of %s version %d: %w", *k.Subject, *k.Version, err)
		}
		if v.Subject != *k.Subject || v.Version != *k.Version {
			return fmt.Errorf("registry: SCHEMA value names %s version %d under the key of %s version %d", v.Subject, v.Version, *k.Subject, *k.Version)
		}
		if v.ID <= 0 || v.Version <= 0 {
			return fmt.Errorf("registry: SCHEMA value of %s version %d has id %d", v.Subject, v.Version, v.ID)
		}
		return st.putVersion(&version{
			subject: v.Subject, version: v.Version, id: v.ID, schemaType: strings.ToUpper(v.SchemaType),
			refs: v.References, text: v.Schema, deleted: v.Deleted,
		})
	case keyConfig, keyMode:
		subject := ""
		if k.Subject != nil {
			subject = *k.Subject
		}
		m := st.configs
		if k.KeyType == keyMode {
			m = st.modes
		}
		if value == nil {
			delete(m, subject)
			return nil
		}
		if k.KeyType == keyConfig {
			var c configValue
			if err := json.Unmarshal(value, &c); err != nil {
				return fmt.Errorf("registry: CONFIG value of %q: %w", subject, err)
			}
			level, ok := parseLevel(c.CompatibilityLevel)
			if !ok {
				// A config record without a level (Confluent writes other
				// settings this way): the level is the default.
				delete(m, subject)
				return nil
			}
			m[subject] = level
			return nil
		}
		var mv modeValue
		if err := json.Unmarshal(value, &mv); err != nil {
			return fmt.Errorf("registry: MODE value of %q: %w", subject, err)
		}
		mode, ok := parseMode(mv.Mode)
		if !ok {
			return fmt.Errorf("registry: MODE value of %q: unknown mode %q", subject, mv.Mode)
		}
		m[subject] = mode
		return nil
	case keyDeleteSubject:
		if value == nil {
			return nil
		}
		var d deleteSubjectValue
		if err := json.Unmarshal(value, &d); err != nil {
			return fmt.Errorf("registry: DELETE_SUBJECT value: %w", err)
		}
		for n, v := range st.subjects[d.Subject] {
			if n <= d.Version {
				v.deleted = true
			}
		}
		return nil
	case keyClearSubject:
		if value == nil {
			return nil
		}
		var c clearSubjectValue
		if err := json.Unmarshal(value, &c); err != nil {
			return fmt.Errorf("registry: CLEAR_SUBJECT value: %w", err)
		}
		for n := range st.subjects[c.Subject] {
			st.removeVersion(c.Subject, n)
		}
		return nil
	default:
		// NOOP markers, and record types sluice does not use.
		return nil
	}
}

func (st *state) putVersion(v *version) error {
	ident := identity(v.schemaType, v.text, v.refs)
	if e, ok := st.ids[v.id]; ok && e.identity != ident {
		// Confluent's rule: an id belongs to the first schema written
		// with it; a later record that reuses it for another schema lost
		// a race and is ignored.
		return fmt.Errorf("registry: %s version %d claims id %d, which belongs to another schema; ignored", v.subject, v.version, v.id)
	}
	st.removeVersion(v.subject, v.version)
	vs := st.subjects[v.subject]
	if vs == nil {
		vs = map[int]*version{}
		st.subjects[v.subject] = vs
	}
	vs[v.version] = v
	e := st.ids[v.id]
	if e == nil {
		e = &schemaEntry{id: v.id, schemaType: v.schemaType, text: v.text, refs: v.refs, identity: ident, users: map[subjectVersion]bool{}}
		st.ids[v.id] = e
	}
	e.users[subjectVersion{v.subject, v.version}] = true
	if _, ok := st.byIdentity[ident]; !ok {
		st.byIdentity[ident] = v.id
	}
	st.maxID = max(st.maxID, v.id)
	return nil
}

func (st *state) removeVersion(subject string, n int) {
	vs := st.subjects[subject]
	v, ok := vs[n]
	if !ok {
		return
	}
	delete(vs, n)
	st.removals++
	if len(vs) == 0 {
		delete(st.subjects, subject)
	}
	e := st.ids[v.id]
	if e == nil {
		return
	}
	delete(e.users, subjectVersion{subject, n})
	if len(e.users) == 0 {
		delete(st.ids, v.id)
		if st.byIdentity[e.identity] == v.id {
			delete(st.byIdentity, e.identity)
		}
	}
}

// versions returns the versions of subject, oldest first, with or without
// the soft-deleted ones.
func (st *state) versions(subject string, withDeleted bool) []*version {
	vs := st.subjects[subject]
	out := make([]*version, 0, len(vs))
	for _, v := range vs {
		if withDeleted || !v.deleted {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out
}

// hasSubject reports whether subject has a version (a live one, or any).
func (st *state) hasSubject(subject string, withDeleted bool) bool {
	for _, v := range st.subjects[subject] {
		if withDeleted || !v.deleted {
			return true
		}
	}
	return false
}

// latest returns the newest live version of subject.
func (st *state) latest(subject string) *version {
	var l *version
	for _, v := range st.subjects[subject] {
		if !v.deleted && (l == nil || v.version > l.version) {
			l = v
		}
	}
	return l
}

// get returns a version of subject; n == -1 is the latest live one.
func (st *state) get(subject string, n int, withDeleted bool) *version {
	if n == -1 {
		return st.latest(subject)
	}
	v := st.subjects[subject][n]
	if v == nil || (v.deleted && !withDeleted) {
		return nil
	}
	return v
}

// nextVersion is the version a new registration under subject gets.
func (st *state) nextVersion(subject string) int {
	n := 0
	for k := range st.subjects[subject] {
		n = max(n, k)
	}
	return n + 1
}

// subjectNames lists the subjects whose names start with prefix, sorted:
// those with a live version; with withDeleted, also those whose versions
// are all soft-deleted; with deletedOnly, only those, as Confluent lists
// them (a subject with a live version is not deleted).
func (st *state) subjectNames(prefix string, withDeleted, deletedOnly bool) []string {
	var out []string
	for s := range st.subjects {
		if !strings.HasPrefix(s, prefix) {
			continue
		}
		live := st.hasSubject(s, false)
		if (live && !deletedOnly) || (!live && (withDeleted || deletedOnly)) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// referencedBy returns the ids of schemas whose references name subject
// and version, sorted; soft-deleted referrers count when withDeleted.
func (st *state) referencedBy(subject string, n int, withDeleted bool) []int {
	seen := map[int]bool{}
	for _, vs := range st.subjects {
		for _, v := range vs {
			if v.deleted && !withDeleted {
				continue
			}
			for _, r := range v.refs {
				if r.Subject == subject && r.Version == n {
					seen[v.id] = true
				}
			}
		}
	}
	out := make([]int, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// referencingSubjects returns the subjects, other than subject itself, with
// a version that references subject and version.
func (st *state) referencingSubjects(subject string, n int, withDeleted bool) []string {
	var out []string
	for s, vs := range st.subjects {
		if s == subject {
			continue
		}
		for _, v := range vs {
			if v.deleted && !withDeleted {
				continue
			}
			if slices.ContainsFunc(v.refs, func(r Reference) bool { return r.Subject == subject && r.Version == n }) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// usages returns the subject versions that use id, sorted.
func (st *state) usages(id int, withDeleted bool) []subjectVersion {
	e := st.ids[id]
	if e == nil {
		return nil
	}
	out := make([]subjectVersion, 0, len(e.users))
	for sv := range e.users {
		if v := st.subjects[sv.subject][sv.version]; v != nil && (withDeleted || !v.deleted) {
			out = append(out, sv)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].subject != out[j].subject {
			return out[i].subject < out[j].subject
		}
		return out[i].version < out[j].version
	})
	return out
}

// levelFor is the compatibility level that applies to subject.
func (st *state) levelFor(subject, def string) string {
	if l, ok := st.configs[subject]; ok && subject != "" {
		return l
	}
	if l, ok := st.configs[""]; ok {
		return l
	}
	return def
}

// modeFor is the mode that applies to subject.
func (st *state) modeFor(subject string) string {
	if m, ok := st.modes[subject]; ok && subject != "" {
		return m
	}
	if m, ok := st.modes[""]; ok {
		return m
	}
	return modeReadWrite
}
