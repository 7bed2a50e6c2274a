package server

import (
	"runtime"

	"github.com/tributary-io/tributary/internal/bgtask"
	"github.com/tributary-io/tributary/internal/procstat"
)

// Stats is the answer of GET /_tributary/stats: what a soak test watches
// to tell a leak (goroutines, file descriptors, memory that keep growing)
// and a contained failure (a background task that panicked) from a healthy
// server. Field names are a contract with such tools: add, never rename.
type Stats struct {
	Goroutines int `json:"goroutines"`
	// OpenFDs and RSSBytes come from /proc and are null where it does not
	// exist.
	OpenFDs  *int   `json:"open_fds"`
	RSSBytes *int64 `json:"rss_bytes"`
	// HeapInuseBytes is the Go heap in use (runtime.MemStats.HeapInuse),
	// which tells growth of live objects from growth of RSS.
	HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
	// ConnectionsOpen and ConnectionsTotal are Connections(): the client
	// connections open now and accepted since the start.
	ConnectionsOpen  int64 `json:"connections_open"`
	ConnectionsTotal int64 `json:"connections_total"`
	// Background counts the runs, failures and panics of the background
	// tasks by component and task; empty when Config.BackgroundStats is
	// nil.
	Background map[string]map[string]bgtask.Stats `json:"background"`
}

// stats takes the process's figures now.
func (s *Server) stats() Stats {
	st := Stats{Goroutines: runtime.NumGoroutine(), Background: map[string]map[string]bgtask.Stats{}}
	if n, err := procstat.OpenFDs(0); err == nil {
		st.OpenFDs = &n
	}
	if n, err := procstat.RSS(0); err == nil {
		st.RSSBytes = &n
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapInuseBytes = ms.HeapInuse
	st.ConnectionsOpen, st.ConnectionsTotal = s.Connections()
	if s.cfg.BackgroundStats != nil {
		st.Background = s.cfg.BackgroundStats()
	}
	return st
}
