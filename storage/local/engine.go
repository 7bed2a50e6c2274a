// Package local is Tributary's default storage engine: every log is a
// directory of segment files on one machine, and one shared journal makes
// appends durable with group commit.
//
// Layout of the data directory:
//
//	LOCK                  held (flock) while an engine has the directory open
//	meta.log              the catalogue (see meta.go)
//	wal/NNN.wal           the journal (see journal.go)
//	logs/<id>/state.json  a log's name, retention and seal
//	logs/<id>/<base>.seg  its segments, <base>.idx their sparse indexes
//	logs/<id>/<base>.tail the active segment's index over a synced prefix
//
// Write path: Append encodes a frame, writes it into the log's active
// segment (no fsync), queues it on the journal, and returns once the
// journal's committer has fsynced it. Checkpoints, run in the background
// when the journal grows or on a timer, fsync the segments written since the
// last checkpoint and then delete the journal files they cover.
//
// Recovery: Open scans each log's unindexed segments (the active one only
// past its tail index, which checkpoints keep within 64 KiB of its end),
// truncates frames that did not reach the disk whole, and replays the
// journal into the segments. So a restart reads what was written since the
// last checkpoint, not the data directory.
// A hole that the journal cannot fill is corruption, reported with the file
// and offset rather than papered over.
package local

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/internal/bgtask"
	"github.com/tributary-io/tributary/internal/bufpool"
	"github.com/tributary-io/tributary/storage"
)

// Options configure an engine. The zero value is the safe default.
type Options struct {
	// Now is the clock for arrival times and retention; nil means time.Now.
	Now func() time.Time
	// SyncInterval, when positive, trades durability for speed: appends are
	// acknowledged once written to the journal, which is fsynced every
	// SyncInterval, so a power loss can lose that much acknowledged data.
	// Zero (the default) fsyncs before acknowledging.
	SyncInterval time.Duration
	// SegmentBytes is the size at which a log starts a new segment
	// (default 64 MiB). Retention reclaims space one segment at a time.
	SegmentBytes int64
	// IndexInterval is the byte distance between sparse index entries
	// (default 16 KiB): the most a lookup scans.
	IndexInterval int64
	// JournalBytes is the journal size that triggers a checkpoint
	// (default 64 MiB); CheckpointInterval triggers one on a timer
	// (default 10 s). Together they bound the replay after a crash.
	JournalBytes       int64
	CheckpointInterval time.Duration
	// CleanInterval is how often expired segments are dropped (default 1 min).
	CleanInterval time.Duration
	// GroupWait is the longest the journal holds a group commit back for
	// appends that were already under way when it began (default 200µs;
	// negative: never), so that the shards of one PutRecords share an
	// fsync: see journal.gatherLocked.
	GroupWait time.Duration
	// MaxOpenFiles bounds the segment files kept open (default 512).
	MaxOpenFiles int
	Logger       *slog.Logger
	// Metrics, when not nil, receives the engine's metrics (metrics.go):
	// group commits, fsyncs, bytes, segments and open files. Open fails
	// if they are registered there already; Close unregisters them.
	Metrics prometheus.Registerer
	// Keys wraps the data keys of encrypted logs (crypt.go). Without it,
	// SetEncryption fails with storage.ErrNoKeys and encrypted frames do
	// not read.
	Keys storage.KeyProvider
}

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.IndexInterval <= 0 {
		o.IndexInterval = 16 << 10
	}
	if o.JournalBytes <= 0 {
		o.JournalBytes = 64 << 20
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 10 * time.Second
	}
	if o.CleanInterval <= 0 {
		o.CleanInterval = time.Minute
	}
	if o.GroupWait == 0 {
		o.GroupWait = 200 * time.Microsecond
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = 512
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Engine is the on-disk storage.Engine.
type Engine struct {
	dir     string
	opts    Options
	lock    *os.File
	files   *fileCache
	journal *journal
	meta    *metaStore
	tasks   *bgtask.Runner // runs and counts the background work
	metrics *engineMetrics
	// recordSlices keeps reads' record slices between a Release and the
	// next read (see shardLog.read).
	recordSlices bufpool.Slices[storage.StoredRecord]

	mu     sync.Mutex // guards logs, byName, and isClosed's answer
	logs   map[uint64]*shardLog
	byName map[string]*shardLog

	// cpMu is held by a checkpoint and by the undoing of failed appends,
	// which must not remove a segment whose index a checkpoint is writing.
	cpMu sync.Mutex

	// Bookkeeping for the next checkpoint.
	dirtyMu    sync.Mutex
	dirtySegs  map[string]*shardLog // segment path → its log
	dirtyDirs  map[string]bool
	closedSegs []closedSegment // full segments whose .idx is not written yet

	checkpointNow chan struct{}
	closed        chan struct{}
	closeOnce     sync.Once
	closeErr      error
	bg            sync.WaitGroup
}

type closedSegment struct {
	log *shardLog
	seg *segment
}

var _ storage.Engine = (*Engine)(nil)

// Open opens (creating if needed) the engine in dir, recovering from a crash
// if the last run did not close cleanly.
func Open(dir string, opts Options) (*Engine, error) {
	opts.setDefaults()
	for _, d := range []string{dir, filepath.Join(dir, "logs"), filepath.Join(dir, "wal")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// The directories may be new; their entries must be on disk before
	// anything written into them is acknowledged.
	for _, d := range []string{filepath.Dir(filepath.Clean(dir)), dir} {
		if err := syncDir(d); err != nil {
			return nil, err
		}
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("data directory %s is in use by another process: %w", dir, err)
	}
	e := &Engine{
		dir:           dir,
		opts:          opts,
		lock:          lock,
		files:         newFileCache(opts.MaxOpenFiles),
		logs:          make(map[uint64]*shardLog),
		byName:        make(map[string]*shardLog),
		dirtySegs:     make(map[string]*shardLog),
		dirtyDirs:     make(map[string]bool),
		checkpointNow: make(chan struct{}, 1),
		closed:        make(chan struct{}),
		tasks:         bgtask.New(opts.Logger),
		metrics:       newEngineMetrics(),
	}
	fail := func(err error) (*Engine, error) {
		e.files.closeAll()
		lock.Close()
		return nil, err
	}
	if e.meta, err = openMeta(filepath.Join(dir, "meta.log"), opts.Logger); err != nil {
		return fail(err)
	}
	next, err := e.recover()
	if err != nil {
		return fail(err)
	}
	e.journal, err = startJournal(filepath.Join(dir, "wal"), next, opts.SyncInterval, opts.GroupWait, opts.JournalBytes, e.requestCheckpoint, e.wakeAll, e.undoFailed, e.tasks, e.metrics)
	if err != nil {
		return fail(err)
	}
	e.bg.Add(1)
	go e.background()
	if err := e.metrics.register(opts.Metrics, e); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) nowMillis() int64 { return e.opts.Now().UnixMilli() }

func (e *Engine) isClosed() bool {
	select {
	case <-e.closed:
		return true
	default:
		return false
	}
}

func (e *Engine) requestCheckpoint() {
	select {
	case e.checkpointNow <- struct{}{}:
	default:
	}
}

// background runs checkpoints and retention cleaning until Close. Each run
// goes through e.tasks, so a bug that panics in one is logged and counted
// instead of ending the process: a checkpoint that did not finish is
// retried at the next one (the journal keeps everything until one does),
// and a log whose cleaning panicked is fenced off (see shardLog.fail).
func (e *Engine) background() {
	defer e.bg.Done()
	cp := time.NewTicker(e.opts.CheckpointInterval)
	defer cp.Stop()
	clean := time.NewTicker(e.opts.CleanInterval)
	defer clean.Stop()
	for {
		select {
		case <-e.closed:
			return
		case <-cp.C:
		case <-e.checkpointNow:
		case <-clean.C:
			for _, l := range e.allLogs() {
				if l.failure() != nil {
					continue // its state is not trusted any more
				}
				err := e.tasks.Run("clean", l.clean, "log", l.name)
				var p *bgtask.PanicError
				if errors.As(err, &p) {
					l.fail(p)
				} else if err != nil {
					e.opts.Logger.Warn("cleaning a log failed; will retry", "log", l.name, "err", err)
				}
			}
			continue
		}
		if err := e.tasks.Run("checkpoint", e.checkpoint); err != nil {
			e.opts.Logger.Error("checkpoint failed; will retry", "err", err)
		}
	}
}

// BackgroundStats counts the runs, failures and panics of the engine's
// background tasks, by task: "checkpoint", "clean" (one run per log), and
// "journal" (one run per group of appends committed).
func (e *Engine) BackgroundStats() map[string]bgtask.Stats { return e.tasks.Stats() }

// wakeAll wakes every waiter, so that they see a failure.
func (e *Engine) wakeAll() {
	for _, l := range e.allLogs() {
		l.mu.Lock()
		l.wakeLocked()
		l.mu.Unlock()
	}
}

func (e *Engine) allLogs() []*shardLog {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*shardLog, 0, len(e.logs))
	for _, l := range e.logs {
		out = append(out, l)
	}
	return out
}

// writeSegment writes a frame at off in a segment file and marks the file
// for the next checkpoint's fsync. The mark comes after the write, so the
// fsync that clears it covers the write.
func (e *Engine) writeSegment(l *shardLog, path string, frame []byte, off int64) error {
	f, release, err := e.files.acquire(path, true)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(frame, off)
	release()
	if err != nil {
		return err
	}
	e.dirtyMu.Lock()
	e.dirtySegs[path] = l
	e.dirtyMu.Unlock()
	return nil
}

// truncateSegment cuts a segment file at off, through the cached
// descriptor if there is one.
func (e *Engine) truncateSegment(path string, off int64) error {
	f, release, err := e.files.acquire(path, false)
	if err != nil {
		return err
	}
	defer release()
	return f.Truncate(off)
}

// unclose takes segments off the list of closed segments whose index the
// next checkpoint writes: they are being cut back or removed.
func (e *Engine) unclose(segs []*segment) {
	e.dirtyMu.Lock()
	defer e.dirtyMu.Unlock()
	e.closedSegs = slices.DeleteFunc(e.closedSegs, func(c closedSegment) bool { return slices.Contains(segs, c.seg) })
}

// undoFailed is the journal's answer to a failed write: every entry in
// failed (in queue order) was refused, so each log they belong to goes
// back to the state before its first refused append, in memory and
// durably on disk. An error means a refused record may still be on disk:
// the journal then refuses appends until the engine is reopened.
func (e *Engine) undoFailed(failed []*journalEntry) error {
	e.cpMu.Lock()
	defer e.cpMu.Unlock()
	first := make(map[*shardLog]undoPoint)
	var order []*shardLog
	for _, je := range failed {
		if _, ok := first[je.log]; !ok {
			first[je.log] = je.undo
			order = append(order, je.log)
		}
	}
	var errs []error
	for _, l := range order {
		l.mu.Lock()
		if !l.deleted {
			if err := l.undoLocked(first[l]); err != nil {
				l.brokenLocked(err)
				errs = append(errs, fmt.Errorf("log %q: %w", l.name, err))
			}
		}
		l.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (e *Engine) markDirDirty(dir string) {
	e.dirtyMu.Lock()
	e.dirtyDirs[dir] = true
	e.dirtyMu.Unlock()
}

// segmentClosed queues a full segment's index to be written once the
// segment is synced. Called with the log's lock held.
func (e *Engine) segmentClosed(seg *segment) {
	e.dirtyMu.Lock()
	e.closedSegs = append(e.closedSegs, closedSegment{seg: seg})
	e.dirtyMu.Unlock()
}

// checkpoint makes the segments hold everything the journal holds, durably,
// and drops the journal files that are no longer needed.
//
// Correctness rests on one order: an append writes its segment bytes and
// marks the file dirty before it queues its journal entry. So when roll
// returns, every entry in the files it closed had its segment write and
// dirty mark done, and the fsyncs below (of a set taken after roll) cover
// them all.
func (e *Engine) checkpoint() error {
	e.cpMu.Lock()
	defer e.cpMu.Unlock()
	through, err := e.journal.roll()
	if err != nil {
		return err
	}
	if err := e.syncWritten(); err != nil {
		return err
	}
	return e.journal.removeThrough(through)
}

// syncWritten takes the set of segments, directories and closed segments
// written since the last call, fsyncs them and writes the closed segments'
// indexes and the active segments' tail indexes. Once it returns, the
// segments hold durably everything written before the set was taken.
func (e *Engine) syncWritten() error {
	e.dirtyMu.Lock()
	segs, dirs, closed := e.dirtySegs, e.dirtyDirs, e.closedSegs
	e.dirtySegs, e.dirtyDirs, e.closedSegs = make(map[string]*shardLog), make(map[string]bool), nil
	e.dirtyMu.Unlock()

	// The tail indexes are taken before the fsyncs, so that the fsyncs
	// cover every byte they describe.
	var tails []tailSnapshot
	for path, l := range segs {
		if t, ok := l.tailSnapshot(path); ok {
			tails = append(tails, t)
		}
	}
	if err := e.syncFiles(segs); err != nil {
		return err
	}
	for _, t := range tails {
		if err := writeTailIndex(t.seg.path, &t.ix); err != nil {
			// A log deleted or a segment dropped meanwhile has no
			// directory or segment left to index; anything else costs
			// only a longer scan at the next start.
			if !errors.Is(err, os.ErrNotExist) {
				e.opts.Logger.Warn("writing a tail index failed; recovery will scan the segment", "file", t.seg.path, "err", err)
			}
			continue
		}
		t.seg.tailIndexed.Store(t.ix.size)
	}
	for dir := range dirs {
		// A log deleted meanwhile has no directory left to sync.
		if err := syncDir(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, c := range closed {
		if err := e.writeClosedIndex(c.seg); err != nil {
			return err
		}
	}
	return nil
}

// syncWorkers is how many segment fsyncs a checkpoint has in flight. A
// checkpoint after writes across 10,000 logs, or a recovery after a crash
// that left them in the journal, syncs 10,000 files: one after the other,
// each waited for the file system's commit; concurrent ones share commits.
const syncWorkers = 16

// syncFiles fsyncs the segments at paths, syncWorkers at a time, and
// returns the first error.
func (e *Engine) syncFiles(paths map[string]*shardLog) error {
	work := make(chan string)
	errs := make(chan error, syncWorkers)
	var wg sync.WaitGroup
	for range min(syncWorkers, len(paths)) {
		wg.Go(func() {
			var first error
			for path := range work {
				if err := e.syncFile(path); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		})
	}
	for path := range paths {
		work <- path
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) syncFile(path string) error {
	f, release, err := e.files.acquire(path, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil // the log was deleted meanwhile
	}
	if err != nil {
		return err
	}
	defer release()
	return e.metrics.syncSegmentFile(f)
}

// writeClosedIndex persists a closed (and synced) segment's index. The
// segment is full, so its index no longer changes; reading it needs no lock
// beyond what copying the struct under the log's lock gave.
func (e *Engine) writeClosedIndex(seg *segment) error {
	ix := seg.ix
	if err := writeIndex(seg.path, &ix); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	seg.idxWritten.Store(true)
	// The closed segment's index supersedes its tail index.
	os.Remove(tailIndexPath(seg.path))
	return nil
}

// CreateLog implements storage.Engine.
func (e *Engine) CreateLog(ctx context.Context, name string, opts storage.LogOptions) (storage.ShardLog, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !storage.ValidLogName(name) {
		return nil, fmt.Errorf("invalid log name %q", name)
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("negative retention %v", opts.Retention)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.isClosed() {
		return nil, storage.ErrClosed
	}
	if _, ok := e.byName[name]; ok {
		return nil, fmt.Errorf("log %q: %w", name, storage.ErrExists)
	}
	id, err := newLogID()
	if err != nil {
		return nil, err
	}
	l := &shardLog{
		e:      e,
		id:     id,
		name:   name,
		dir:    filepath.Join(e.dir, "logs", strconv.FormatUint(id, 16)),
		notify: make(chan struct{}),
		state: logState{Name: name, Created: e.nowMillis(), RetentionMS: opts.Retention.Milliseconds(),
			EncryptionKey: opts.EncryptionKey},
	}
	if opts.EncryptionKey != "" && e.opts.Keys == nil {
		return nil, fmt.Errorf("log %q: %w", name, storage.ErrNoKeys)
	}
	if err := os.Mkdir(l.dir, 0o755); err != nil {
		return nil, err
	}
	if err := l.writeState(l.state); err != nil {
		os.RemoveAll(l.dir)
		return nil, err
	}
	if err := syncDir(filepath.Dir(l.dir)); err != nil {
		return nil, err
	}
	e.logs[id] = l
	e.byName[name] = l
	return l, nil
}

// newLogID returns a random id. Ids are never reused, so journal records of
// a deleted log cannot be replayed into a new log of the same name.
func newLogID() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b[:]) | 1, nil
}

// Log implements storage.Engine.
func (e *Engine) Log(ctx context.Context, name string) (storage.ShardLog, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.isClosed() {
		return nil, storage.ErrClosed
	}
	l, ok := e.byName[name]
	if !ok {
		return nil, fmt.Errorf("log %q: %w", name, storage.ErrNotFound)
	}
	return l, nil
}

// ListLogs implements storage.Engine.
func (e *Engine) ListLogs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.isClosed() {
		return nil, storage.ErrClosed
	}
	names := make([]string, 0, len(e.byName))
	for n := range e.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// DeleteLog implements storage.Engine. The directory is renamed away first
// (one atomic step, synced), then removed; a crash in between leaves a
// "*.deleted" directory that the next Open removes.
func (e *Engine) DeleteLog(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	if e.isClosed() {
		e.mu.Unlock()
		return storage.ErrClosed
	}
	l, ok := e.byName[name]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("log %q: %w", name, storage.ErrNotFound)
	}
	delete(e.byName, name)
	delete(e.logs, l.id)
	e.mu.Unlock()

	l.mu.Lock()
	l.deleted = true
	l.wakeLocked()
	// The segments' files, and those of the expired segments the last
	// cleaning dropped: a deleted log is not cleaned again, so nothing
	// else would close them.
	paths := l.doomed
	for _, s := range l.segs {
		paths = append(paths, s.path)
	}
	l.segs, l.doomed = nil, nil
	l.mu.Unlock()
	for _, p := range paths {
		e.files.forget(p)
	}
	gone := l.dir + ".deleted"
	if err := os.Rename(l.dir, gone); err != nil {
		return err
	}
	// A read, an append or a checkpoint that looked a segment's path up
	// before the loop above may have opened the file again since, and the
	// cache would hold it, and with it the removed file's space, until it
	// evicted it. Once the directory is renamed nothing can open the paths,
	// so forgetting them again closes for good what was reopened.
	for _, p := range paths {
		e.files.forget(p)
	}
	if err := syncDir(filepath.Dir(l.dir)); err != nil {
		return err
	}
	return os.RemoveAll(gone)
}

// Meta implements storage.Engine.
func (e *Engine) Meta() storage.MetaStore { return metaView{e} }

var _ storage.Announcer = (*Engine)(nil)

// Announce counts n appends as under way from now (see storage.Announcer
// and journal.gatherLocked): a group commit that begins before one of
// them has reached the journal waits for it, up to Options.GroupWait.
func (e *Engine) Announce(ctx context.Context, n int) (context.Context, func()) {
	return e.journal.announce(ctx, n)
}

// OpenFiles reports how many segment files are open, for tests and metrics.
func (e *Engine) OpenFiles() int { return e.files.open() }

// Close implements storage.Engine: it stops new work, lets queued appends
// finish, runs a last checkpoint so the next Open replays nothing, and
// releases the directory.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		close(e.closed)
		e.mu.Unlock()
		e.bg.Wait()
		e.metrics.unregister()
		err := e.journal.close()
		if err == nil {
			err = e.checkpointAfterClose()
		}
		e.files.closeAll()
		if cerr := e.meta.close(); err == nil {
			err = cerr
		}
		e.lock.Close()
		e.closeErr = err
	})
	return e.closeErr
}

// checkpointAfterClose syncs the segments and removes every journal file:
// the committer has stopped, so the journal holds nothing the segments lack.
func (e *Engine) checkpointAfterClose() error {
	if err := e.syncWritten(); err != nil {
		return err
	}
	return e.journal.removeThrough(e.journal.num)
}

// recover loads every log and replays the journal. It returns the number
// the next journal file gets.
func (e *Engine) recover() (uint64, error) {
	logsDir := filepath.Join(e.dir, "logs")
	ents, err := os.ReadDir(logsDir)
	if err != nil {
		return 0, err
	}
	var ids []uint64
	var dirs []string
	for _, ent := range ents {
		name := ent.Name()
		if filepath.Ext(name) == ".deleted" {
			if err := os.RemoveAll(filepath.Join(logsDir, name)); err != nil {
				return 0, err
			}
			continue
		}
		id, err := strconv.ParseUint(name, 16, 64)
		if err != nil || !ent.IsDir() {
			continue
		}
		ids = append(ids, id)
		dirs = append(dirs, filepath.Join(logsDir, name))
	}
	loaded, err := e.loadLogs(ids, dirs)
	if err != nil {
		return 0, err
	}
	damaged := make(map[uint64]*damage)
	for i, id := range ids {
		l, dmg := loaded[i].log, loaded[i].dmg
		if l == nil {
			continue
		}
		if dmg != nil {
			damaged[id] = dmg
		}
		e.logs[id] = l
		e.byName[l.state.Name] = l
	}

	walDir := filepath.Join(e.dir, "wal")
	nums, err := listJournal(walDir)
	if err != nil {
		return 0, err
	}
	var journals [][]journalRecord
	for i, n := range nums {
		path := filepath.Join(walDir, journalName(n))
		recs, torn, err := readJournal(path)
		if err != nil {
			return 0, err
		}
		if torn >= 0 && i != len(nums)-1 {
			// Only the newest file can have a torn tail: older ones were
			// fsynced whole before the next was started.
			return 0, fmt.Errorf("%w: %s is cut short at offset %d", storage.ErrCorrupt, path, torn)
		}
		journals = append(journals, recs)
	}

	// Damage that the journal repairs is a crash's unsynced tail; damage it
	// does not repair is lost data, and we say so instead of guessing.
	first := make(map[uint64]uint64) // log id → first position the journal holds
	for _, recs := range journals {
		for _, r := range recs {
			if _, ok := first[r.logID]; !ok {
				first[r.logID] = r.header.firstPos
			}
		}
	}
	for _, id := range sortedKeys(damaged) {
		d := damaged[id]
		if p, ok := first[id]; (!ok || p > d.lastGood+1) && d.midFile {
			return 0, fmt.Errorf("%w: %s at offset %d: %v, and the journal does not hold the records after position %d",
				storage.ErrCorrupt, d.path, d.offset, d.reason, d.lastGood)
		}
		if err := e.repair(e.logs[id], d); err != nil {
			return 0, err
		}
	}

	for _, recs := range journals {
		for _, r := range recs {
			if err := e.replay(r); err != nil {
				return 0, err
			}
		}
	}
	// Make the replay durable and start from an empty journal.
	if err := e.syncWritten(); err != nil {
		return 0, err
	}
	for _, n := range nums {
		if err := os.Remove(filepath.Join(walDir, journalName(n))); err != nil {
			return 0, err
		}
	}
	next := uint64(1)
	if len(nums) > 0 {
		next = nums[len(nums)-1] + 1
	}
	return next, nil
}

// loadWorkers is how many logs recovery loads at once. Loading one is a
// few small reads and file opens, so with thousands of logs the time is
// spent waiting on the file system (a cold cache, a disk) as much as on
// a CPU: more workers than cores keep both busy.
const loadWorkers = 16

type loadedLog struct {
	log *shardLog
	dmg *damage
}

// loadLogs loads the logs of ids, in dirs, concurrently, each result at
// its id's index. Loading only reads files and removes the
// directory of a log that never got its state, so the logs do not touch
// each other; the first error wins.
func (e *Engine) loadLogs(ids []uint64, dirs []string) ([]loadedLog, error) {
	out := make([]loadedLog, len(ids))
	errs := make([]error, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(loadWorkers, len(ids)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) {
					return
				}
				out[i].log, out[i].dmg, errs[i] = e.loadLog(ids[i], dirs[i])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// damage describes the first invalid frame found in a log's segments.
type damage struct {
	path     string
	segIdx   int
	offset   int64
	reason   error
	lastGood uint64 // last position before the damage
	midFile  bool   // valid frames follow: not a plain torn tail
}

// loadLog reads a log's state and segments. Closed segments with a good
// index are trusted as is; the others are scanned.
func (e *Engine) loadLog(id uint64, dir string) (*shardLog, *damage, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		// Created but its state never reached the disk: it was never
		// acknowledged, so it never existed.
		return nil, nil, os.RemoveAll(dir)
	}
	if err != nil {
		return nil, nil, err
	}
	l := &shardLog{e: e, id: id, dir: dir, notify: make(chan struct{})}
	if err := json.Unmarshal(b, &l.state); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", storage.ErrCorrupt, filepath.Join(dir, stateFile), err)
	}
	l.name = l.state.Name
	l.sealing = l.state.Sealed // the fence holds across restarts
	bases, err := listSegments(dir)
	if err != nil {
		return nil, nil, err
	}
	expect := uint64(0)
	for i, base := range bases {
		seg := newSegment(base, filepath.Join(dir, segmentName(base)))
		if expect != 0 && base != expect {
			return nil, nil, fmt.Errorf("%w: %s starts at position %d, expected %d", storage.ErrCorrupt, seg.path, base, expect)
		}
		l.segs = append(l.segs, seg)
		if i < len(bases)-1 {
			if ix, err := loadIndex(seg.path, base); err == nil {
				seg.ix = *ix
				seg.idxWritten.Store(true)
				expect = ix.lastPos + 1
				continue
			}
		}
		res, err := e.scanActive(seg, i == len(bases)-1)
		if err != nil {
			return nil, nil, err
		}
		seg.ix = res.ix
		if res.badOffset >= 0 {
			last := base - 1
			if res.ix.lastPos > 0 {
				last = res.ix.lastPos
			}
			dmg := &damage{path: seg.path, segIdx: i, offset: res.badOffset, reason: res.badReason, lastGood: last,
				midFile: res.validAfterBad || i < len(bases)-1}
			// Later segments are listed (unscanned) so that repair can
			// remove them; their records must come back from the journal.
			for _, b := range bases[i+1:] {
				l.segs = append(l.segs, newSegment(b, filepath.Join(dir, segmentName(b))))
			}
			l.setTail()
			return l, dmg, nil
		}
		if seg.ix.lastPos > 0 {
			expect = seg.ix.lastPos + 1
		} else {
			expect = base
		}
	}
	l.setTail()
	return l, nil, nil
}

// scanActive scans a segment whose index is not written: the last one
// (active) from its tail index when it has a good one, any other whole.
// Damage found after a tail index is looked for again by a whole scan, so
// that nothing is cut on the word of the tail index alone.
func (e *Engine) scanActive(seg *segment, last bool) (scanResult, error) {
	if last {
		if st, err := os.Stat(seg.path); err == nil {
			if tix, err := loadTailIndex(seg.path, seg.base, st.Size()); err == nil {
				res, err := scanSegmentFrom(seg.path, tix, seg.base, e.opts.IndexInterval)
				if err == nil && res.badOffset < 0 {
					seg.tailIndexed.Store(tix.size)
					return res, nil
				}
			}
		}
	}
	return scanSegment(seg.path, seg.base, e.opts.IndexInterval)
}

// setTail derives the tails from the segments after loading.
func (l *shardLog) setTail() {
	for i := len(l.segs) - 1; i >= 0; i-- {
		if ix := l.segs[i].ix; ix.size > 0 {
			l.tail, l.tailArrival = ix.lastPos, ix.lastTime
			break
		}
	}
	if l.tail == 0 && len(l.segs) > 0 {
		l.tail = l.segs[0].base - 1
	}
	l.durable, l.durableArrival = l.tail, l.tailArrival
	for _, s := range l.segs {
		s.durableSize = s.ix.size // all that was loaded is on disk
	}
}

// repair cuts a log at its first invalid frame: later segments go, the
// damaged one is truncated. Only called when the journal holds what follows.
func (e *Engine) repair(l *shardLog, d *damage) error {
	for _, s := range l.segs[d.segIdx+1:] {
		e.files.forget(s.path)
		os.Remove(indexPath(s.path))
		os.Remove(tailIndexPath(s.path))
		if err := os.Remove(s.path); err != nil {
			return err
		}
	}
	l.segs = l.segs[:d.segIdx+1]
	seg := l.segs[d.segIdx]
	os.Remove(indexPath(seg.path))
	os.Remove(tailIndexPath(seg.path))
	e.files.forget(seg.path)
	if err := os.Truncate(seg.path, d.offset); err != nil {
		return err
	}
	e.opts.Logger.Warn("truncated a torn segment tail", "file", seg.path, "offset", d.offset, "reason", d.reason)
	l.setTail()
	e.dirtySegs[seg.path] = l
	e.dirtyDirs[l.dir] = true
	return nil
}

// replay applies one journal record to its log if the segments lack it.
func (e *Engine) replay(r journalRecord) error {
	l, ok := e.logs[r.logID]
	if !ok {
		return nil // the log was deleted after this record was written
	}
	h := r.header
	if h.lastPos() <= l.tail {
		// Already in the segment, but perhaps only in the page cache that
		// the crashed process left: the journal that holds it goes at the
		// end of recovery, so the segment must be synced before.
		if seg := l.segmentOf(h.firstPos); seg != nil {
			e.dirtySegs[seg.path] = l
		}
		return nil
	}
	if h.firstPos != l.tail+1 {
		return fmt.Errorf("%w: journal record at offset %d holds positions %d..%d of log %q, but the log ends at %d",
			storage.ErrCorrupt, r.offset, h.firstPos, h.lastPos(), l.name, l.tail)
	}
	seg, err := l.activeSegmentLocked(h.size())
	if err != nil {
		return err
	}
	if err := e.writeSegment(l, seg.path, r.frame, seg.ix.size); err != nil {
		return err
	}
	seg.ix.add(seg.ix.size, h, e.opts.IndexInterval)
	seg.durableSize = seg.ix.size
	l.tail, l.tailArrival = h.lastPos(), h.arrival
	l.durable, l.durableArrival = l.tail, l.tailArrival
	return nil
}

// abandon stops the engine as a crash would: no final checkpoint, journal
// files left in place, nothing synced beyond what was acknowledged. Tests
// use it to exercise recovery without killing the test process.
func (e *Engine) abandon() {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		close(e.closed)
		e.mu.Unlock()
		e.bg.Wait()
		e.journal.mu.Lock()
		e.journal.closing = true
		e.journal.cond.Broadcast()
		e.journal.mu.Unlock()
		e.journal.wg.Wait()
		e.journal.file.Close()
		e.files.closeAll()
		e.meta.close()
		e.lock.Close()
		e.closeErr = storage.ErrClosed
	})
}
