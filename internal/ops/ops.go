// Package ops serves the operations port of a sluice process: /healthz,
// /readyz, /metrics and the admin API.
//
// /healthz answers 200 while the process runs. /readyz answers 200 only
// when every readiness check passes (Kafka and Redis answer), and 503 with
// the failing checks otherwise, so a load balancer or Kubernetes stops
// sending traffic to an instance that could not handle it. /metrics serves
// the process's Prometheus registry.
package ops

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Check is a readiness check; it returns nil when its dependency answers.
type Check func(ctx context.Context) error

// Server is the ops HTTP server. Register checks and admin handlers before
// Run. It is safe for concurrent use.
type Server struct {
	addr    string
	log     *zap.Logger
	gather  prometheus.Gatherer
	mux     *http.ServeMux
	timeout time.Duration

	mu         sync.Mutex
	checks     map[string]Check
	ln         net.Listener
	adminToken string
}

// New returns an ops server that will listen on addr and serve gather's
// metrics.
func New(addr string, gather prometheus.Gatherer, log *zap.Logger) *Server {
	s := &Server{
		addr:    addr,
		log:     log,
		gather:  gather,
		mux:     http.NewServeMux(),
		timeout: 2 * time.Second,
		checks:  map[string]Check{},
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	return s
}

// AddCheck registers a readiness check under name.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// SetAdminToken makes every admin handler registered with Handle require
// "Authorization: Bearer <token>". Without a token (the default) the admin
// API is open to whoever reaches the ops port, which then belongs on a
// private network. Call it before Handle.
func (s *Server) SetAdminToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adminToken = token
}

// Handle registers an admin handler, e.g. "GET /admin/v1/destinations".
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mu.Lock()
	token := s.adminToken
	s.mu.Unlock()
	if token != "" {
		h = requireToken(token, h)
	}
	s.mux.Handle(pattern, h)
}

// requireToken refuses requests without the bearer token, comparing in
// constant time.
func requireToken(token string, h http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice-admin"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "unauthorized", "detail": "the admin API needs Authorization: Bearer <SLUICE_ADMIN_TOKEN>"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Handler returns the server's handler, for tests.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(checks))
	for name, c := range checks {
		go func() { results <- result{name, c(ctx)} }()
	}
	status := map[string]string{}
	failed := false
	for range checks {
		res := <-results
		if res.err != nil {
			failed = true
			status[res.name] = res.err.Error()
		} else {
			status[res.name] = "ok"
		}
	}
	code := http.StatusOK
	if failed {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": !failed, "checks": status})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Listen binds the server's address and returns the bound address; Run
// then serves on it. Calling Run without Listen binds first.
func (s *Server) Listen() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String(), nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return "", err
	}
	s.ln = ln
	return ln.Addr().String(), nil
}

// Name returns "ops".
func (s *Server) Name() string { return "ops" }

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if _, err := s.Listen(); err != nil {
		return err
	}
	return Serve(ctx, s.ln, s.mux, s.log)
}

// Serve serves h on ln until ctx ends, then shuts down gracefully within
// 5 seconds. It is the one way every sluice HTTP server runs.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *zap.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
