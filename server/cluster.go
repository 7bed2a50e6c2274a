package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ClusterStatusPath is where a node of a cluster describes the cluster
// as it sees it (Config.ClusterStatus), in JSON, without a signature,
// like the health routes: it is read-only and holds names and counts, no
// records. `tributary cluster status` reads it.
const ClusterStatusPath = "/cluster/status"

// clusterStatusTimeout bounds Config.ClusterStatus, which asks the leader
// of every replicated stream.
const clusterStatusTimeout = 10 * time.Second

func (s *Server) serveClusterStatus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeHealth(w, http.StatusMethodNotAllowed, "error", "use GET or HEAD")
		return
	}
	if s.cfg.ClusterStatus == nil {
		writeHealth(w, http.StatusNotFound, "not a cluster", "this server runs without --cluster")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), clusterStatusTimeout)
	defer cancel()
	st, err := s.cfg.ClusterStatus(ctx)
	if err != nil {
		writeHealth(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(st)
}

// The admin routes that change a cluster: `tributary cluster drain` and
// `tributary cluster add` post {"node": "NAME"} to them. They need the
// admin token, as every route under /_tributary/ does, but not --admin's
// fault injection: they are on whenever Config.ClusterChange is.
//
// A change takes seconds to minutes (one replica at a time, each caught
// up before the next), so the answer is streamed: 200 and then one JSON
// object a line as each step ends (Content-Type application/x-ndjson),
// the last being {"done": true} or {"error": "..."}. A change refused
// before any step (ErrChangeRefused: too few nodes left, no such node)
// is answered 409 {"error": "..."} instead, any other failure before a
// step 500. A client that goes away cancels the change between steps;
// the step under way is finished by the cluster itself.
const (
	ClusterDrainPath = adminPrefix + "cluster/drain"
	ClusterAddPath   = adminPrefix + "cluster/add"
)

// ErrChangeRefused marks an error of Config.ClusterChange that refuses
// the change before it began (409).
var ErrChangeRefused = errors.New("refused")

// ClusterChangeRequest is the body of a POST to ClusterDrainPath or
// ClusterAddPath.
type ClusterChangeRequest struct {
	Node string `json:"node"`
}

// ClusterChangeEnd is the last line of a change's answer.
type ClusterChangeEnd struct {
	Done  bool   `json:"done,omitempty"`
	Error string `json:"error,omitempty"`
}

// serveClusterChange answers a POST to ClusterDrainPath or ClusterAddPath;
// the caller has checked the origin and the token.
func (s *Server) serveClusterChange(w http.ResponseWriter, r *http.Request, op string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		adminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	var req ClusterChangeRequest
	if err := dec.Decode(&req); err != nil {
		adminError(w, http.StatusBadRequest, fmt.Sprintf("decoding request: %v", err))
		return
	}
	if req.Node == "" {
		adminError(w, http.StatusBadRequest, `which node: {"node": "NAME"}`)
		return
	}
	// The answer lasts longer than ReadTimeout: see liftReadDeadline.
	rc := http.NewResponseController(w)
	if r.ProtoMajor == 1 {
		_ = rc.SetReadDeadline(time.Time{})
	}
	s.log.Warn("cluster change", "op", op, "node", req.Node)
	started := false
	line := func(v any) {
		if !started {
			started = true
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
		}
		body, err := json.Marshal(v)
		if err != nil {
			body, _ = json.Marshal(ClusterChangeEnd{Error: err.Error()})
		}
		w.Write(append(body, '\n'))
		_ = rc.Flush()
	}
	err := s.cfg.ClusterChange(r.Context(), op, req.Node, line)
	switch {
	case err == nil:
		s.log.Warn("cluster change done", "op", op, "node", req.Node)
		line(ClusterChangeEnd{Done: true})
	case started:
		s.log.Error("cluster change failed", "op", op, "node", req.Node, "error", err)
		line(ClusterChangeEnd{Error: err.Error()})
	case errors.Is(err, ErrChangeRefused):
		adminError(w, http.StatusConflict, err.Error())
	default:
		s.log.Error("cluster change failed", "op", op, "node", req.Node, "error", err)
		adminError(w, http.StatusInternalServerError, err.Error())
	}
}
