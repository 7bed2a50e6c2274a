package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/internal/procstat"
)

// The soak watches the server two ways: through /proc when it is given
// the server's pid (alive or not, RSS, open descriptors), and through
// Tributary's admin API, GET /_tributary/stats, when the server has it
// (tributary serve --admin): goroutines, and the runs, failures and
// panics of its background tasks, which only the server can tell.

// soakSampleEvery is the time between samples of the server.
const soakSampleEvery = time.Second

// soakSettleTimeout bounds the wait, after the soak's streams are deleted
// and its connections closed, for the server's goroutines and descriptors
// to come back to their count at the start. Closing a connection ends
// the server's goroutine for it only once the server reads the EOF, and a
// deleted stream's logs are closed by the server's reaper, so the counts
// take a moment to settle.
const soakSettleTimeout = 20 * time.Second

// TaskStats counts the runs of one background task of the server.
type TaskStats struct {
	Runs     int64 `json:"runs"`
	Failures int64 `json:"failures"`
	Panics   int64 `json:"panics"`
}

// serverStats is the answer of GET /_tributary/stats.
type serverStats struct {
	Goroutines     int                             `json:"goroutines"`
	OpenFDs        *int                            `json:"open_fds"`
	RSSBytes       *int64                          `json:"rss_bytes"`
	HeapInuseBytes int64                           `json:"heap_inuse_bytes"`
	Background     map[string]map[string]TaskStats `json:"background"`
}

// serverSample is the server's figures at one time; -1 is unknown.
type serverSample struct {
	at         time.Duration // since the soak started
	goroutines int
	fds        int
	rss        int64
	heap       int64
	background map[string]map[string]TaskStats // nil when unknown
	// fdTargets is what the descriptors refer to, at the start and the
	// end only, with a pid: it names what leaked.
	fdTargets []string
}

// serverLife is one server process: the first, or one started by a
// restart.
type serverLife struct {
	pid     int
	samples []serverSample
	// background is the last counts of its background tasks: they count
	// from the process's start.
	background map[string]map[string]TaskStats
}

// serverWatch samples the server and notices when it dies.
type serverWatch struct {
	s        *soak
	statsURL string
	// hc reads the stats over a connection of its own, kept alive, so
	// that the server has the same one extra connection at the start and
	// at the end.
	hc *http.Client

	pid        atomic.Int64
	restarting atomic.Bool // the old process is being killed on purpose

	mu       sync.Mutex
	statsOff string // why there are no stats; "" when there are
	lives    []*serverLife
	died     string // how the server was found dead; "" while alive
	baseline serverSample
	end      serverSample
	// settleTime is how long the end's counts took to come back.
	settleTime time.Duration
}

func newServerWatch(s *soak) *serverWatch {
	w := &serverWatch{
		s:        s,
		statsURL: strings.TrimSuffix(s.opts.Endpoint, "/") + "/_tributary/stats",
		hc:       &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
	}
	w.pid.Store(int64(s.opts.PID))
	w.lives = []*serverLife{{pid: s.opts.PID}}
	return w
}

// takeBaseline measures the server before the soak creates anything. It
// fails if --pid names no running process: the soak would take the
// endpoint's server for dead, and leave its streams there.
func (w *serverWatch) takeBaseline(ctx context.Context) error {
	if pid := int(w.pid.Load()); pid > 0 {
		if alive, err := procstat.Alive(pid); err == nil && !alive {
			return fmt.Errorf("--pid %d: no such process running", pid)
		}
	}
	if _, err := w.stats(ctx); err != nil {
		w.statsOff = err.Error()
	}
	w.baseline = w.measure(ctx)
	w.baseline.fdTargets = w.fdTargets()
	fmt.Fprintf(w.s.b.stderr, "soak: server at the start: %s\n", w.describe(w.baseline))
	return nil
}

// stats reads GET /_tributary/stats.
func (w *serverWatch) stats(ctx context.Context) (*serverStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.statsURL, nil)
	if err != nil {
		return nil, err
	}
	if w.s.opts.AdminToken != "" {
		req.Header.Set("Authorization", "Bearer "+w.s.opts.AdminToken)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", w.statsURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", w.statsURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s (for Tributary, start it with --admin, and give bench its --admin-token)", w.statsURL, resp.Status)
	}
	var st serverStats
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("GET %s: %w", w.statsURL, err)
	}
	return &st, nil
}

// measure takes the server's figures: from /proc for a known pid, from the
// stats route for the rest (or all, without a pid).
func (w *serverWatch) measure(ctx context.Context) serverSample {
	m := serverSample{at: time.Since(w.s.start), goroutines: -1, fds: -1, rss: -1, heap: -1}
	if w.statsOff == "" {
		if st, err := w.stats(ctx); err == nil {
			m.goroutines = st.Goroutines
			m.heap = st.HeapInuseBytes
			m.background = st.Background
			if st.OpenFDs != nil {
				m.fds = *st.OpenFDs
			}
			if st.RSSBytes != nil {
				m.rss = *st.RSSBytes
			}
		}
	}
	if pid := int(w.pid.Load()); pid > 0 {
		if n, err := procstat.OpenFDs(pid); err == nil {
			m.fds = n
		}
		if n, err := procstat.RSS(pid); err == nil {
			m.rss = n
		}
	}
	return m
}

// fdTargets returns what the server's descriptors refer to, with sockets,
// pipes and such by kind only ("socket:[123]" is "socket"), or nil without
// a pid.
func (w *serverWatch) fdTargets() []string {
	pid := int(w.pid.Load())
	if pid <= 0 {
		return nil
	}
	targets, err := procstat.FDTargets(pid)
	if err != nil {
		return nil
	}
	for i, t := range targets {
		if kind, _, ok := strings.Cut(t, ":["); ok {
			targets[i] = kind
		}
	}
	return targets
}

// newTargets returns the targets of end that base does not have, counted
// with their multiplicity: "socket" twice in end and once in base is one
// new socket.
func newTargets(base, end []string) []string {
	have := make(map[string]int)
	for _, t := range base {
		have[t]++
	}
	var out []string
	for _, t := range end {
		if have[t] > 0 {
			have[t]--
			continue
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// watch samples the server every soakSampleEvery until ctx is done. If
// the server process dies other than in a restart, it ends the soak's life
// with abort.
func (w *serverWatch) watch(ctx context.Context, abort context.CancelCauseFunc) {
	t := time.NewTicker(soakSampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if w.restarting.Load() || w.dead() {
			continue
		}
		if !w.checkAlive(abort) {
			continue
		}
		m := w.measure(ctx)
		w.mu.Lock()
		life := w.lives[len(w.lives)-1]
		life.samples = append(life.samples, m)
		if m.background != nil {
			life.background = m.background
		}
		w.mu.Unlock()
	}
}

// checkAlive reports whether the server process, when its pid is known,
// is alive; if it is not (and not being restarted), it notes the death
// and ends the life with abort.
func (w *serverWatch) checkAlive(abort context.CancelCauseFunc) bool {
	pid := int(w.pid.Load())
	if pid <= 0 {
		return true
	}
	alive, err := procstat.Alive(pid)
	if err != nil || alive || w.restarting.Load() {
		return true
	}
	w.mu.Lock()
	if w.died == "" {
		w.died = fmt.Sprintf("process %d died %.1fs into the soak", pid, time.Since(w.s.start).Seconds())
		fmt.Fprintf(w.s.b.stderr, "soak: the server %s\n", w.died)
	}
	w.mu.Unlock()
	abort(errors.New("the server died"))
	return false
}

// restarted notes the process a restart started.
func (w *serverWatch) restarted(pid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lives = append(w.lives, &serverLife{pid: pid})
	w.pid.Store(int64(pid))
	w.restarting.Store(false)
}

func (w *serverWatch) dead() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.died != ""
}

// The leak checks allow the server this many goroutines and descriptors
// more at the end than at the start, once settle has waited for it to
// come back: one or two that come and go (a request being served, a
// journal file being rolled) but not one per stream, shard, connection
// or subscription the soak made, of which there were hundreds. A
// descriptor of a removed file fails the check whatever the count.
const (
	goroutineSlack = 2
	fdSlack        = 2
)

// settle waits, for at most soakSettleTimeout, until the server's counts
// are back to the baseline exactly, and keeps its last figures as the end.
func (w *serverWatch) settle(ctx context.Context) {
	if w.dead() {
		return
	}
	b := w.baseline
	start := time.Now()
	for {
		m := w.measure(ctx)
		m.fdTargets = w.fdTargets()
		w.end = m
		back := (m.goroutines < 0 || b.goroutines < 0 || m.goroutines <= b.goroutines) &&
			(m.fds < 0 || b.fds < 0 || m.fds <= b.fds)
		if back || time.Since(start) > soakSettleTimeout {
			w.settleTime = time.Since(start)
			fmt.Fprintf(w.s.b.stderr, "soak: server at the end (%.1fs after the clean-up): %s\n", w.settleTime.Seconds(), w.describe(m))
			return
		}
		sleep(ctx, 500*time.Millisecond)
	}
}

// removedFiles returns the targets that are files removed while open.
func removedFiles(targets []string) []string {
	var out []string
	for _, t := range targets {
		if strings.HasSuffix(t, " (deleted)") {
			out = append(out, t)
		}
	}
	return out
}

// describe writes a sample's known figures.
func (w *serverWatch) describe(m serverSample) string {
	var parts []string
	if m.rss >= 0 {
		parts = append(parts, fmt.Sprintf("RSS %.1f MiB", float64(m.rss)/(1<<20)))
	}
	if m.heap >= 0 {
		parts = append(parts, fmt.Sprintf("heap %.1f MiB", float64(m.heap)/(1<<20)))
	}
	if m.goroutines >= 0 {
		parts = append(parts, fmt.Sprintf("%d goroutines", m.goroutines))
	}
	if m.fds >= 0 {
		parts = append(parts, fmt.Sprintf("%d open fds", m.fds))
	}
	if len(parts) == 0 {
		return "nothing known (no --pid, no stats)"
	}
	return strings.Join(parts, ", ")
}

// progressText is the server's part of a progress line.
func (w *serverWatch) progressText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.died != "" {
		return "; server DEAD"
	}
	life := w.lives[len(w.lives)-1]
	if len(life.samples) == 0 {
		return ""
	}
	return "; server " + w.describe(life.samples[len(life.samples)-1])
}
