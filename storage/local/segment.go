package local

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/tributary-io/tributary/internal/bufpool"
	"github.com/tributary-io/tributary/storage"
)

// A segment is one file of a log's frames, named after the position of its
// first record (00000000000000000001.seg). A log is a list of segments; only
// the last one is written to. A full segment is closed: its index is written
// beside it (.idx) at the next checkpoint, once the segment is synced.
type segment struct {
	base uint64 // position of the first record the segment may hold
	path string
	// ix is guarded by the owning log's mutex. Readers take a copy of the
	// struct under the lock: entries only ever grow by append, so the copied
	// slice stays valid while the writer appends.
	ix index
	// durableSize is the end of the last frame whose append is durable
	// (guarded by the log's mutex). Readers read no further: the frames
	// after it may still be undone (see shardLog.undoLocked), and the
	// file truncated under them.
	durableSize int64
	// idxWritten is set once the .idx file is on disk; retention only drops
	// segments whose index is written (and so whose data is synced).
	idxWritten *atomic.Bool
	// tailIndexed is the size the active segment's tail index (.tail)
	// covers, as last written or loaded: a checkpoint writes it again
	// once the segment has grown tailIndexEvery past it.
	tailIndexed *atomic.Int64
}

func newSegment(base uint64, path string) *segment {
	return &segment{base: base, path: path, idxWritten: new(atomic.Bool), tailIndexed: new(atomic.Int64)}
}

func segmentName(base uint64) string { return fmt.Sprintf("%020d.seg", base) }

func indexPath(segPath string) string { return strings.TrimSuffix(segPath, ".seg") + ".idx" }

// tailIndexPath names the tail index of an active segment: the index of a
// prefix of it that a checkpoint had synced, in the .idx format. Recovery
// trusts that prefix as it trusts a closed segment's index, and scans only
// what follows, so that a restart reads what was written since the last
// checkpoint rather than every log's active segment whole (10 GB over
// 10,000 logs of 1 MB each).
func tailIndexPath(segPath string) string { return strings.TrimSuffix(segPath, ".seg") + ".tail" }

// tailIndexEvery is how much an active segment grows past its tail index
// before a checkpoint writes the index again: recovery scans at most this
// much of a log beyond what the journal holds, and a log written slowly
// costs no file write at every checkpoint.
const tailIndexEvery = 64 << 10

// listSegments returns the bases of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		b, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		bases = append(bases, b)
	}
	return bases, nil // ReadDir sorts by name, and names are zero-padded
}

// scanResult is what scanning a segment file found.
type scanResult struct {
	ix index
	// badOffset is where the first invalid frame starts, or -1 when every
	// byte of the file belongs to a valid frame.
	badOffset int64
	badReason error
	// validAfterBad is true when a valid frame with a later position follows
	// the bad one: the damage is in the middle, not a torn tail.
	validAfterBad bool
}

// scanSegment reads a whole segment file, rebuilding its index. Frames must
// continue the previous frame's positions (the first one must start at
// expectPos) and not go back in time; anything else counts as invalid.
func scanSegment(path string, expectPos uint64, interval int64) (scanResult, error) {
	return scanSegmentFrom(path, index{}, expectPos, interval)
}

// scanSegmentFrom is scanSegment after a prefix whose index is known
// (trusted): it reads from trusted.size on, the first frame there
// continuing trusted.lastPos (or starting at expectPos when the prefix is
// empty).
func scanSegmentFrom(path string, trusted index, expectPos uint64, interval int64) (scanResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return scanResult{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return scanResult{}, err
	}
	size := st.Size()
	off := int64(0)
	prevTime := int64(0)
	res := scanResult{badOffset: -1}
	if trusted.size > 0 {
		if trusted.size > size {
			return scanResult{}, fmt.Errorf("%s: tail index covers %d bytes of %d", path, trusted.size, size)
		}
		if _, err := f.Seek(trusted.size, io.SeekStart); err != nil {
			return scanResult{}, err
		}
		trusted.entries = slices.Clip(trusted.entries)
		res.ix = trusted
		off, prevTime, expectPos = trusted.size, trusted.lastTime, trusted.lastPos+1
	}
	// A buffer no larger than what is read: recovery scans the active
	// segment of every log, and with 10,000 logs of a few KiB each a 1 MiB
	// buffer apiece was 10 GB to allocate and clear, most of a restart.
	r := bufio.NewReaderSize(f, int(min(max(size-off, 16), 1<<20)))
	var hdr [frameHeaderSize]byte
	var frame []byte
	for off < size {
		bad := func(reason error) (scanResult, error) {
			res.badOffset, res.badReason = off, reason
			res.validAfterBad = validFrameAfter(f, off+1, size, res.ix.lastPos)
			return res, nil
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return bad(fmt.Errorf("%w: truncated header", errBadFrame))
		}
		h, err := decodeFrameHeader(hdr[:])
		if err != nil {
			return bad(err)
		}
		if h.firstPos != expectPos || h.arrival < prevTime {
			return bad(fmt.Errorf("%w: frame starts at position %d, expected %d", errBadFrame, h.firstPos, expectPos))
		}
		if off+h.size() > size {
			return bad(fmt.Errorf("%w: frame runs past the end of the file", errBadFrame))
		}
		frame = append(frame[:0], hdr[:]...)
		frame = append(frame, make([]byte, h.bodyLen)...)
		if _, err := io.ReadFull(r, frame[frameHeaderSize:]); err != nil {
			return bad(fmt.Errorf("%w: truncated body", errBadFrame))
		}
		if !verifyFrame(frame) {
			return bad(fmt.Errorf("%w: checksum mismatch", errBadFrame))
		}
		res.ix.add(off, h, interval)
		off += h.size()
		expectPos = h.lastPos() + 1
		prevTime = h.arrival
	}
	return res, nil
}

// validFrameAfter reports whether a frame that checks, with a position after
// minPos, starts anywhere in [from, size). Used only on the failure path to
// tell damage in the middle from a torn tail.
func validFrameAfter(f *os.File, from, size int64, minPos uint64) bool {
	if from >= size {
		return false
	}
	data := make([]byte, size-from)
	if _, err := f.ReadAt(data, from); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	var plain, sealed [4]byte
	binary.BigEndian.PutUint32(plain[:], frameMagic)
	binary.BigEndian.PutUint32(sealed[:], sealedMagic)
	for i := 0; i < len(data); {
		j, k := bytes.Index(data[i:], plain[:]), bytes.Index(data[i:], sealed[:])
		if j < 0 || (k >= 0 && k < j) {
			j = k
		}
		if j < 0 {
			return false
		}
		i += j
		if h, err := decodeFrameHeader(data[i:]); err == nil && h.firstPos > minPos &&
			int64(i)+h.size() <= int64(len(data)) && verifyFrame(data[i:int64(i)+h.size()]) {
			return true
		}
		i++
	}
	return false
}

// loadIndex reads a closed segment's index file and checks it against the
// segment's size. A missing or bad index returns an error; the caller scans.
func loadIndex(segPath string, base uint64) (*index, error) {
	b, err := os.ReadFile(indexPath(segPath))
	if err != nil {
		return nil, err
	}
	ix, err := decodeIndex(b)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(segPath)
	if err != nil {
		return nil, err
	}
	if st.Size() != ix.size || (len(ix.entries) > 0 && ix.entries[0].pos != base) {
		return nil, fmt.Errorf("index of %s does not match the segment", segPath)
	}
	return ix, nil
}

// loadTailIndex reads an active segment's tail index, checked against the
// segment as far as it can be without reading the segment.
func loadTailIndex(segPath string, base uint64, segSize int64) (index, error) {
	b, err := os.ReadFile(tailIndexPath(segPath))
	if err != nil {
		return index{}, err
	}
	ix, err := decodeIndex(b)
	if err != nil {
		return index{}, err
	}
	if ix.size <= 0 || ix.size > segSize || len(ix.entries) == 0 || ix.entries[0].pos != base || ix.entries[0].offset != 0 {
		return index{}, fmt.Errorf("tail index of %s does not match the segment", segPath)
	}
	return *ix, nil
}

// writeTailIndex writes an active segment's tail index. It is neither
// synced nor renamed into place: a torn or lost one fails its checksum or
// is missing, and recovery then scans the segment whole, which costs time,
// never data. What it covers must be on disk before it is written.
func writeTailIndex(segPath string, ix *index) error {
	return os.WriteFile(tailIndexPath(segPath), encodeIndex(ix), 0o644)
}

// writeIndex writes a closed segment's index file atomically.
func writeIndex(segPath string, ix *index) error {
	return writeFileAtomic(indexPath(segPath), encodeIndex(ix))
}

// readChunk is how much a reader fetches per pread when it does not know how
// much it will need.
const (
	firstReadChunk = 64 << 10
	readChunk      = 1 << 20
)

// readFrames calls fn for every record at or after position from in the
// frames of the segment between offsets off and end, until fn returns false.
// It returns whether fn asked to stop.
//
// Records handed to fn alias the buffers the frames are read into. With
// lent nil those are never reused, so fn may keep the records. Otherwise
// they come from bufpool and are appended to *lent, on error too: the
// caller gives them back once nothing uses the records (ReadResult.Release).
//
// Encrypted frames are decrypted with open; a failure to decrypt wraps
// storage.ErrDecrypt rather than ErrCorrupt: the bytes are as written.
func readFrames(files *fileCache, path string, off, end int64, from uint64, open opener, lent *[][]byte, fn func(storage.StoredRecord) bool) (bool, error) {
	f, release, err := files.acquire(path, false)
	if err != nil {
		return false, err
	}
	defer release()
	alloc := func(n int64) []byte {
		if lent == nil {
			return make([]byte, n)
		}
		b := bufpool.Get(int(n))[:n]
		*lent = append(*lent, b)
		return b
	}
	// Start small, since most reads want the next few records, and grow
	// while the caller keeps asking for more.
	chunk := int64(firstReadChunk)
	for off < end {
		n := min(end-off, chunk)
		chunk = min(chunk*2, readChunk)
		buf := alloc(n)
		if _, err := f.ReadAt(buf, off); err != nil {
			return false, fmt.Errorf("%w: %s at offset %d: %v", errCorrupt, path, off, err)
		}
		i := int64(0)
		for i+frameHeaderSize <= n {
			h, err := decodeFrameHeader(buf[i:])
			if err != nil {
				return false, fmt.Errorf("%w: %s at offset %d: %v", errCorrupt, path, off+i, err)
			}
			if off+i+h.size() > end {
				return false, fmt.Errorf("%w: %s at offset %d: frame runs past the segment's end", errCorrupt, path, off+i)
			}
			if i+h.size() > n {
				if i == 0 {
					// A frame larger than the chunk: fetch exactly it.
					buf = alloc(h.size())
					if _, err := f.ReadAt(buf, off); err != nil {
						return false, fmt.Errorf("%w: %s at offset %d: %v", errCorrupt, path, off, err)
					}
					n = h.size()
					continue
				}
				break
			}
			if h.lastPos() >= from {
				stopped := false
				_, err := decodeFrameWith(buf[i:i+h.size()], from, open, func(r storage.StoredRecord) bool {
					if !fn(r) {
						stopped = true
						return false
					}
					return true
				})
				if errors.Is(err, storage.ErrDecrypt) {
					return false, fmt.Errorf("%s at offset %d: %w", path, off+i, err)
				}
				if err != nil {
					return false, fmt.Errorf("%w: %s at offset %d: %v", errCorrupt, path, off+i, err)
				}
				if stopped {
					return true, nil
				}
			}
			i += h.size()
		}
		off += i
	}
	return false, nil
}

// errCorrupt is storage.ErrCorrupt; messages built on it name file and offset.
var errCorrupt = storage.ErrCorrupt

// writeFileAtomic writes data to path via a temporary file, fsync and
// rename, then syncs the directory, so readers see the old or the new
// content and never a mix, also after a crash.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
