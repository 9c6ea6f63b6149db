package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.uber.org/zap"
)

type schemaRequest struct {
	Schema     *string         `json:"schema"`
	SchemaType string          `json:"schemaType"`
	References []Reference     `json:"references"`
	ID         int             `json:"id"`
	Version    int             `json:"version"`
	Metadata   json.RawMessage `json:"metadata"`
	RuleSet    json.RawMessage `json:"ruleSet"`
}

type schemaResponse struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

func toResponse(v *version) schemaResponse {
	return schemaResponse{Subject: v.subject, Version: v.version, ID: v.id, SchemaType: v.schemaType, References: v.refs, Schema: v.text}
}

// candidate is a schema from a request, validated and parsed.
type candidate struct {
	schemaType string // "" for AVRO
	text       string // canonical: Avro's Schema.toString() of it
	refs       []Reference
	identity   string
	parsed     *avroType
}

func emptyJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}"))
}

// candidateOf validates the schema of a request against the current state.
// Its errors are Confluent's INVALID_SCHEMA (42201) with the reason.
func (s *Server) candidateOf(req *schemaRequest) (*candidate, error) {
	st := strings.ToUpper(strings.TrimSpace(req.SchemaType))
	switch st {
	case "", schemaTypeAvro:
		st = ""
	case "JSON", "PROTOBUF":
		return nil, errInvalidSchema("schema type %s is not supported: this registry validates and checks AVRO schemas only", st)
	default:
		return nil, errInvalidSchema("unknown schema type %q: this registry supports AVRO", req.SchemaType)
	}
	if req.Schema == nil {
		return nil, errInvalidSchema("the request has no \"schema\"")
	}
	if !emptyJSON(req.Metadata) || !emptyJSON(req.RuleSet) {
		return nil, errInvalidSchema("schema metadata and rule sets are not supported by this registry")
	}
	for i, r := range req.References {
		if r.Name == "" || r.Subject == "" || (r.Version < 1 && r.Version != -1) {
			return nil, errInvalidSchema("reference %d needs a \"name\", a \"subject\" and a \"version\" (1 or more, or -1 for the latest)", i)
		}
	}
	s.mu.RLock()
	sources, refs, err := s.st.resolveRefs(req.References)
	s.mu.RUnlock()
	if err != nil {
		return nil, errInvalidSchema("%v", err)
	}
	parsed, err := parseAvro(sources, *req.Schema)
	if err != nil {
		return nil, errInvalidSchema("%v", err)
	}
	text := canonicalSchema(*req.Schema)
	return &candidate{schemaType: st, text: text, refs: refs, identity: identity(st, text, refs), parsed: parsed}, nil
}

// resolveRefs returns the schema texts references stand for, each after
// the schemas it references in turn, and the references with "latest"
// (-1) replaced by the version it is now.
func (st *state) resolveRefs(refs []Reference) ([]avroSource, []Reference, error) {
	var out []avroSource
	seen := map[subjectVersion]bool{}
	var visit func(rs []Reference, depth int) error
	visit = func(rs []Reference, depth int) error {
		if depth > 32 {
			return fmt.Errorf("references nest more than 32 deep")
		}
		for _, r := range rs {
			v := st.get(r.Subject, r.Version, true)
			if v == nil {
				return fmt.Errorf("reference %q: subject %q has no version %s", r.Name, r.Subject, versionLabel(r.Version))
			}
			if v.schemaType != "" {
				return fmt.Errorf("reference %q: %s version %d is a %s schema, not AVRO", r.Name, r.Subject, v.version, v.schemaType)
			}
			key := subjectVersion{v.subject, v.version}
			if seen[key] {
				continue
			}
			seen[key] = true
			if err := visit(v.refs, depth+1); err != nil {
				return err
			}
			out = append(out, avroSource{text: v.text})
		}
		return nil
	}
	if err := visit(refs, 0); err != nil {
		return nil, nil, err
	}
	resolved := make([]Reference, len(refs))
	for i, r := range refs {
		resolved[i] = r
		if r.Version == -1 {
			resolved[i].Version = st.latest(r.Subject).version
		}
	}
	if len(resolved) == 0 {
		resolved = nil
	}
	return out, resolved, nil
}

func versionLabel(n int) string {
	if n == -1 {
		return "latest"
	}
	return fmt.Sprint(n)
}

// parsedSchema returns the parsed form of a registered schema id, nil when
// it is not an Avro schema this registry can parse.
func (s *Server) parsedSchema(st *state, v *version) *avroType {
	s.parsedMu.Lock()
	t, ok := s.parsed[v.id]
	s.parsedMu.Unlock()
	if ok {
		return t
	}
	if v.schemaType != "" {
		return nil
	}
	sources, _, err := st.resolveRefs(v.refs)
	if err == nil {
		t, err = parseAvro(sources, v.text)
	}
	if err != nil {
		s.log.Warn("schema registry: a registered schema does not parse", zap.String("subject", v.subject), zap.Int("version", v.version), zap.Int("id", v.id), zap.Error(err))
		t = nil
	}
	s.parsedMu.Lock()
	s.parsed[v.id] = t
	s.parsedMu.Unlock()
	return t
}

func (s *Server) oldSchemas(st *state, vs []*version) []oldSchema {
	out := make([]oldSchema, len(vs))
	for i, v := range vs {
		out[i] = oldSchema{version: v.version, text: v.text, typ: s.parsedSchema(st, v)}
	}
	return out
}

// findInSubject returns the newest version of subject that is the schema
// with identity ident.
func (st *state) findInSubject(subject, ident string, withDeleted bool) *version {
	var found *version
	for _, v := range st.subjects[subject] {
		if v.deleted && !withDeleted {
			continue
		}
		if e := st.ids[v.id]; e != nil && e.identity == ident && (found == nil || v.version > found.version) {
			found = v
		}
	}
	return found
}

func (s *Server) incompatible(subject string, msgs []string) error {
	return newAPIError(http.StatusConflict, s.cfg.incompatCode,
		"Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s]", subject, strings.Join(msgs, ", "))
}

type registerResponse struct {
	ID         int         `json:"id"`
	Version    int         `json:"version,omitempty"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema,omitempty"`
}

func registered(v *version) registerResponse {
	return registerResponse{ID: v.id, Version: v.version, SchemaType: v.schemaType, References: v.refs, Schema: v.text}
}

// asksFor reports whether a registration of v's schema asks for nothing
// but v: it gives no id or v's, and no version (or -1) or v's.
func (req *schemaRequest) asksFor(v *version) bool {
	return (req.ID <= 0 || req.ID == v.id) && (req.Version <= 0 || req.Version == v.version)
}

func checkRegisterMode(mode, subject string, importing bool) error {
	switch {
	case mode == modeReadOnly:
		return errReadOnly(subject)
	case importing && mode != modeImport:
		return errNotPermitted("Subject %s in context . is not in import mode", subject)
	case !importing && mode != modeReadWrite:
		return errNotPermitted("Subject %s in context . is not in read-write mode", subject)
	}
	return nil
}

// register is POST /subjects/{subject}/versions.
func (s *Server) register(ctx context.Context, r *http.Request, _ url.Values, subject string) (any, error) {
	var req schemaRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if !validSubject(subject) {
		return nil, errInvalidSubject(subject)
	}
	importing := req.ID > 0
	c, err := s.candidateOf(&req)
	if err != nil {
		return nil, err
	}
	// A schema the subject has answers with its version in any mode, as
	// Confluent's registerOrForward does: the mode only refuses writes.
	s.mu.RLock()
	v := s.st.findInSubject(subject, c.identity, false)
	mode := s.st.modeFor(subject)
	s.mu.RUnlock()
	if v != nil && req.asksFor(v) {
		return registered(v), nil
	}
	if err := checkRegisterMode(mode, subject, importing); err != nil {
		return nil, err
	}
	var out registerResponse
	err = s.write(ctx, func(st *state) ([]storeRecord, error) {
		if v := st.findInSubject(subject, c.identity, false); v != nil && req.asksFor(v) {
			out = registered(v)
			return nil, nil
		}
		mode := st.modeFor(subject)
		if err := checkRegisterMode(mode, subject, importing); err != nil {
			return nil, err
		}
		if _, _, err := st.resolveRefs(c.refs); err != nil {
			return nil, errInvalidSchema("%v", err)
		}
		if mode != modeImport {
			if msgs := checkLevel(st.levelFor(subject, s.cfg.defaultLevel), c.parsed, s.oldSchemas(st, st.versions(subject, false))); len(msgs) > 0 {
				return nil, s.incompatible(subject, msgs)
			}
		}
		n := st.nextVersion(subject)
		if req.Version > 0 {
			switch {
			case mode == modeImport:
				if old := st.subjects[subject][req.Version]; old != nil && st.ids[old.id].identity != c.identity {
					return nil, errInvalidSchema("version %d of subject %s already holds another schema", req.Version, subject)
				}
				n = req.Version
			case req.Version != n:
				return nil, errInvalidSchema("Version is not one more than previous version")
			}
		}
		var id int
		switch existing, known := st.byIdentity[c.identity]; {
		case importing:
			if e := st.ids[req.ID]; e != nil && e.identity != c.identity {
				return nil, newAPIError(http.StatusUnprocessableEntity, codeIDDoesNotMatch, "Overwrite new schema with id %d is not permitted.", req.ID)
			}
			if known && existing != req.ID {
				return nil, newAPIError(http.StatusUnprocessableEntity, codeIDDoesNotMatch, "Schema already registered with id %d instead of input id %d", existing, req.ID)
			}
			id = req.ID
		case known:
			id = existing
		default:
			id = st.maxID + 1
		}
		var recs []storeRecord
		// Earlier soft-deleted versions of the same schema are dropped, as
		// Confluent does, unless a schema still references them.
		for _, v := range st.versions(subject, true) {
			if v.deleted && v.id == id && v.version < n && len(st.referencedBy(subject, v.version, true)) == 0 {
				recs = append(recs, storeRecord{key: schemaKey(subject, v.version)})
			}
		}
		// An id has one text: a version of a schema that has an id already
		// is stored with its text, which may be another spelling of the
		// schema (stored by an older sluice, or by another registry).
		text := c.text
		if e := st.ids[id]; e != nil {
			text = e.text
		}
		nv := &version{subject: subject, version: n, id: id, schemaType: c.schemaType, refs: c.refs, text: text}
		recs = append(recs, storeRecord{key: schemaKey(subject, n), value: mustJSON(schemaValue{
			Subject: subject, Version: n, ID: id, SchemaType: c.schemaType, References: c.refs, Schema: text,
		})})
		out = registered(nv)
		return recs, nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Debug("schema registered", zap.String("subject", subject), zap.Int("version", out.Version), zap.Int("id", out.ID))
	return out, nil
}

// lookup is POST /subjects/{subject}: is this schema registered under it?
func (s *Server) lookup(_ context.Context, r *http.Request, q url.Values, subject string) (any, error) {
	var req schemaRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	c, err := s.candidateOf(&req)
	if err != nil {
		return nil, err
	}
	deleted := flag(q, "deleted")
	s.mu.RLock()
	defer s.mu.RUnlock()
	if v := s.st.findInSubject(subject, c.identity, deleted); v != nil {
		return toResponse(v), nil
	}
	if !s.st.hasSubject(subject, deleted) {
		return nil, errSubjectNotFound(subject)
	}
	return nil, errSchemaNotFound()
}

func (s *Server) getSchemaTypes(context.Context, *http.Request, url.Values) (any, error) {
	return []string{schemaTypeAvro}, nil
}

// getSchemas is GET /schemas.
func (s *Server) getSchemas(_ context.Context, _ *http.Request, q url.Values) (any, error) {
	deleted, latestOnly := flag(q, "deleted"), flag(q, "latestOnly")
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []schemaResponse{}
	for _, subject := range s.st.subjectNames(q.Get("subjectPrefix"), deleted, false) {
		vs := s.st.versions(subject, deleted)
		if latestOnly && len(vs) > 0 {
			vs = vs[len(vs)-1:]
		}
		for _, v := range vs {
			out = append(out, toResponse(v))
		}
	}
	return page(q, out), nil
}

type schemaByIDResponse struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	MaxID      int         `json:"maxId,omitempty"`
}

// getSchemaByID is GET /schemas/ids/{id}.
func (s *Server) getSchemaByID(_ context.Context, q url.Values, id int) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.st.ids[id]
	if e == nil {
		return nil, errSchemaIDNotFound(id)
	}
	out := schemaByIDResponse{Schema: e.text, SchemaType: e.schemaType, References: e.refs}
	if flag(q, "fetchMaxId") {
		out.MaxID = s.st.maxID
	}
	return out, nil
}

// getSchemaTextByID is GET /schemas/ids/{id}/schema.
func (s *Server) getSchemaTextByID(_ context.Context, _ url.Values, id int) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.st.ids[id]
	if e == nil {
		return nil, errSchemaIDNotFound(id)
	}
	return rawText(e.text), nil
}

// getSubjectsByID is GET /schemas/ids/{id}/subjects.
func (s *Server) getSubjectsByID(_ context.Context, q url.Values, id int) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.st.ids[id] == nil {
		return nil, errSchemaNotFound()
	}
	out := []string{}
	for _, sv := range s.st.usages(id, flag(q, "deleted")) {
		if len(out) == 0 || out[len(out)-1] != sv.subject {
			out = append(out, sv.subject)
		}
	}
	if subject := q.Get("subject"); subject != "" {
		out = slices.DeleteFunc(out, func(s string) bool { return s != subject })
	}
	return page(q, out), nil
}

type subjectVersionResponse struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// getVersionsByID is GET /schemas/ids/{id}/versions.
func (s *Server) getVersionsByID(_ context.Context, q url.Values, id int) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.st.ids[id] == nil {
		return nil, errSchemaNotFound()
	}
	out := []subjectVersionResponse{}
	subject := q.Get("subject")
	for _, sv := range s.st.usages(id, flag(q, "deleted")) {
		if subject == "" || sv.subject == subject {
			out = append(out, subjectVersionResponse{sv.subject, sv.version})
		}
	}
	return page(q, out), nil
}

// getSubjects is GET /subjects.
func (s *Server) getSubjects(_ context.Context, _ *http.Request, q url.Values) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := s.st.subjectNames(q.Get("subjectPrefix"), flag(q, "deleted"), flag(q, "deletedOnly"))
	return page(q, out), nil
}

// getVersions is GET /subjects/{subject}/versions.
func (s *Server) getVersions(_ context.Context, _ *http.Request, q url.Values, subject string) (any, error) {
	deleted, deletedOnly := flag(q, "deleted"), flag(q, "deletedOnly")
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.st.hasSubject(subject, deleted || deletedOnly) {
		return nil, errSubjectNotFound(subject)
	}
	out := []int{}
	for _, v := range s.st.versions(subject, deleted || deletedOnly) {
		if !deletedOnly || v.deleted {
			out = append(out, v.version)
		}
	}
	return page(q, out), nil
}

func (s *Server) version(subject string, n int, deleted bool) (*version, error) {
	v := s.st.get(subject, n, deleted)
	if v != nil {
		return v, nil
	}
	if !s.st.hasSubject(subject, deleted) {
		return nil, errSubjectNotFound(subject)
	}
	return nil, errVersionNotFound(n)
}

// getVersion is GET /subjects/{subject}/versions/{version}.
func (s *Server) getVersion(_ context.Context, _ *http.Request, q url.Values, subject string, n int) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := s.version(subject, n, flag(q, "deleted"))
	if err != nil {
		return nil, err
	}
	return toResponse(v), nil
}

// getVersionText is GET /subjects/{subject}/versions/{version}/schema.
func (s *Server) getVersionText(_ context.Context, _ *http.Request, q url.Values, subject string, n int) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := s.version(subject, n, flag(q, "deleted"))
	if err != nil {
		return nil, err
	}
	return rawText(v.text), nil
}

// getReferencedBy is GET /subjects/{subject}/versions/{version}/referencedby.
func (s *Server) getReferencedBy(_ context.Context, _ *http.Request, q url.Values, subject string, n int) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := s.version(subject, n, true)
	if err != nil {
		return nil, err
	}
	return page(q, s.st.referencedBy(subject, v.version, flag(q, "deleted"))), nil
}

// deleteVersion is DELETE /subjects/{subject}/versions/{version}.
func (s *Server) deleteVersion(ctx context.Context, _ *http.Request, q url.Values, subject string, n int) (any, error) {
	permanent := flag(q, "permanent")
	var deleted int
	err := s.write(ctx, func(st *state) ([]storeRecord, error) {
		if st.modeFor(subject) == modeReadOnly {
			return nil, errReadOnly(subject)
		}
		if n != -1 {
			if v := st.subjects[subject][n]; v != nil && v.deleted && !permanent {
				return nil, errVersionSoftDeleted(subject, n)
			}
		}
		v := st.get(subject, n, true)
		if v == nil {
			if !st.hasSubject(subject, true) {
				return nil, errSubjectNotFound(subject)
			}
			return nil, errVersionNotFound(n)
		}
		if len(st.referencedBy(subject, v.version, permanent)) > 0 {
			return nil, errReferenceExists(subject, v.version)
		}
		deleted = v.version
		if !permanent {
			sv := schemaValue{Subject: subject, Version: v.version, ID: v.id, SchemaType: v.schemaType, References: v.refs, Schema: v.text, Deleted: true}
			return []storeRecord{{key: schemaKey(subject, v.version), value: mustJSON(sv)}}, nil
		}
		if !v.deleted {
			return nil, errVersionNotSoftDeleted(subject, v.version)
		}
		recs := []storeRecord{{key: schemaKey(subject, v.version)}}
		if len(st.subjects[subject]) == 1 {
			recs = append(recs, subjectSettingsTombstones(st, subject)...)
		}
		return recs, nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// subjectSettingsTombstones removes a subject's own compatibility level and
// mode, when it is deleted for good.
func subjectSettingsTombstones(st *state, subject string) []storeRecord {
	var recs []storeRecord
	if _, ok := st.configs[subject]; ok {
		recs = append(recs, storeRecord{key: configKey(subject)})
	}
	if _, ok := st.modes[subject]; ok {
		recs = append(recs, storeRecord{key: modeKey(subject)})
	}
	return recs
}

// deleteSubject is DELETE /subjects/{subject}.
func (s *Server) deleteSubject(ctx context.Context, _ *http.Request, q url.Values, subject string) (any, error) {
	permanent := flag(q, "permanent")
	var deleted []int
	err := s.write(ctx, func(st *state) ([]storeRecord, error) {
		if st.modeFor(subject) == modeReadOnly {
			return nil, errReadOnly(subject)
		}
		if !st.hasSubject(subject, true) {
			return nil, errSubjectNotFound(subject)
		}
		if !permanent && !st.hasSubject(subject, false) {
			return nil, errSubjectSoftDeleted(subject)
		}
		vs := st.versions(subject, permanent)
		deleted = make([]int, 0, len(vs))
		for _, v := range vs {
			if len(st.referencingSubjects(subject, v.version, permanent)) > 0 {
				return nil, errReferenceExists(subject, v.version)
			}
			if permanent && !v.deleted {
				return nil, errSubjectNotSoftDeleted(subject)
			}
			deleted = append(deleted, v.version)
		}
		if !permanent {
			return []storeRecord{{key: deleteSubjectKey(subject), value: mustJSON(deleteSubjectValue{Subject: subject, Version: deleted[len(deleted)-1]})}}, nil
		}
		var recs []storeRecord
		for i := len(vs) - 1; i >= 0; i-- {
			recs = append(recs, storeRecord{key: schemaKey(subject, vs[i].version)})
		}
		return append(recs, subjectSettingsTombstones(st, subject)...), nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

type compatibilityResponse struct {
	IsCompatible bool     `json:"is_compatible"`
	Messages     []string `json:"messages,omitempty"`
}

// checkVersion is POST /compatibility/subjects/{subject}/versions/{version}.
func (s *Server) checkVersion(_ context.Context, r *http.Request, q url.Values, subject string, n int) (any, error) {
	return s.check(r, q, subject, func(st *state) ([]*version, error) {
		v := st.get(subject, n, false)
		if v == nil {
			if n == -1 {
				return nil, nil
			}
			return nil, errVersionNotFound(n)
		}
		return []*version{v}, nil
	})
}

// checkAll is POST /compatibility/subjects/{subject}/versions: the check a
// registration would make.
func (s *Server) checkAll(_ context.Context, r *http.Request, q url.Values, subject string) (any, error) {
	return s.check(r, q, subject, func(st *state) ([]*version, error) {
		return st.versions(subject, false), nil
	})
}

func (s *Server) check(r *http.Request, q url.Values, subject string, against func(*state) ([]*version, error)) (any, error) {
	var req schemaRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	verbose := flag(q, "verbose")
	s.mu.RLock()
	vs, err := against(s.st)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	c, err := s.candidateOf(&req)
	if err != nil {
		if verbose {
			return compatibilityResponse{IsCompatible: false, Messages: []string{err.Error()}}, nil
		}
		return nil, err
	}
	s.mu.RLock()
	msgs := checkLevel(s.st.levelFor(subject, s.cfg.defaultLevel), c.parsed, s.oldSchemas(s.st, vs))
	s.mu.RUnlock()
	out := compatibilityResponse{IsCompatible: len(msgs) == 0}
	if verbose {
		out.Messages = msgs
		if out.Messages == nil {
			out.Messages = []string{}
		}
	}
	return out, nil
}

type configResponse struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
}

type configRequest struct {
	Compatibility      string `json:"compatibility"`
	CompatibilityLevel string `json:"compatibilityLevel"`
}

type configUpdateResponse struct {
	Compatibility string `json:"compatibility"`
}

type configDeleteResponse struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
	// Compatibility repeats the level under the name franz-go's sr reads
	// when resetting a level.
	Compatibility string `json:"compatibility"`
}

func (s *Server) getConfig(_ context.Context, _ *http.Request, q url.Values, subject string) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if subject == "" {
		return configResponse{s.st.levelFor("", s.cfg.defaultLevel)}, nil
	}
	if l, ok := s.st.configs[subject]; ok {
		return configResponse{l}, nil
	}
	if flag(q, "defaultToGlobal") {
		return configResponse{s.st.levelFor("", s.cfg.defaultLevel)}, nil
	}
	return nil, newAPIError(http.StatusNotFound, codeSubjectCompatNotConfigured, "Subject '%s' does not have subject-level compatibility configured", subject)
}

func settingsReadOnly(st *state, subject string) error {
	if st.modeFor(subject) != modeReadOnly {
		return nil
	}
	if subject == "" {
		return errNotPermitted("The registry in context . is in read-only mode")
	}
	return errReadOnly(subject)
}

func (s *Server) putConfig(ctx context.Context, r *http.Request, _ url.Values, subject string) (any, error) {
	var req configRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	name := req.Compatibility
	if name == "" {
		name = req.CompatibilityLevel
	}
	level, ok := parseLevel(name)
	if !ok {
		return nil, errInvalidCompatibility()
	}
	if subject != "" && !validSubject(subject) {
		return nil, errInvalidSubject(subject)
	}
	err := s.write(ctx, func(st *state) ([]storeRecord, error) {
		if err := settingsReadOnly(st, subject); err != nil {
			return nil, err
		}
		return []storeRecord{{key: configKey(subject), value: mustJSON(configValue{Subject: subject, CompatibilityLevel: level})}}, nil
	})
	if err != nil {
		return nil, err
	}
	return configUpdateResponse{level}, nil
}

func (s *Server) deleteConfig(ctx context.Context, _ *http.Request, _ url.Values, subject string) (any, error) {
	var prev string
	err := s.write(ctx, func(st *state) ([]storeRecord, error) {
		l, ok := st.configs[subject]
		if !ok {
			if subject != "" {
				return nil, errSubjectNotFound(subject)
			}
			prev = s.cfg.defaultLevel
			return nil, nil
		}
		if err := settingsReadOnly(st, subject); err != nil {
			return nil, err
		}
		prev = l
		return []storeRecord{{key: configKey(subject)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return configDeleteResponse{prev, prev}, nil
}

type modeBody struct {
	Mode string `json:"mode"`
}

func (s *Server) getMode(_ context.Context, _ *http.Request, q url.Values, subject string) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if subject == "" {
		return modeBody{s.st.modeFor("")}, nil
	}
	if m, ok := s.st.modes[subject]; ok {
		return modeBody{m}, nil
	}
	if flag(q, "defaultToGlobal") {
		return modeBody{s.st.modeFor("")}, nil
	}
	return nil, newAPIError(http.StatusNotFound, codeSubjectModeNotConfigured, "Subject '%s' does not have subject-level mode configured", subject)
}

func (s *Server) putMode(ctx context.Context, r *http.Request, q url.Values, subject string) (any, error) {
	var req modeBody
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	mode, ok := parseMode(strings.ToUpper(strings.TrimSpace(req.Mode)))
	if !ok {
		return nil, errInvalidMode()
	}
	if subject != "" && !validSubject(subject) {
		return nil, errInvalidSubject(subject)
	}
	force := flag(q, "force")
	err := s.write(ctx, func(st *state) ([]storeRecord, error) {
		if mode == modeImport && st.modeFor(subject) != modeImport && !force {
			live := st.subjectNames("", false, false)
			if subject != "" {
				live = slices.DeleteFunc(live, func(x string) bool { return x != subject })
			}
			if len(live) > 0 {
				return nil, errNotPermitted("Cannot import since found existing subjects")
			}
		}
		return []storeRecord{{key: modeKey(subject), value: mustJSON(modeValue{Subject: subject, Mode: mode})}}, nil
	})
	if err != nil {
		return nil, err
	}
	return modeBody{mode}, nil
}

func (s *Server) deleteMode(ctx context.Context, _ *http.Request, _ url.Values, subject string) (any, error) {
	var prev string
	err := s.write(ctx, func(st *state) ([]storeRecord, error) {
		m, ok := st.modes[subject]
		if !ok {
			if subject != "" {
				return nil, errSubjectNotFound(subject)
			}
			prev = modeReadWrite
			return nil, nil
		}
		prev = m
		return []storeRecord{{key: modeKey(subject)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return modeBody{prev}, nil
}
