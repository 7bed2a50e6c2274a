package local

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/internal/bgtask"
	"github.com/tributary-io/tributary/internal/bufpool"
	"github.com/tributary-io/tributary/storage"
)

// The journal is the engine's write-ahead log, shared by all logs. An append
// writes its frame to the log's segment (page cache only), then queues the
// same frame here; one committer goroutine writes everything queued as one
// write and one fsync, and only then acknowledges. So concurrent appends,
// to one log or to many, share fsyncs, and segment files are synced in bulk
// at checkpoints instead of on every append.
//
// A journal record is
//
//	magic "TRBJ" u32 | payload length u32 | CRC-32C of payload u32 |
//	payload: log id u64, then the segment frame
//
// Journal files are named by a counter (000000000001.wal, ...). After a
// checkpoint has synced every segment written before a file was rolled, that
// file and older ones are deleted.
const (
	journalMagic      = 0x54524241 // "TRBJ"
	journalHeaderSize = 12
	journalIDSize     = 8
	// journalPrefix is the room an append reserves in front of its frame so
	// the committer can write header and frame without copying.
	journalPrefix = journalHeaderSize + journalIDSize
)

type journalEntry struct {
	// buf is journalPrefix bytes of room followed by the segment frame.
	buf     []byte
	logID   uint64
	log     *shardLog
	lastPos uint64
	arrival int64
	seg     *segment  // where the frame was written,
	end     int64     // and the offset just after it
	undo    undoPoint // how to take the frame back if the journal fails it
	err     error
	done    chan struct{}
}

type journal struct {
	dir       string
	syncEvery time.Duration // 0: fsync every group before acknowledging
	rollBytes int64
	onFull    func() // asks for a checkpoint; must not block
	onFail    func() // wakes waiters when the journal fails
	// undo takes back the appends of entries the journal failed to write
	// (see Engine.undoFailed); it must not call back into the journal.
	undo  func([]*journalEntry) error
	tasks *bgtask.Runner // the committer's groups run as task "journal"
	m     *engineMetrics

	mu      sync.Mutex
	cond    *sync.Cond
	pending []*journalEntry
	closing bool
	// preparing counts the appends under way (begin) that have not yet
	// queued their entry or given up, and finished those that did: the
	// committer waits a moment for the ones under way when it wakes
	// (gatherLocked), for at most gather.
	preparing int
	finished  uint64
	gather    time.Duration
	// failed, while set, makes every append fail. It is set when a write
	// or fsync fails, and cleared once the failed appends are undone and
	// the journal is cut back to what was durable before them, so that
	// writing resumes by itself when, say, a full disk has room again.
	// It stays set for good (permanent) when that cannot be done, or when
	// an fsync fails after appends were acknowledged (interval mode).
	failed    error
	permanent bool

	// fileMu is held by the committer while it writes a group and by roll;
	// file, num and size are guarded by it.
	fileMu sync.Mutex
	file   *os.File
	num    uint64
	size   int64
	dirty  bool // written since the last fsync (interval mode)

	wg sync.WaitGroup
}

func journalName(num uint64) string { return fmt.Sprintf("%012d.wal", num) }

// listJournal returns the numbers of the journal files in dir, ascending.
func listJournal(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var nums []uint64
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), ".wal")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(base, 10, 64)
		if err != nil {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// startJournal opens a new journal file numbered after every existing one
// and starts the committer.
func startJournal(dir string, next uint64, syncEvery, gather time.Duration, rollBytes int64, onFull, onFail func(), undo func([]*journalEntry) error, tasks *bgtask.Runner, m *engineMetrics) (*journal, error) {
	j := &journal{dir: dir, syncEvery: syncEvery, gather: gather, rollBytes: rollBytes, onFull: onFull, onFail: onFail, undo: undo, tasks: tasks, m: m, num: next}
	j.cond = sync.NewCond(&j.mu)
	f, err := os.OpenFile(filepath.Join(dir, journalName(next)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	j.file = f
	j.wg.Add(1)
	go j.commitLoop()
	if syncEvery > 0 {
		j.wg.Add(1)
		go j.syncLoop()
	}
	return j, nil
}

// begin tells the committer that an append is under way: it will queue
// an entry (enqueue with begun set) or give up (abandon) shortly.
func (j *journal) begin() {
	j.mu.Lock()
	j.preparing++
	j.mu.Unlock()
}

// announcement is appends counted by begin ahead of time (Announce):
// each Append made with its context takes one of them instead of
// beginning anew, and done ends the ones never taken.
type announcement struct {
	j    *journal
	left atomic.Int64
}

type announcementKey struct{}

// take claims one of the announced appends for the caller, if any is
// left and the announcement is j's.
func (j *journal) take(ctx context.Context) bool {
	a, _ := ctx.Value(announcementKey{}).(*announcement)
	if a == nil || a.j != j {
		return false
	}
	for {
		n := a.left.Load()
		if n <= 0 {
			return false
		}
		if a.left.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// announce counts n appends as under way at once.
func (j *journal) announce(ctx context.Context, n int) (context.Context, func()) {
	if n <= 0 {
		return ctx, func() {}
	}
	a := &announcement{j: j}
	a.left.Store(int64(n))
	j.mu.Lock()
	j.preparing += n
	j.mu.Unlock()
	return context.WithValue(ctx, announcementKey{}, a), func() {
		n := a.left.Swap(0)
		if n <= 0 {
			return
		}
		j.mu.Lock()
		j.preparing -= int(n)
		j.finished += uint64(n)
		j.cond.Broadcast()
		j.mu.Unlock()
	}
}

// abandon ends an append counted by begin that queues nothing.
func (j *journal) abandon() {
	j.mu.Lock()
	j.endPrepareLocked()
	j.mu.Unlock()
}

func (j *journal) endPrepareLocked() {
	j.preparing--
	j.finished++
	j.cond.Broadcast()
}

// enqueue hands an entry to the committer; begun says that its append was
// counted by begin, whose count it ends, refused or not. Callers enqueue
// entries of one log in position order (they hold the log's lock), and
// the committer keeps queue order, so a log's durable position only moves
// forward.
func (j *journal) enqueue(e *journalEntry, begun bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if begun {
		j.endPrepareLocked()
	}
	if j.failed != nil {
		return j.failed
	}
	if j.closing {
		return errClosing
	}
	j.pending = append(j.pending, e)
	j.cond.Signal()
	return nil
}

// errClosing: the engine is closing and takes no more appends.
var errClosing = storage.ErrClosed

func (j *journal) commitLoop() {
	defer j.wg.Done()
	var buf []byte
	for {
		j.mu.Lock()
		for len(j.pending) == 0 && !j.closing {
			j.cond.Wait()
		}
		j.gatherLocked()
		group := j.pending
		j.pending = nil
		closing := j.closing
		j.mu.Unlock()
		if len(group) == 0 && closing {
			return
		}

		err := j.tasks.Run("journal", func() error {
			if err, cutErr := j.writeGroup(group, &buf); err != nil {
				j.refuse(group, err, cutErr)
				return nil
			}
			for _, e := range group {
				e.log.advanceDurable(e)
				close(e.done)
				// The frame is in the segment and the journal: its buffer
				// goes back for another append's frame. Only the committer
				// may do it, as only it knows the buffer is written; the
				// appender may have left already (its context ended).
				// Failed groups (refuse, halt) leave theirs to the garbage
				// collector.
				bufpool.Put(e.buf)
				e.buf = nil
			}
			return nil
		})
		if err != nil {
			j.halt(group, err)
		}
	}
}

// gatherLocked waits, for at most j.gather, until the appends that were
// under way when the committer woke have queued their entries, so that
// they share this group's fsync instead of waiting for it to end and then
// for a whole fsync of their own. PutRecords appends to its shards at
// once, each a few microseconds behind the other: the first shard's entry
// used to wake the committer alone, and the request waited for two
// fsyncs. Only appends already under way are waited for, so a steady
// stream of new ones cannot hold a group back; the bound covers an
// append held up elsewhere (its log's lock, a data key). With fsyncs on
// an interval there is nothing to share. j.mu is held.
func (j *journal) gatherLocked() {
	if j.gather <= 0 || j.syncEvery > 0 || j.preparing == 0 || j.closing {
		return
	}
	target := j.finished + uint64(j.preparing)
	expired := false
	t := time.AfterFunc(j.gather, func() {
		j.mu.Lock()
		expired = true
		j.cond.Broadcast()
		j.mu.Unlock()
	})
	for j.finished < target && !expired && !j.closing {
		j.cond.Wait()
	}
	t.Stop()
}

// halt stops the journal for good after a bug (a panic) in the committer:
// which of the group's entries are durable is no longer known, so the
// ones not yet answered fail, as does everything after them.
func (j *journal) halt(group []*journalEntry, cause error) {
	j.mu.Lock()
	j.failed = fmt.Errorf("journal stopped by an internal error; refusing appends until restart: %w", cause)
	j.permanent = true
	failed := append(group, j.pending...)
	j.pending = nil
	j.mu.Unlock()
	if j.onFail != nil {
		j.onFail()
	}
	for _, e := range failed {
		select {
		case <-e.done: // answered before the panic
		default:
			e.err = j.failed
			close(e.done)
		}
	}
}

// refuse fails a group the journal could not write, and every entry queued
// behind it (their frames follow the group's in their segments), and undoes
// them so that none of their records can appear later: not in memory, not
// in the segments, not in the journal after a crash (writeGroup has cut
// the group off the journal file already, or failed to: cutErr). Appends
// are refused while this runs. If the undoing works, the journal takes
// appends again; if not, it refuses them until the engine is reopened.
func (j *journal) refuse(group []*journalEntry, cause, cutErr error) {
	j.mu.Lock()
	if j.failed == nil {
		j.failed = fmt.Errorf("journal write failed: %w", cause)
	}
	failed := append(group, j.pending...)
	j.pending = nil
	j.mu.Unlock()
	if j.onFail != nil {
		j.onFail() // waiters see the failure rather than wait for durability
	}

	err := cutErr
	if err == nil {
		err = j.undo(failed)
	}
	j.mu.Lock()
	if err != nil || j.permanent {
		j.permanent = true
		if err != nil {
			j.failed = fmt.Errorf("journal write failed (%v), and undoing the refused appends failed too; refusing appends until restart: %w", cause, err)
		}
	} else {
		j.failed = nil
	}
	j.mu.Unlock()
	refused := fmt.Errorf("journal write failed: %w", cause)
	for _, e := range failed {
		e.err = refused
		close(e.done)
	}
}

// cutBackLocked truncates the journal file to what was written before a
// failed group and syncs it, so that a crash cannot replay any of the
// group. It runs under fileMu, before a checkpoint can roll the file.
func (j *journal) cutBackLocked() error {
	if err := j.file.Truncate(j.size); err != nil {
		return err
	}
	return j.m.syncJournalFile(j.file)
}

// writeGroup writes a group of entries as one write and, unless syncing on
// an interval, fsyncs before returning. If that fails (err), it cuts what
// it wrote off the file again; cutErr says if that failed too.
func (j *journal) writeGroup(group []*journalEntry, buf *[]byte) (err, cutErr error) {
	var data []byte
	if len(group) == 1 {
		// The common case under light load: write the entry's own buffer.
		data = fillJournalHeader(group[0])
	} else {
		b := (*buf)[:0]
		for _, e := range group {
			b = append(b, fillJournalHeader(e)...)
		}
		*buf = b
		data = b
	}
	j.fileMu.Lock()
	defer j.fileMu.Unlock()
	// j.size moves only once the group is written (and synced): a failed
	// group is cut off at j.size.
	_, err = j.file.WriteAt(data, j.size)
	if err == nil && j.syncEvery == 0 {
		err = j.m.syncJournalFile(j.file)
	}
	if err != nil {
		return err, j.cutBackLocked()
	}
	j.m.committed(group, len(data))
	if j.syncEvery > 0 {
		j.dirty = true
	}
	j.size += int64(len(data))
	if j.size >= j.rollBytes && j.onFull != nil {
		j.onFull()
	}
	return nil, nil
}

func fillJournalHeader(e *journalEntry) []byte {
	b := e.buf
	binary.BigEndian.PutUint32(b, journalMagic)
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-journalHeaderSize))
	binary.BigEndian.PutUint64(b[journalHeaderSize:], e.logID)
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(b[journalHeaderSize:], castagnoli))
	return b
}

// syncLoop fsyncs the journal every syncEvery in interval mode.
func (j *journal) syncLoop() {
	defer j.wg.Done()
	t := time.NewTicker(j.syncEvery)
	defer t.Stop()
	for range t.C {
		j.mu.Lock()
		closing := j.closing
		j.mu.Unlock()
		j.fileMu.Lock()
		if j.dirty {
			if err := j.m.syncJournalFile(j.file); err != nil {
				// Appends written since the last sync were acknowledged
				// already; they may be lost, and nothing can undo that.
				j.mu.Lock()
				if !j.permanent {
					j.failed = fmt.Errorf("journal sync failed, acknowledged appends may be lost; refusing appends until restart: %w", err)
					j.permanent = true
				}
				j.mu.Unlock()
				if j.onFail != nil {
					j.onFail()
				}
			}
			j.dirty = false
		}
		j.fileMu.Unlock()
		if closing {
			return
		}
	}
}

// roll starts a new journal file and returns the number of the last file
// that is complete. Every entry in files up to that number had its segment
// write done before it was queued, so once the segments are synced those
// files can go.
func (j *journal) roll() (uint64, error) {
	j.fileMu.Lock()
	defer j.fileMu.Unlock()
	if j.size == 0 {
		return j.num - 1, nil
	}
	if err := j.m.syncJournalFile(j.file); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(filepath.Join(j.dir, journalName(j.num+1)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return 0, err
	}
	j.file.Close()
	j.file, j.num, j.size, j.dirty = f, j.num+1, 0, false
	return j.num - 1, nil
}

// removeThrough deletes journal files numbered up to num.
func (j *journal) removeThrough(num uint64) error {
	nums, err := listJournal(j.dir)
	if err != nil {
		return err
	}
	for _, n := range nums {
		if n > num {
			break
		}
		if err := os.Remove(filepath.Join(j.dir, journalName(n))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// close writes what is queued, syncs and stops the committer.
func (j *journal) close() error {
	j.mu.Lock()
	j.closing = true
	j.cond.Broadcast()
	j.mu.Unlock()
	j.wg.Wait()
	j.fileMu.Lock()
	defer j.fileMu.Unlock()
	err := j.file.Sync()
	if cerr := j.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// journalRecord is one record read back from a journal file.
type journalRecord struct {
	logID  uint64
	frame  []byte
	header frameHeader
	offset int64 // of the journal record in its file
}

// readJournal decodes a journal file. A bad record followed only by bytes
// that hold no valid record is a torn tail from a crash: reading stops there
// and torn reports the offset. A bad record with valid ones after it is
// corruption and an error.
func readJournal(path string) (recs []journalRecord, torn int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, -1, err
	}
	off := int64(0)
	for off < int64(len(data)) {
		rec, n, err := decodeJournalRecord(data[off:])
		if err != nil {
			if next := findJournalRecord(data, off+1); next >= 0 {
				return nil, -1, fmt.Errorf("%w: %s at offset %d: %v (a valid record follows at offset %d)", errCorrupt, path, off, err, next)
			}
			return recs, off, nil
		}
		rec.offset = off
		recs = append(recs, rec)
		off += n
	}
	return recs, -1, nil
}

func decodeJournalRecord(b []byte) (journalRecord, int64, error) {
	if len(b) < journalPrefix {
		return journalRecord{}, 0, fmt.Errorf("%w: short journal record", errBadFrame)
	}
	if binary.BigEndian.Uint32(b) != journalMagic {
		return journalRecord{}, 0, fmt.Errorf("%w: bad journal magic", errBadFrame)
	}
	n := int64(binary.BigEndian.Uint32(b[4:]))
	if n < journalIDSize+frameHeaderSize || n > int64(len(b)-journalHeaderSize) {
		return journalRecord{}, 0, fmt.Errorf("%w: journal record of %d bytes", errBadFrame, n)
	}
	payload := b[journalHeaderSize : journalHeaderSize+n]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return journalRecord{}, 0, fmt.Errorf("%w: journal checksum mismatch", errBadFrame)
	}
	frame := payload[journalIDSize:]
	h, err := decodeFrameHeader(frame)
	if err != nil {
		return journalRecord{}, 0, err
	}
	if h.size() != int64(len(frame)) || !verifyFrame(frame) {
		return journalRecord{}, 0, fmt.Errorf("%w: journal frame does not check", errBadFrame)
	}
	return journalRecord{logID: binary.BigEndian.Uint64(payload), frame: frame, header: h}, journalHeaderSize + n, nil
}

// findJournalRecord returns the offset of the first valid record at or after
// from, or -1.
func findJournalRecord(data []byte, from int64) int64 {
	var magic [4]byte
	binary.BigEndian.PutUint32(magic[:], journalMagic)
	for off := from; off < int64(len(data)); {
		i := indexOf(data[off:], magic[:])
		if i < 0 {
			return -1
		}
		off += int64(i)
		if _, _, err := decodeJournalRecord(data[off:]); err == nil {
			return off
		}
		off++
	}
	return -1
}

func indexOf(b, sub []byte) int { return bytes.Index(b, sub) }

// sortedKeys is a small helper for deterministic iteration in recovery.
func sortedKeys[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] })
	return keys
}

// failure returns the error that stopped the journal, or nil.
func (j *journal) failure() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed
}
