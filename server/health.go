package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Health routes, outside the Kinesis API and served without a signature,
// for load balancers and container health checks:
//
//	GET /health/live   200 while the process serves requests at all
//	GET /health/ready  200 when it can serve Kinesis requests: its storage
//	                   is open and recovered (the server is made only
//	                   after that) and Config.Ready, if set, says so;
//	                   503 once it is shutting down, or Ready fails
//
// The answer is JSON: {"status":"ok"} or {"status":"...", "reason": "..."}.
const (
	LivePath  = "/health/live"
	ReadyPath = "/health/ready"
)

// readyTimeout bounds Config.Ready.
const readyTimeout = 2 * time.Second

// serveHealth answers a health route; it reports false for any other path.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != LivePath && r.URL.Path != ReadyPath {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeHealth(w, http.StatusMethodNotAllowed, "error", "use GET or HEAD")
		return true
	}
	if r.URL.Path == LivePath {
		writeHealth(w, http.StatusOK, "ok", "")
		return true
	}
	s.mu.Lock()
	stopping := s.shuttingDown
	s.mu.Unlock()
	if stopping {
		writeHealth(w, http.StatusServiceUnavailable, "shutting down", "")
		return true
	}
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			writeHealth(w, http.StatusServiceUnavailable, "not ready", err.Error())
			return true
		}
	}
	writeHealth(w, http.StatusOK, "ok", "")
	return true
}

func writeHealth(w http.ResponseWriter, status int, state, reason string) {
	body := map[string]string{"status": state}
	if reason != "" {
		body["reason"] = reason
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
