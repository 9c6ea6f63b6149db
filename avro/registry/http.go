package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"
)

const (
	contentTypeV1 = "application/vnd.schemaregistry.v1+json"
	maxBodyBytes  = 8 << 20
)

// rawText is a response written as is, not as JSON: the schema-only
// endpoints answer the schema text itself.
type rawText string

type handlerFunc func(ctx context.Context, r *http.Request, q url.Values) (any, error)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// ServeHTTP serves Confluent Schema Registry's REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("schema registry: request panicked", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Any("panic", p), zap.Stack("stack"))
			s.writeError(sw, r, errStore("Internal error"))
		}
	}()
	route, h, err := s.route(r)
	if err == nil && route != "/" {
		err = s.awaitReady(r.Context())
	}
	var out any
	if err == nil {
		err = checkContentType(r)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.timeout)
		out, err = h(ctx, r, r.URL.Query())
		cancel()
	}
	if err != nil {
		s.writeError(sw, r, err)
	} else {
		writeResponse(sw, out)
	}
	s.m.request(r.Method, route, sw.status)
	s.log.Debug("schema registry request",
		zap.String("method", r.Method),
		zap.String("path", r.URL.Path),
		zap.String("route", route),
		zap.Int("status", sw.status),
		zap.Duration("took", time.Since(start)))
}

func (s *Server) awaitReady(ctx context.Context) error {
	if s.Ready() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	switch err := s.WaitReady(ctx); {
	case err == nil:
		return nil
	case errors.Is(err, ErrStopped):
		return errStore("The schema registry is not running")
	default:
		return errTimeout("The schema registry is still reading its storage topic %s", s.cfg.topic)
	}
}

func checkContentType(r *http.Request) error {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		switch mt {
		case contentTypeV1, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream":
			return nil
		}
	}
	return errHTTP(http.StatusUnsupportedMediaType)
}

func writeResponse(w http.ResponseWriter, v any) {
	if t, ok := v.(rawText); ok {
		w.Header().Set("Content-Type", contentTypeV1)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, string(t))
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error_code":50001,"message":"encoding the response failed"}`)
		w.Header().Set("Content-Type", contentTypeV1)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(b)
		return
	}
	w.Header().Set("Content-Type", contentTypeV1)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Warn("schema registry: request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
		ae = errStore("Error in the backend data store: %v", err)
	}
	b, _ := json.Marshal(struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}{ae.code, ae.message})
	w.Header().Set("Content-Type", contentTypeV1)
	w.WriteHeader(ae.status)
	_, _ = w.Write(b)
}

// route finds the handler of a request; the route is the path pattern, for
// metrics and logs.
func (s *Server) route(r *http.Request) (string, handlerFunc, error) {
	raw := strings.TrimSuffix(r.URL.EscapedPath(), "/")
	var seg []string
	if raw != "" {
		for _, p := range strings.Split(strings.TrimPrefix(raw, "/"), "/") {
			u, err := url.PathUnescape(p)
			if err != nil {
				return "unknown", nil, errHTTP(http.StatusNotFound)
			}
			seg = append(seg, u)
		}
	}
	type methods map[string]handlerFunc
	var (
		route string
		ms    methods
	)
	match := func(pattern string, m methods) bool {
		ps := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
		if pattern == "/" {
			ps = nil
		}
		if len(ps) != len(seg) {
			return false
		}
		for i, p := range ps {
			if !strings.HasPrefix(p, "{") && p != seg[i] {
				return false
			}
		}
		route, ms = pattern, m
		return true
	}
	// Handlers are built while matching; a segment a pattern lacks is "".
	get := func(i int) string {
		if i < len(seg) {
			return seg[i]
		}
		return ""
	}
	switch {
	case match("/", methods{http.MethodGet: func(context.Context, *http.Request, url.Values) (any, error) { return struct{}{}, nil }}):
	case match("/schemas/types", methods{http.MethodGet: s.getSchemaTypes}):
	case match("/schemas", methods{http.MethodGet: s.getSchemas}):
	case match("/schemas/ids/{id}", methods{http.MethodGet: s.withID(get, 2, s.getSchemaByID)}):
	case match("/schemas/ids/{id}/schema", methods{http.MethodGet: s.withID(get, 2, s.getSchemaTextByID)}):
	case match("/schemas/ids/{id}/subjects", methods{http.MethodGet: s.withID(get, 2, s.getSubjectsByID)}):
	case match("/schemas/ids/{id}/versions", methods{http.MethodGet: s.withID(get, 2, s.getVersionsByID)}):
	case match("/subjects", methods{http.MethodGet: s.getSubjects}):
	case match("/subjects/{subject}", methods{
		http.MethodPost:   s.withSubject(get(1), s.lookup),
		http.MethodDelete: s.withSubject(get(1), s.deleteSubject),
	}):
	case match("/subjects/{subject}/versions", methods{
		http.MethodGet:  s.withSubject(get(1), s.getVersions),
		http.MethodPost: s.withSubject(get(1), s.register),
	}):
	case match("/subjects/{subject}/versions/{version}", methods{
		http.MethodGet:    s.withVersion(get(1), get(3), s.getVersion),
		http.MethodDelete: s.withVersion(get(1), get(3), s.deleteVersion),
	}):
	case match("/subjects/{subject}/versions/{version}/schema", methods{http.MethodGet: s.withVersion(get(1), get(3), s.getVersionText)}):
	case match("/subjects/{subject}/versions/{version}/referencedby", methods{http.MethodGet: s.withVersion(get(1), get(3), s.getReferencedBy)}):
	case match("/compatibility/subjects/{subject}/versions", methods{http.MethodPost: s.withSubject(get(2), s.checkAll)}):
	case match("/compatibility/subjects/{subject}/versions/{version}", methods{http.MethodPost: s.withVersion(get(2), get(4), s.checkVersion)}):
	case match("/config", methods{
		http.MethodGet:    s.withSubject("", s.getConfig),
		http.MethodPut:    s.withSubject("", s.putConfig),
		http.MethodDelete: s.withSubject("", s.deleteConfig),
	}):
	case match("/config/{subject}", methods{
		http.MethodGet:    s.withSubject(get(1), s.getConfig),
		http.MethodPut:    s.withSubject(get(1), s.putConfig),
		http.MethodDelete: s.withSubject(get(1), s.deleteConfig),
	}):
	case match("/mode", methods{
		http.MethodGet:    s.withSubject("", s.getMode),
		http.MethodPut:    s.withSubject("", s.putMode),
		http.MethodDelete: s.withSubject("", s.deleteMode),
	}):
	case match("/mode/{subject}", methods{
		http.MethodGet:    s.withSubject(get(1), s.getMode),
		http.MethodPut:    s.withSubject(get(1), s.putMode),
		http.MethodDelete: s.withSubject(get(1), s.deleteMode),
	}):
	case match("/contexts", methods{http.MethodGet: func(context.Context, *http.Request, url.Values) (any, error) { return []string{"."}, nil }}):
	default:
		return "unknown", nil, errHTTP(http.StatusNotFound)
	}
	h, ok := ms[r.Method]
	if !ok {
		return route, nil, errHTTP(http.StatusMethodNotAllowed)
	}
	return route, h, nil
}

type (
	subjectHandler func(ctx context.Context, r *http.Request, q url.Values, subject string) (any, error)
	versionHandler func(ctx context.Context, r *http.Request, q url.Values, subject string, version int) (any, error)
	idHandler      func(ctx context.Context, q url.Values, id int) (any, error)
)

func (s *Server) withSubject(subject string, h subjectHandler) handlerFunc {
	return func(ctx context.Context, r *http.Request, q url.Values) (any, error) {
		return h(ctx, r, q, subject)
	}
}

func (s *Server) withVersion(subject, v string, h versionHandler) handlerFunc {
	return func(ctx context.Context, r *http.Request, q url.Values) (any, error) {
		n, err := parseVersion(v)
		if err != nil {
			return nil, err
		}
		return h(ctx, r, q, subject, n)
	}
}

func (s *Server) withID(get func(int) string, i int, h idHandler) handlerFunc {
	return func(ctx context.Context, _ *http.Request, q url.Values) (any, error) {
		id, err := strconv.ParseInt(get(i), 10, 32)
		if err != nil {
			return nil, errHTTP(http.StatusNotFound)
		}
		return h(ctx, q, int(id))
	}
}

// parseVersion reads a version id: "latest" (or -1) is -1, otherwise an
// integer from 1 to 2^31-1.
func parseVersion(v string) (int, error) {
	if v == "latest" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || (n < 1 && n != -1) {
		return 0, errInvalidVersion(v)
	}
	return int(n), nil
}

func flag(q url.Values, name string) bool { return strings.EqualFold(q.Get(name), "true") }

// page applies the offset and limit query parameters to a list.
func page[T any](q url.Values, list []T) []T {
	if off, err := strconv.Atoi(q.Get("offset")); err == nil && off > 0 {
		if off >= len(list) {
			return []T{}
		}
		list = list[off:]
	}
	if lim, err := strconv.Atoi(q.Get("limit")); err == nil && lim >= 0 && lim < len(list) {
		list = list[:lim]
	}
	if list == nil {
		return []T{}
	}
	return list
}

// validSubject reports whether a subject name is acceptable: not empty,
// valid UTF-8, and free of control characters.
func validSubject(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// decodeBody decodes a JSON request body into v. Malformed JSON and values
// of the wrong JSON type are refused with HTTP 400, as Confluent's REST
// layer does; an empty body with 422.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newAPIError(http.StatusUnprocessableEntity, 42209, "The request body is larger than %d bytes", maxBodyBytes)
		}
		return errBadRequest("Reading the request body failed: %v", err)
	}
	return decodeBodyBytes(body, v)
}

func decodeBodyBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return newAPIError(http.StatusUnprocessableEntity, http.StatusUnprocessableEntity, "The request body may not be empty")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errBadRequest("Malformed request body: %s must not be a JSON %s", fieldLabel(te), te.Value)
		}
		return errBadRequest("Malformed request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadRequest("Malformed request body: unexpected data after the JSON object")
	}
	return nil
}

func fieldLabel(te *json.UnmarshalTypeError) string {
	if te.Field == "" {
		return "the body"
	}
	return fmt.Sprintf("field %q", te.Field)
}
