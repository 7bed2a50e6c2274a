package bench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tributary-io/tributary/internal/cli"
)

// SoakResult is the soak's outcome, in WorkloadResult.Soak. Like Result,
// its field names are a contract with scripts: add, never rename.
type SoakResult struct {
	Passed bool        `json:"passed"`
	Checks []SoakCheck `json:"checks"`
	LifeS  float64     `json:"life_s"` // how long the actors ran
	// DrainS is how long the readers took, after the writers stopped, to
	// reach every acknowledged record.
	DrainS           float64        `json:"drain_s"`
	Writes           SoakWrites     `json:"writes"`
	Readers          []ReaderResult `json:"readers"`
	Life             SoakLife       `json:"life"`
	Server           SoakServer     `json:"server"`
	UnexpectedErrors int64          `json:"unexpected_errors"`
	ErrorExamples    []string       `json:"error_examples,omitempty"`
	// LostAnswerExamples are the first calls whose answer was lost.
	LostAnswerExamples []string `json:"lost_answer_examples,omitempty"`
	ConnsClosedAtEnd   int      `json:"conns_closed_at_end"`
}

// SoakCheck is one check: Status is "pass", "fail" or "skipped" (it could
// not be made: no --pid, no stats route), and Detail gives the numbers.
type SoakCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Check statuses.
const (
	CheckPass    = "pass"
	CheckFail    = "fail"
	CheckSkipped = "skipped"
)

// SoakWrites counts the writers' records and calls.
type SoakWrites struct {
	Acked int64 `json:"acked"`
	// Maybe is records whose PutRecords answer was lost: stored or not.
	Maybe     int64 `json:"maybe"`
	Throttled int64 `json:"throttled"` // entries refused by throttling, and written again
	PutCalls  int64 `json:"put_calls"`
	Calls     int64 `json:"calls"` // every API call of the soak
}

// SoakLife counts what happened to the streams during the soak.
type SoakLife struct {
	StreamsCreated    int64 `json:"streams_created"`
	StreamsDeleted    int64 `json:"streams_deleted"`
	Consumers         int64 `json:"consumers"`
	Splits            int64 `json:"splits"`
	Merges            int64 `json:"merges"`
	ShardCountUpdates int64 `json:"shard_count_updates"`
	// ShardCountDaily is UpdateShardCount calls refused by AWS's quota of
	// ten per stream per rolling 24 hours, which a soak of more than ten
	// rounds meets; the round goes on without it.
	ShardCountDaily    int64 `json:"shard_count_daily_limit"`
	RetentionIncreases int64 `json:"retention_increases"`
	RetentionDecreases int64 `json:"retention_decreases"`
	// RefusedOps is reshards and retention changes the server refused
	// for the stream's state at the time (UPDATING, a shard just closed).
	RefusedOps int64 `json:"refused_ops"`
	// OnDemandSplits and OnDemandMerges are the scaler's changes to the
	// on-demand stream's open shards, as seen once a second.
	OnDemandSplits   int64 `json:"ondemand_splits"`
	OnDemandMerges   int64 `json:"ondemand_merges"`
	HotPhases        int64 `json:"hot_phases"`
	Subscriptions    int64 `json:"subscriptions"`
	Resubscriptions  int64 `json:"resubscriptions"`
	SessionErrors    int64 `json:"session_errors"` // sessions broken without an answer
	IteratorsExpired int64 `json:"iterators_expired"`
	Restarts         int64 `json:"restarts"`
	// Refused is calls that found no server listening (during a
	// restart); TransportErrors calls whose answer was lost.
	Refused         int64 `json:"refused"`
	TransportErrors int64 `json:"transport_errors"`
}

// SoakServer is what the soak saw of the server.
type SoakServer struct {
	PIDs          []int  `json:"pids,omitempty"` // one per process, after restarts
	StatsOff      string `json:"stats_off,omitempty"`
	Died          string `json:"died,omitempty"`
	GoroutinesAt  Counts `json:"goroutines"`
	OpenFDsAt     Counts `json:"open_fds"`
	RSSStartBytes int64  `json:"rss_start_bytes"`
	RSSEndBytes   int64  `json:"rss_end_bytes"`
	// RSS over the last process's samples during the life: the median of
	// the middle third (warm) and of the last third (late), and the most.
	RSSWarmBytes int64 `json:"rss_warm_bytes"`
	RSSLateBytes int64 `json:"rss_late_bytes"`
	RSSMaxBytes  int64 `json:"rss_max_bytes"`
	Samples      int   `json:"samples"` // of the last process, during the life
	// Background is the background tasks' counts by component and task,
	// summed over the processes.
	Background map[string]map[string]TaskStats `json:"background,omitempty"`
}

// Counts is a figure at the start and the end; -1 when unknown.
type Counts struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// RSS flatness: the late median may exceed the warm one by this fraction
// plus this many bytes. Go's collector lets the heap grow to twice the
// live data before it collects (GOGC=100) and returns freed pages to the
// system only minutes later, so a server's RSS under a steady load swings
// by a good part of its heap from one sample to the next; a leak in the
// soak's load (its readers, sessions, streams and reshards every few
// seconds) grows without bound and, over minutes, past this.
const (
	rssTolerance = 0.25
	rssSlack     = 8 << 20
)

func (r *SoakResult) failed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == CheckFail {
			n++
		}
	}
	return n
}

func (r *SoakResult) failedNames() string {
	var names []string
	for _, c := range r.Checks {
		if c.Status == CheckFail {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}

func checkOf(name string, ok bool, format string, args ...any) SoakCheck {
	st := CheckPass
	if !ok {
		st = CheckFail
	}
	return SoakCheck{Name: name, Status: st, Detail: fmt.Sprintf(format, args...)}
}

func skipped(name, format string, args ...any) SoakCheck {
	return SoakCheck{Name: name, Status: CheckSkipped, Detail: fmt.Sprintf(format, args...)}
}

// result gathers the figures and makes the checks. lifeS is how long the
// actors ran, drainEnd when the drain stopped and drained whether every
// reader had caught up; cause is why the life ended early, if it did.
func (s *soak) result(lifeS float64, drainStart, drainEnd time.Time, drained bool, cause error) *SoakResult {
	errCount, errExamples := s.errs.snapshot()
	r := &SoakResult{
		LifeS:  lifeS,
		DrainS: drainEnd.Sub(drainStart).Seconds(),
		Writes: SoakWrites{
			Acked: s.c.acked.Load(), Maybe: s.c.maybe.Load(), Throttled: s.c.throttled.Load(),
			PutCalls: s.c.putCalls.Load(), Calls: s.c.calls.Load(),
		},
		Life:             s.lifeFigures(),
		UnexpectedErrors: errCount,
		ErrorExamples:    errExamples,
	}
	_, r.LostAnswerExamples = s.lost.snapshot()

	// Records.
	var checkedAcked, lost, expired, dups, order, bad int64
	var maybe maybeStats
	var checkedReaders int
	var examples []string
	s.mu.Lock()
	streams := append([]*soakStream(nil), s.streams...)
	s.mu.Unlock()
	for _, st := range streams {
		checked := st.kind != "churn"
		if checked {
			for _, log := range st.keys {
				recs, _ := log.snapshot()
				for _, e := range recs {
					if e.status == recAcked {
						checkedAcked++
					}
				}
			}
		}
		for _, v := range st.verifiers {
			rr := v.result(st.name+" ("+st.gen+")", checked, drainEnd, s.retention)
			r.Readers = append(r.Readers, rr)
			dups += rr.Duplicates
			order += rr.OutOfOrder
			bad += rr.Foreign + rr.Corrupt + rr.SeqMismatch + rr.StoredRefused
			if checked {
				checkedReaders++
				lost += rr.Lost
				expired += rr.Expired
			}
			for _, ex := range rr.Examples {
				if len(examples) < anomalyExamples {
					examples = append(examples, rr.Reader+" of "+rr.Stream+": "+ex)
				}
			}
		}
		if checked {
			m := maybeOutcomes(st.keys, st.verifiers)
			maybe.total += m.total
			maybe.stored += m.stored
			maybe.absent += m.absent
			maybe.partial += m.partial
			for _, ex := range m.examples {
				if len(examples) < anomalyExamples {
					examples = append(examples, st.name+": "+ex)
				}
			}
		}
	}
	lost += maybe.partial
	exampleText := ""
	if len(examples) > 0 {
		exampleText = "; e.g. " + strings.Join(examples, "; ")
	}
	const readBack = "every acknowledged record read back"
	switch {
	case s.srv.dead():
		r.Checks = append(r.Checks, checkOf(readBack, false, "not checked: the server %s", s.srv.died))
	case cause != nil && !drained:
		r.Checks = append(r.Checks, checkOf(readBack, false, "not checked: the soak ended early (%v)", cause))
	default:
		drainNote := fmt.Sprintf("the readers caught up %.1fs after the writers stopped", r.DrainS)
		if !drained {
			drainNote = fmt.Sprintf("the readers had not caught up %.0fs after the writers stopped", r.DrainS)
		}
		r.Checks = append(r.Checks, checkOf(readBack, lost == 0,
			"%s acknowledged records in the streams that lived to the end, %d readers of them: %s lost, %s expired (older than %v of retention when a reader went past them); of %s records whose PutRecords answer was lost, %s were stored (read by every reader), %s not (read by none), %s misses by readers of records others read (counted as lost); %s%s",
			cli.Thousands(checkedAcked), checkedReaders, cli.Thousands(lost), cli.Thousands(expired), s.retention,
			cli.Thousands(maybe.total), cli.Thousands(maybe.stored), cli.Thousands(maybe.absent), cli.Thousands(maybe.partial), drainNote, exampleText))
	}
	r.Checks = append(r.Checks,
		checkOf("no record read twice", dups == 0, "%s duplicates over all %d readers, deleted streams' included", cli.Thousands(dups), len(r.Readers)),
		checkOf("each partition key in order", order == 0, "%s records read after a later record of their key (parents are read before children)", cli.Thousands(order)),
		checkOf("records intact", bad == 0, "%s records of another stream generation, unreadable, under a sequence number other than the acknowledged one, or stored though refused", cli.Thousands(bad)))

	r.Server, r.Checks = s.serverChecks(r.Checks)

	if s.srv.dead() {
		r.Checks = append(r.Checks, skipped("no stream left behind", "the server is gone"))
	} else {
		r.Checks = append(r.Checks, checkOf("no stream left behind", len(s.leftBehind) == 0,
			"%d of the soak's streams exist after its clean-up%s", len(s.leftBehind), listed(s.leftBehind)))
	}

	r.Checks = append(r.Checks, checkOf("no unexpected errors", errCount == 0,
		"%d API errors a correct server would not give (InternalFailure, refusals of valid calls, hung calls)%s",
		errCount, firstErrors(errExamples)))
	r.Passed = r.failed() == 0
	return r
}

func firstErrors(examples []string) string {
	if len(examples) == 0 {
		return ""
	}
	return ": " + strings.Join(examples[:min(3, len(examples))], "; ")
}

// lifeFigures gathers the counts of what happened.
func (s *soak) lifeFigures() SoakLife {
	c := &s.c
	return SoakLife{
		StreamsCreated: c.streamsCreated.Load(), StreamsDeleted: c.streamsDeleted.Load(), Consumers: c.consumers.Load(),
		Splits: c.splits.Load(), Merges: c.merges.Load(), ShardCountUpdates: c.shardCounts.Load(), ShardCountDaily: c.shardCountDaily.Load(),
		RetentionIncreases: c.retentionUps.Load(), RetentionDecreases: c.retentionDowns.Load(), RefusedOps: c.refusedOps.Load(),
		OnDemandSplits: s.onDemand.splits.Load(), OnDemandMerges: s.onDemand.merges.Load(), HotPhases: c.hotPhases.Load(),
		Subscriptions: c.subscriptions.Load(), Resubscriptions: c.resubscriptions.Load(), SessionErrors: c.sessionErrors.Load(),
		IteratorsExpired: c.iteratorsExpired.Load(), Restarts: c.restarts.Load(),
		Refused: c.refused.Load(), TransportErrors: c.transport.Load(),
	}
}

// serverChecks makes the checks on the server process.
func (s *soak) serverChecks(checks []SoakCheck) (SoakServer, []SoakCheck) {
	w := s.srv
	w.mu.Lock()
	defer w.mu.Unlock()
	out := SoakServer{
		StatsOff: w.statsOff, Died: w.died,
		GoroutinesAt:  Counts{w.baseline.goroutines, w.end.goroutines},
		OpenFDsAt:     Counts{w.baseline.fds, w.end.fds},
		RSSStartBytes: w.baseline.rss, RSSEndBytes: w.end.rss,
		Background: map[string]map[string]TaskStats{},
	}
	if w.died != "" {
		out.GoroutinesAt.End, out.OpenFDsAt.End, out.RSSEndBytes = -1, -1, -1
	}
	var panics int64
	for _, life := range w.lives {
		if life.pid > 0 {
			out.PIDs = append(out.PIDs, life.pid)
		}
		for comp, tasks := range life.background {
			if out.Background[comp] == nil {
				out.Background[comp] = map[string]TaskStats{}
			}
			for name, t := range tasks {
				sum := out.Background[comp][name]
				sum.Runs += t.Runs
				sum.Failures += t.Failures
				sum.Panics += t.Panics
				out.Background[comp][name] = sum
				panics += t.Panics
			}
		}
	}
	restarts := s.c.restarts.Load()

	const alive = "server process never died"
	switch {
	case w.died != "":
		checks = append(checks, checkOf(alive, false, "the server %s", w.died))
	case s.opts.PID == 0:
		checks = append(checks, skipped(alive, "needs the server's --pid"))
	default:
		n := 0
		for _, life := range w.lives {
			n += len(life.samples)
		}
		checks = append(checks, checkOf(alive, true, "alive at each of %d samples, one a second; %d restarts on purpose", n, restarts))
	}

	const panicked = "no background task panicked"
	if w.statsOff != "" {
		checks = append(checks, skipped(panicked, "no stats: %s", w.statsOff))
	} else {
		checks = append(checks, checkOf(panicked, panics == 0, "%d panics; %s", panics, describeTasks(out.Background)))
	}

	afterRestart := ""
	if restarts > 0 {
		afterRestart = " (the end is the process started by the last restart)"
	}
	settledDetail := fmt.Sprintf("%.1fs after the soak's streams were deleted and its connections closed%s", w.settleTime.Seconds(), afterRestart)
	const goroutines = "no goroutine leak"
	switch b, e := w.baseline.goroutines, w.end.goroutines; {
	case w.died != "":
		checks = append(checks, skipped(goroutines, "the server died"))
	case b < 0 || e < 0:
		checks = append(checks, skipped(goroutines, "needs the stats route: %s", w.statsOff))
	default:
		checks = append(checks, checkOf(goroutines, e <= b+goroutineSlack,
			"%d at the start, %d at the end %s (allowed: %d more)", b, e, settledDetail, goroutineSlack))
	}
	const fds = "no file descriptor leak"
	switch b, e := w.baseline.fds, w.end.fds; {
	case w.died != "":
		checks = append(checks, skipped(fds, "the server died"))
	case b < 0 || e < 0:
		checks = append(checks, skipped(fds, "needs --pid or the stats route"))
	default:
		extra := ""
		if n := newTargets(w.baseline.fdTargets, w.end.fdTargets); e > b && len(n) > 0 {
			extra = "; open at the end only: " + strings.Join(n, ", ")
		}
		removed := removedFiles(w.end.fdTargets)
		if len(removed) > 0 {
			extra += "; removed files held open: " + strings.Join(removed, ", ")
		}
		checks = append(checks, checkOf(fds, e <= b+fdSlack && len(removed) == 0,
			"%d at the start, %d at the end %s (allowed: %d more, and no removed file)%s", b, e, settledDetail, fdSlack, extra))
	}

	const flat = "RSS flat once warm"
	life := w.lives[len(w.lives)-1]
	var rss []int64
	for _, m := range life.samples {
		if m.rss >= 0 && m.at <= s.lifeEnd {
			rss = append(rss, m.rss)
		}
	}
	out.Samples = len(rss)
	switch {
	case w.died != "":
		checks = append(checks, skipped(flat, "the server died"))
	case len(rss) < 9:
		checks = append(checks, skipped(flat, "%d RSS samples of the last server process during the life; at least 9 are needed (--pid, or the stats route)", len(rss)))
	default:
		n := len(rss)
		out.RSSWarmBytes = median(rss[n/3 : 2*n/3])
		out.RSSLateBytes = median(rss[2*n/3:])
		out.RSSMaxBytes = slices.Max(rss)
		allowed := int64(float64(out.RSSWarmBytes)*(1+rssTolerance)) + rssSlack
		checks = append(checks, checkOf(flat, out.RSSLateBytes <= allowed,
			"median %s over the middle third of %d samples of the last process, %s over the last third (allowed: %s, +%.0f%% +%s); most %s",
			mib(out.RSSWarmBytes), n, mib(out.RSSLateBytes), mib(allowed), rssTolerance*100, mib(rssSlack), mib(out.RSSMaxBytes)))
	}
	return out, checks
}

func median(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// describeTasks writes the background tasks' counts, sorted.
func describeTasks(bg map[string]map[string]TaskStats) string {
	var parts []string
	for comp, tasks := range bg {
		for name, t := range tasks {
			parts = append(parts, fmt.Sprintf("%s %s: %s runs, %d failures, %d panics", comp, name, cli.Thousands(t.Runs), t.Failures, t.Panics))
		}
	}
	if len(parts) == 0 {
		return "no background task ran"
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// writeSoakSummary writes the soak's checks and main figures.
func writeSoakSummary(w io.Writer, r *SoakResult) {
	fmt.Fprintf(w, "\nsoak: %.0fs of life, drained in %.1fs\n", r.LifeS, r.DrainS)
	fmt.Fprintf(w, "  writes: %s acknowledged, %s maybe stored, %s throttled, %s PutRecords calls, %s calls in all\n",
		cli.Thousands(r.Writes.Acked), cli.Thousands(r.Writes.Maybe), cli.Thousands(r.Writes.Throttled),
		cli.Thousands(r.Writes.PutCalls), cli.Thousands(r.Writes.Calls))
	l := r.Life
	fmt.Fprintf(w, "  life: %d streams created, %d deleted; %d splits, %d merges, %d UpdateShardCount (%d more refused by the 10-per-24-hours quota), retention %d up %d down (%d refused for the stream's state); on-demand %d splits, %d merges in %d hot phases\n",
		l.StreamsCreated, l.StreamsDeleted, l.Splits, l.Merges, l.ShardCountUpdates, l.ShardCountDaily, l.RetentionIncreases, l.RetentionDecreases, l.RefusedOps,
		l.OnDemandSplits, l.OnDemandMerges, l.HotPhases)
	fmt.Fprintf(w, "  readers: %d subscriptions (%d resumed, %d broken), %d iterators expired and renewed; %d restarts, %d calls refused, %d answers lost\n",
		l.Subscriptions, l.Resubscriptions, l.SessionErrors, l.IteratorsExpired, l.Restarts, l.Refused, l.TransportErrors)
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  %-7s %s: %s\n", strings.ToUpper(c.Status), c.Name, c.Detail)
	}
	for _, e := range r.ErrorExamples {
		fmt.Fprintf(w, "  unexpected error at %s\n", e)
	}
	for _, e := range r.LostAnswerExamples {
		fmt.Fprintf(w, "  answer lost at %s\n", e)
	}
}

// listed is ": a, b" for names, or "" for none.
func listed(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return ": " + strings.Join(names, ", ")
}
