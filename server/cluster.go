package server

import (
	"context"
	"encoding/json"
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
