package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"go.uber.org/zap"
	"net/http"
	"time"
)

// Status is the state of one destination, as the admin API shows it.
type Status struct {
	// ID and Kind of the destination.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Host is a webhook destination's host (never its path, which may
	// hold a token); Topic a kafka destination's topic.
	Host  string `json:"host,omitempty"`
	Topic string `json:"topic,omitempty"`
	// Lanes delivered by this process.
	Lanes []string `json:"lanes"`
	// Ordered says whether events of one key go in order.
	Ordered bool `json:"ordered"`
	// Breaker is the circuit breaker's state in this process: closed,
	// half-open or open.
	Breaker string `json:"breaker"`
	// Disabled says why the destination is disabled, nil when it is not.
	Disabled *Disabled `json:"disabled"`
	// InFlight and MaxConcurrency are this process's requests in flight
	// and their cap.
	InFlight       int `json:"in_flight"`
	MaxConcurrency int `json:"max_concurrency"`
	// RetryDelays are the delays of the retry topics.
	RetryDelays []string `json:"retry_delays"`
}

// Status returns the state of every destination, in catalog order; the
// disabled flags are read from Redis, so they hold for every instance.
func (s *Stage) Status(ctx context.Context) ([]Status, error) {
	ids := make([]string, len(s.dests))
	for i, d := range s.dests {
		ids[i] = d.cfg.ID
	}
	flags, err := s.store.disabled(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(s.dests))
	for i, d := range s.dests {
		st := Status{
			ID:             d.cfg.ID,
			Kind:           d.cfg.Kind,
			Topic:          d.cfg.Topic,
			Lanes:          s.opts.lanes,
			Ordered:        d.cfg.Ordered,
			Breaker:        d.breakerState(),
			Disabled:       flags[i],
			InFlight:       len(d.sem),
			MaxConcurrency: cap(d.sem),
		}
		if d.client != nil {
			st.Host = d.client.Host()
			d.setDisabled(flags[i])
		}
		for _, l := range d.lanes {
			st.RetryDelays = append(st.RetryDelays, l.String())
		}
		out[i] = st
	}
	return out, nil
}

// Mux is where the admin API is registered: the ops server, or an
// http.ServeMux.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// RegisterAdmin registers the admin API on m:
//
//	GET  /admin/v1/destinations              the Status of every destination
//	POST /admin/v1/destinations/{id}/enable  enable a disabled destination
//	POST /admin/v1/destinations/{id}/disable disable one (?reason=...)
func (s *Stage) RegisterAdmin(m Mux) {
	m.Handle("GET /admin/v1/destinations", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		st, err := s.Status(ctx)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, apiError{Code: "unavailable", Message: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"destinations": st})
	}))
	m.Handle("POST /admin/v1/destinations/{id}/enable", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.adminSet(w, r, "enable", "", func(ctx context.Context, id string) error { return s.Enable(ctx, id) })
	}))
	m.Handle("POST /admin/v1/destinations/{id}/disable", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason := r.URL.Query().Get("reason")
		if reason == "" {
			reason = "disabled by an operator"
		}
		if len(reason) > 200 {
			reason = reason[:200]
		}
		s.adminSet(w, r, "disable", reason, func(ctx context.Context, id string) error { return s.Disable(ctx, id, reason) })
	}))
}

// adminSet runs an admin action (enable or disable, for reason) on the
// destination the request names, answers with its status, and logs it
// for the audit trail: what, on which destination, why, and from where.
func (s *Stage) adminSet(w http.ResponseWriter, r *http.Request, action, reason string, set func(context.Context, string) error) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := set(ctx, id); err != nil {
		if errors.Is(err, ErrUnknownDestination) {
			writeJSON(w, http.StatusNotFound, apiError{Code: "unknown_destination", Message: err.Error()})
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, apiError{Code: "unavailable", Message: err.Error()})
		return
	}
	s.log.Info("admin: destination "+action+"d through the admin API", zap.String("destination", id),
		zap.String("action", action), zap.String("reason", reason), zap.String("remote_addr", r.RemoteAddr))
	st, err := s.Status(ctx)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Code: "unavailable", Message: err.Error()})
		return
	}
	for _, x := range st {
		if x.ID == id {
			writeJSON(w, http.StatusOK, x)
			return
		}
	}
}

// apiError is the body of an admin API error.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
