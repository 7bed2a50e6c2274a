package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tributary-io/tributary/internal/bufpool"

	"github.com/tributary-io/tributary/internal/datakey"
	"github.com/tributary-io/tributary/storage"
)

// shardLog is one log: a directory of segments plus a small state file.
//
// Positions start at 1 and are contiguous. Two tails matter:
//   - tail: the last position written to the segment (page cache);
//   - durable: the last position whose journal record is fsynced.
//
// Readers and waiters see only records up to durable, so nothing a reader
// saw can vanish in a crash. Appends hold mu while they assign positions,
// write the segment and queue the journal entry, so entries reach the
// journal in position order and durable only moves forward.
type shardLog struct {
	e    *Engine
	id   uint64
	name string
	dir  string

	mu             sync.RWMutex
	state          logState
	segs           []*segment
	tail           uint64
	tailArrival    int64
	durable        uint64
	durableArrival int64
	sealing        bool // set when Seal begins: appends fail from then on
	deleted        bool
	// broken is set when a background task panicked on this log: its
	// in-memory state can no longer be trusted, so it refuses everything
	// that would write (appends, seals, retention changes) until the
	// engine is reopened and rebuilds the state from the files. Reads go
	// on; they never change the files.
	broken error
	// dk is the data key encrypted frames are sealed with (crypt.go); nil
	// until one is needed, and again after a roll to a new segment.
	dk     *dataKey
	notify chan struct{} // closed and replaced when durable, sealed or deleted change
	doomed []string      // files of expired segments, removed at the next cleaning
}

// logState is the part of a log's state kept in its state file; it changes
// rarely (create, seal, retention) and is written atomically.
type logState struct {
	Name        string `json:"name"`
	Created     int64  `json:"created_ms"`
	RetentionMS int64  `json:"retention_ms"`
	Sealed      bool   `json:"sealed"`
	SealedAt    uint64 `json:"sealed_at"`
	// EncryptionKey is the KeyProvider's key new frames are encrypted
	// under; empty: they are written plain.
	EncryptionKey string `json:"encryption_key,omitempty"`
}

const stateFile = "state.json"

func (l *shardLog) writeState(st logState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(l.dir, stateFile), b)
}

func (l *shardLog) Name() string { return l.name }

// fail fences the log off after a bug (see broken).
func (l *shardLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.brokenLocked(err)
}

func (l *shardLog) brokenLocked(err error) {
	if l.broken == nil {
		l.broken = fmt.Errorf("log %q refuses writes until the server restarts: %w", l.name, err)
	}
}

func (l *shardLog) failure() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.broken
}

// checkWritableLocked is checkLocked for the methods that write.
func (l *shardLog) checkWritableLocked() error {
	if err := l.checkLocked(); err != nil {
		return err
	}
	return l.broken
}

// checkLocked returns the error every method returns on a closed engine or a
// deleted log.
func (l *shardLog) checkLocked() error {
	if l.deleted {
		return fmt.Errorf("log %q: %w", l.name, storage.ErrNotFound)
	}
	if l.e.isClosed() {
		return storage.ErrClosed
	}
	return nil
}

func (l *shardLog) Append(ctx context.Context, batch []storage.Record) ([]storage.Appended, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.ValidateBatch(batch); err != nil {
		return nil, err
	}
	if len(batch) == 0 {
		l.mu.RLock()
		defer l.mu.RUnlock()
		return nil, l.checkWritableLocked()
	}
	// From here until its entry is queued, the journal counts this
	// append as under way, so that a group commit starting meanwhile
	// waits a moment for it (journal.gatherLocked).
	if !l.e.journal.take(ctx) {
		l.e.journal.begin()
	}
	queued := false
	defer func() {
		if !queued {
			l.e.journal.abandon()
		}
	}()
	// Encode (and encrypt) before taking the lock; only the header's
	// position and arrival time depend on the log's state and are patched
	// in under the lock.
	var buf []byte
	for {
		dk, err := l.dataKey(ctx)
		if err != nil {
			return nil, fmt.Errorf("log %q: %w", l.name, err)
		}
		// From the pool; the committer gives it back once the frame is
		// written (journal.commitLoop).
		if dk == nil {
			buf = bufpool.Get(journalPrefix + frameHeaderSize + encodedBodySize(batch))[:journalPrefix]
			buf = appendUnfinishedFrame(buf, batch)
		} else {
			buf = bufpool.Get(journalPrefix + frameHeaderSize + sealedBodySize(batch, dk))[:journalPrefix]
			buf = appendUnfinishedSealedFrame(buf, batch, dk)
		}
		l.mu.Lock()
		if err := l.checkWritableLocked(); err != nil {
			l.mu.Unlock()
			return nil, err
		}
		// Invariant: a frame lands encrypted under the log's key of the
		// moment it is written, so that every append that begins after
		// SetEncryption returns is encrypted. A frame encoded under a
		// setting changed since is encoded again.
		if l.state.EncryptionKey == "" && dk == nil || dk != nil && dk.KeyID == l.state.EncryptionKey {
			break
		}
		l.mu.Unlock()
	}
	if l.sealing {
		l.mu.Unlock()
		return nil, fmt.Errorf("log %q: %w", l.name, storage.ErrSealed)
	}
	first := l.tail + 1
	arrival := max(l.e.nowMillis(), l.tailArrival)
	frame := buf[journalPrefix:]
	finishFrame(frame, first, arrival)
	h, _ := decodeFrameHeader(frame)

	seg, err := l.activeSegmentLocked(h.size())
	if err != nil {
		l.mu.Unlock()
		return nil, fmt.Errorf("log %q: %w", l.name, err)
	}
	undo := undoPoint{seg: seg, off: seg.ix.size, ix: seg.ix, tail: l.tail, tailArrival: l.tailArrival}
	if err := l.e.writeSegment(l, seg.path, frame, undo.off); err != nil {
		// A short write (a full disk) leaves part of a frame that the next
		// append would overwrite; cut it now so that no crash finds it.
		l.e.truncateSegment(seg.path, undo.off)
		l.mu.Unlock()
		return nil, fmt.Errorf("log %q: %w", l.name, err)
	}
	seg.ix.add(undo.off, h, l.e.opts.IndexInterval)
	l.tail, l.tailArrival = h.lastPos(), arrival
	entry := &journalEntry{buf: buf, logID: l.id, log: l, lastPos: h.lastPos(), arrival: arrival,
		seg: seg, end: seg.ix.size, undo: undo, done: make(chan struct{})}
	queued = true // enqueue ends the count, refused or not
	if err := l.e.journal.enqueue(entry, true); err != nil {
		// The journal refuses appends (it failed, or the engine is
		// closing): this one is refused, so its frame must not outlive
		// the refusal in the segment, where recovery would find it.
		if uerr := l.undoLocked(undo); uerr != nil {
			err = fmt.Errorf("%w (and undoing the append failed: %v)", err, uerr)
			l.brokenLocked(uerr)
		}
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()

	select {
	case <-entry.done:
		if entry.err != nil {
			return nil, entry.err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := make([]storage.Appended, len(batch))
	for i := range out {
		out[i] = storage.Appended{Position: first + uint64(i), ArrivalTime: arrival}
	}
	return out, nil
}

// activeSegmentLocked returns the segment the next frame of n bytes goes to,
// rolling to a new one when the current one is full.
func (l *shardLog) activeSegmentLocked(n int64) (*segment, error) {
	if len(l.segs) > 0 {
		seg := l.segs[len(l.segs)-1]
		if seg.ix.size == 0 || seg.ix.size+n <= l.e.opts.SegmentBytes {
			return seg, nil
		}
		l.e.segmentClosed(seg)
	}
	l.dk = nil // a data key per segment: the next frame makes a new one
	base := l.tail + 1
	seg := newSegment(base, filepath.Join(l.dir, segmentName(base)))
	l.segs = append(l.segs, seg)
	l.e.markDirDirty(l.dir)
	return seg, nil
}

// rollLocked closes the active segment and starts an empty one. The empty
// file is created at once, and its name (the next position) is what keeps
// positions increasing across a restart once every older segment is gone:
// loading derives the tail from the last segment's base. Its directory
// entry is synced by the same checkpoint that writes the closed segment's
// index, and retention drops a segment only after that.
func (l *shardLog) rollLocked() error {
	base := l.tail + 1
	seg := newSegment(base, filepath.Join(l.dir, segmentName(base)))
	f, err := os.OpenFile(seg.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	l.e.segmentClosed(l.segs[len(l.segs)-1])
	l.segs = append(l.segs, seg)
	l.e.markDirDirty(l.dir)
	return nil
}

// advanceDurable is called by the committer once a journal entry is synced.
func (l *shardLog) advanceDurable(e *journalEntry) {
	l.mu.Lock()
	if e.lastPos > l.durable {
		l.durable, l.durableArrival = e.lastPos, e.arrival
		e.seg.durableSize = max(e.seg.durableSize, e.end)
	}
	l.wakeLocked()
	l.mu.Unlock()
}

func (l *shardLog) wakeLocked() {
	close(l.notify)
	l.notify = make(chan struct{})
}

// view is what a reader copies under the lock and then uses without it.
type view struct {
	segs           []segment
	durable        uint64
	durableArrival int64
	cutoff         int64 // records that arrived before this are expired
	sealed         bool
	sealedAt       uint64
}

func (l *shardLog) viewLocked() view {
	v := view{
		segs:           make([]segment, len(l.segs)),
		durable:        l.durable,
		durableArrival: l.durableArrival,
		sealed:         l.state.Sealed,
		sealedAt:       l.state.SealedAt,
		cutoff:         -1 << 63,
	}
	for i, s := range l.segs {
		v.segs[i] = *s
		// Never read past what is durable: the rest may be undone and
		// cut from the file while the read runs.
		v.segs[i].ix.size = min(s.ix.size, s.durableSize)
	}
	if l.state.RetentionMS > 0 {
		v.cutoff = l.e.nowMillis() - l.state.RetentionMS
	}
	return v
}

func (l *shardLog) Read(ctx context.Context, start storage.Start, limits storage.ReadLimits) (storage.ReadResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.ReadResult{}, err
	}
	l.mu.RLock()
	if err := l.checkLocked(); err != nil {
		l.mu.RUnlock()
		return storage.ReadResult{}, err
	}
	v := l.viewLocked()
	l.mu.RUnlock()
	return l.read(ctx, v, start, limits)
}

func (l *shardLog) read(ctx context.Context, v view, start storage.Start, limits storage.ReadLimits) (storage.ReadResult, error) {
	open := func(frame []byte) ([]byte, error) { return l.e.openFrame(ctx, frame) }
	res := storage.ReadResult{LastPosition: v.durable, LastArrival: v.durableArrival}
	maxRecords := max(limits.MaxRecords, 1)

	// Every read kind becomes "records with position ≥ minPos and arrival
	// time ≥ minTime"; the expiry cutoff is one more lower bound on time.
	minPos, minTime := uint64(1), v.cutoff
	switch start.Kind {
	case storage.FromLatest:
		res.Next = v.durable + 1
		res.Sealed = v.sealed
		return res, nil
	case storage.FromPosition:
		minPos = max(start.Position, 1)
	case storage.FromTime:
		minTime = max(minTime, start.Time)
	}
	// With no record returned, Next is where the next append lands, even
	// when the read started further on: At(Next) must not miss it.
	res.Next = v.durable + 1

	// Find where to start: by time when the time bound can skip records
	// (the index holds times too), else by position.
	si, off := v.seekPosition(minPos)
	if ti, toff, ok := v.seekTimeBound(minTime); ok && (ti > si || (ti == si && toff > off)) {
		si, off = ti, toff
	}

	// The records' slice and the buffers their Data alias are lent to the
	// caller until it calls Release. Positions are one a record, so the
	// durable position bounds how many a read can return: a reader at the
	// tip takes a slice of its size, not of its limit.
	var lent [][]byte
	if minPos <= v.durable {
		res.Records = l.e.recordSlices.Get(int(min(uint64(maxRecords), v.durable-minPos+1)))
	}
	giveBack := func() {
		l.e.recordSlices.Put(res.Records)
		for _, b := range lent {
			bufpool.Put(b)
		}
	}
	bytes := 0
	for ; si < len(v.segs); si, off = si+1, 0 {
		seg := &v.segs[si]
		if seg.ix.size == 0 || seg.ix.lastPos < minPos || seg.ix.lastTime < minTime {
			continue
		}
		stopped, err := readFrames(l.e.files, seg.path, off, seg.ix.size, minPos, open, &lent, func(r storage.StoredRecord) bool {
			if r.Position > v.durable {
				return false
			}
			if r.ArrivalTime < minTime {
				return true
			}
			n := len(r.Data) + len(r.Key)
			if len(res.Records) > 0 && limits.MaxBytes > 0 && bytes+n > limits.MaxBytes {
				return false
			}
			bytes += n
			res.Records = append(res.Records, r)
			return len(res.Records) < maxRecords
		})
		if err != nil {
			giveBack()
			return storage.ReadResult{}, err
		}
		if stopped {
			break
		}
	}
	if n := len(res.Records); n > 0 {
		res.Next = res.Records[n-1].Position + 1
	}
	res.Sealed = v.sealed && res.Next > v.sealedAt
	res.Release = giveBack
	return res, nil
}

// seekPosition returns the segment and offset from which a scan finds pos.
func (v *view) seekPosition(pos uint64) (int, int64) {
	i := sort.Search(len(v.segs), func(i int) bool { return v.segs[i].base > pos }) - 1
	if i < 0 {
		return 0, 0
	}
	return i, v.segs[i].ix.seekPos(pos)
}

// seekTimeBound returns the segment and offset from which a scan finds the
// first record with arrival time ≥ t, and false when t bounds nothing.
//
// The search needs a predicate that is false and then true along the
// segments. A segment that shows nothing in the view (the one a roll has
// just made, whose first append is not durable yet) can only be the last,
// and the first record with a later arrival time can only be in it: it
// counts as reaching t. Counting it as not reaching t made the binary
// search skip the segments before it.
func (v *view) seekTimeBound(t int64) (int, int64, bool) {
	if t <= 0 {
		return 0, 0, false
	}
	i := sort.Search(len(v.segs), func(i int) bool { return v.segs[i].ix.size == 0 || v.segs[i].ix.lastTime >= t })
	if i == len(v.segs) {
		return i, 0, true
	}
	return i, v.segs[i].ix.seekTime(t), true
}

func (l *shardLog) Wait(ctx context.Context, p uint64) error {
	for {
		l.mu.RLock()
		if err := l.checkLocked(); err != nil {
			l.mu.RUnlock()
			return err
		}
		if l.durable >= p && p > 0 || (p == 0 && l.durable > 0) {
			l.mu.RUnlock()
			return nil
		}
		if l.state.Sealed {
			l.mu.RUnlock()
			return fmt.Errorf("log %q: %w", l.name, storage.ErrSealed)
		}
		if err := l.e.journal.failure(); err != nil {
			l.mu.RUnlock()
			return err // nothing will become durable any more
		}
		ch := l.notify
		l.mu.RUnlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.e.closed:
			return storage.ErrClosed
		}
	}
}

func (l *shardLog) Seal(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritableLocked(); err != nil {
		return 0, err
	}
	if l.state.Sealed {
		return l.state.SealedAt, nil
	}
	// From here no append gets a position. Wait until each one that has
	// a position is durable or undone (a failed journal write undoes it),
	// so that every successful append returns before Seal and the seal
	// lands right after the last of them.
	l.sealing = true
	for l.durable < l.tail {
		if err := l.e.journal.failure(); err != nil {
			return 0, err
		}
		ch := l.notify
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		case <-l.e.closed:
		}
		l.mu.Lock()
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := l.checkWritableLocked(); err != nil {
			return 0, err
		}
		if l.state.Sealed {
			return l.state.SealedAt, nil
		}
	}
	st := l.state
	st.Sealed, st.SealedAt = true, l.tail
	if err := l.writeState(st); err != nil {
		return 0, err
	}
	l.state = st
	l.wakeLocked()
	return st.SealedAt, nil
}

// undoPoint is a log's state just before an append wrote its frame at off
// in seg: what undoLocked restores.
type undoPoint struct {
	seg         *segment
	off         int64
	ix          index
	tail        uint64
	tailArrival int64
}

// undoLocked removes every frame written at or after u, in memory and on
// disk, durably: it is called when the appends that wrote them have
// failed, and a refused record must not come back after a crash. Only
// appends that are not durable are ever undone, so readers (who read only
// durable frames) never saw them, and their positions are given again.
func (l *shardLog) undoLocked(u undoPoint) error {
	i := slices.Index(l.segs, u.seg)
	if i < 0 {
		return fmt.Errorf("log %q: undo: segment %s is not the log's", l.name, u.seg.path)
	}
	later := l.segs[i+1:]
	l.segs = l.segs[:i+1]
	// Clip, so that the next index entry is not written into a backing
	// array that a reader's copy of the longer index still shares.
	u.ix.entries = slices.Clip(u.ix.entries)
	u.seg.ix, u.seg.durableSize = u.ix, min(u.seg.durableSize, u.off)
	l.tail, l.tailArrival = u.tail, u.tailArrival
	// The segment is the active one again: it must not get an index as a
	// closed segment (nor keep one), nor the later ones, which go.
	// (When an append undoes itself, u.seg is the active segment, never
	// closed, and there are no later ones; otherwise the caller holds the
	// checkpoint lock, so no checkpoint is writing those indexes now.)
	l.e.unclose(append([]*segment{u.seg}, later...))
	for _, seg := range later {
		l.e.files.forget(seg.path)
		os.Remove(tailIndexPath(seg.path))
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, seg := range append([]*segment{u.seg}, later...) {
		if err := os.Remove(indexPath(seg.path)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		seg.idxWritten.Store(false)
	}
	l.wakeLocked() // a Seal waits for durable to catch up with tail
	if err := l.e.truncateSegment(u.seg.path, u.off); err != nil {
		return err
	}
	if err := l.e.syncFile(u.seg.path); err != nil {
		return err
	}
	return syncDir(l.dir)
}

func (l *shardLog) Info(ctx context.Context) (storage.LogInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.LogInfo{}, err
	}
	l.mu.RLock()
	if err := l.checkLocked(); err != nil {
		l.mu.RUnlock()
		return storage.LogInfo{}, err
	}
	v := l.viewLocked()
	info := storage.LogInfo{
		Name:          l.name,
		Created:       time.UnixMilli(l.state.Created),
		Retention:     time.Duration(l.state.RetentionMS) * time.Millisecond,
		LastPosition:  l.durable,
		LastArrival:   l.durableArrival,
		Sealed:        l.state.Sealed,
		SealedAt:      l.state.SealedAt,
		EncryptionKey: l.state.EncryptionKey,
	}
	for _, s := range l.segs {
		info.Bytes += s.ix.size
	}
	l.mu.RUnlock()

	first, err := l.firstKept(v)
	if err != nil {
		return storage.LogInfo{}, err
	}
	if first > 0 {
		info.FirstPosition = first
	} else {
		// Everything expired (or nothing was appended): the log holds none.
		info.FirstPosition, info.LastPosition = 0, 0
	}
	return info, nil
}

// firstKept returns the position of the oldest record a read from the
// oldest would return (zero when there is none), from frame headers
// alone: the records of a frame share its arrival time, so that record
// starts the first durable frame that has not expired. Info needs no key,
// and decrypts nothing, for an encrypted log.
func (l *shardLog) firstKept(v view) (uint64, error) {
	si, off := 0, int64(0)
	if ti, toff, ok := v.seekTimeBound(v.cutoff); ok {
		si, off = ti, toff
	}
	var hdr [frameHeaderSize]byte
	for ; si < len(v.segs); si, off = si+1, 0 {
		seg := &v.segs[si]
		if seg.ix.size == 0 || seg.ix.lastTime < v.cutoff {
			continue
		}
		f, release, err := l.e.files.acquire(seg.path, false)
		if err != nil {
			return 0, err
		}
		for off+frameHeaderSize <= seg.ix.size {
			if _, err := f.ReadAt(hdr[:], off); err != nil {
				release()
				return 0, fmt.Errorf("%w: %s at offset %d: %v", errCorrupt, seg.path, off, err)
			}
			h, err := decodeFrameHeader(hdr[:])
			if err != nil {
				release()
				return 0, fmt.Errorf("%w: %s at offset %d: %v", errCorrupt, seg.path, off, err)
			}
			if h.firstPos > v.durable {
				release()
				return 0, nil
			}
			if h.arrival >= v.cutoff {
				release()
				return h.firstPos, nil
			}
			off += h.size()
		}
		release()
	}
	return 0, nil
}

func (l *shardLog) SetRetention(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("negative retention %v", d)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritableLocked(); err != nil {
		return err
	}
	st := l.state
	st.RetentionMS = d.Milliseconds()
	if err := l.writeState(st); err != nil {
		return err
	}
	l.state = st
	return nil
}

// clean drops closed segments whose newest record has expired. The files of
// segments dropped by the previous cleaning are removed now: a reader that
// copied the segment list before it was dropped has long finished.
//
// It runs in the background on every log, whatever its state: a log with no
// segment at all (created and never written, or reopened after a crash
// before its first append), sealed, expired or deleted.
func (l *shardLog) clean() error {
	doomed, err := l.cleanLocked()
	for _, p := range doomed {
		l.e.files.forget(p)
		os.Remove(tailIndexPath(p))
		os.Remove(indexPath(p))
		os.Remove(p)
		// A reader still on an old view may have opened the file again
		// between the forget and the removal; forgetting it once more
		// closes that descriptor instead of leaving the removed file
		// (and its space) held by the cache. Once removed it cannot be
		// opened again.
		l.e.files.forget(p)
	}
	return err
}

// cleanLocked is clean's work under the lock; the deferred unlock keeps a
// bug here from leaving the log locked for good.
func (l *shardLog) cleanLocked() (doomed []string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	doomed, l.doomed = l.doomed, nil
	if l.state.RetentionMS <= 0 || l.deleted || len(l.segs) == 0 {
		return doomed, nil
	}
	cutoff := l.e.nowMillis() - l.state.RetentionMS
	// Never the last segment: it is the one being written, and it tells
	// where the next position starts.
	for len(l.segs) > 1 && l.segs[0].idxWritten.Load() && l.segs[0].ix.lastTime < cutoff {
		l.doomed = append(l.doomed, l.segs[0].path)
		l.segs = l.segs[1:]
	}
	// A quiet log's active segment would keep its expired records on disk
	// forever, since only closed segments are dropped. Once all of it has
	// expired, close it; a later cleaning drops it. Not while appends are
	// in flight (durable < tail): they may still be undone.
	if last := l.segs[len(l.segs)-1]; last.ix.size > 0 && last.ix.lastTime < cutoff && l.durable == l.tail {
		if err := l.rollLocked(); err != nil {
			return doomed, fmt.Errorf("log %q: start a new segment after an expired one: %w", l.name, err)
		}
	}
	return doomed, nil
}

// dataKey returns the data key a frame appended now is encrypted with, or
// nil when the log is not encrypted. A new data key is made outside the
// log's lock (the KeyProvider may be slow, a real KMS is remote), and
// kept unless another append kept one first.
func (l *shardLog) dataKey(ctx context.Context) (*dataKey, error) {
	l.mu.RLock()
	keyID, dk := l.state.EncryptionKey, l.dk
	l.mu.RUnlock()
	if keyID == "" {
		return nil, nil
	}
	if dk != nil && dk.KeyID == keyID {
		return dk, nil
	}
	dk, err := datakey.New(ctx, l.e.opts.Keys, keyID)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dk != nil && l.dk.KeyID == l.state.EncryptionKey {
		return l.dk, nil
	}
	l.dk = dk
	return dk, nil
}

// SetEncryption implements storage.ShardLog. The setting is written to the
// log's state file before it returns, so it holds across restarts.
func (l *shardLog) SetEncryption(ctx context.Context, keyID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if keyID != "" && l.e.opts.Keys == nil {
		return fmt.Errorf("log %q: %w", l.name, storage.ErrNoKeys)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritableLocked(); err != nil {
		return err
	}
	if l.state.EncryptionKey == keyID {
		return nil
	}
	st := l.state
	st.EncryptionKey = keyID
	if err := l.writeState(st); err != nil {
		return err
	}
	l.state = st
	l.dk = nil
	return nil
}

// tailSnapshot is an active segment's index cut to its durable prefix,
// to be written as its tail index.
type tailSnapshot struct {
	seg *segment
	ix  index
}

// tailSnapshot returns the tail index to write for the segment at path if
// it is the log's active one and has grown tailIndexEvery past the tail
// index it has. It covers only durable frames: the others may still be
// undone and cut from the file.
func (l *shardLog) tailSnapshot(path string) (tailSnapshot, bool) {
	if l == nil {
		return tailSnapshot{}, false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.deleted || len(l.segs) == 0 {
		return tailSnapshot{}, false
	}
	seg := l.segs[len(l.segs)-1]
	n := seg.durableSize
	if seg.path != path || n <= 0 || n-seg.tailIndexed.Load() < tailIndexEvery {
		return tailSnapshot{}, false
	}
	// Invariant: the durable frames are a prefix of the segment, and the
	// last of them is the log's last durable position.
	ix := seg.ix
	k := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].offset >= n })
	ix.entries = slices.Clone(ix.entries[:k])
	ix.size, ix.lastPos, ix.lastTime = n, l.durable, l.durableArrival
	return tailSnapshot{seg: seg, ix: ix}, true
}

// segmentOf returns the segment that holds position p, or nil.
func (l *shardLog) segmentOf(p uint64) *segment {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > p }) - 1
	if i < 0 {
		return nil
	}
	return l.segs[i]
}
