package local

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
)

// indexEntry points at the frame that starts at offset and whose first record
// has position pos and arrival time t. A segment keeps one entry for its
// first frame and then one every indexInterval bytes, so a lookup costs a
// binary search and a scan of at most indexInterval bytes.
//
// Arrival times never decrease along a log, so the same entries serve
// lookups by position and by time.
type indexEntry struct {
	pos    uint64
	time   int64
	offset int64
}

const indexEntrySize = 24

// index is a segment's sparse index plus the facts about the segment a
// reader needs without opening it.
type index struct {
	entries   []indexEntry
	size      int64  // bytes of valid frames in the segment
	lastPos   uint64 // 0 when the segment is empty
	firstTime int64
	lastTime  int64
}

// add records a frame written at offset; interval is the byte distance
// between entries.
func (ix *index) add(offset int64, h frameHeader, interval int64) {
	if len(ix.entries) == 0 {
		ix.firstTime = h.arrival
	}
	if len(ix.entries) == 0 || offset-ix.entries[len(ix.entries)-1].offset >= interval {
		ix.entries = append(ix.entries, indexEntry{pos: h.firstPos, time: h.arrival, offset: offset})
	}
	ix.size = offset + h.size()
	ix.lastPos = h.lastPos()
	ix.lastTime = h.arrival
}

// seekPos returns the offset of the last indexed frame starting at or
// before pos: scanning from there finds pos.
func (ix *index) seekPos(pos uint64) int64 {
	i := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].pos > pos })
	if i == 0 {
		return 0
	}
	return ix.entries[i-1].offset
}

// seekTime returns an offset from which scanning finds the first record with
// arrival time ≥ t. Because several frames may share one arrival time, it
// starts at the last entry strictly before t.
func (ix *index) seekTime(t int64) int64 {
	i := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].time >= t })
	if i == 0 {
		return 0
	}
	return ix.entries[i-1].offset
}

// An index file (<base>.idx) is written once a segment is full and synced,
// so reopening the engine need not scan closed segments:
//
//	entries, 24 bytes each: position, time, offset (big-endian)
//	footer, 44 bytes: entry count u32, segment size u64, last position u64,
//	                  first time i64, last time i64, CRC-32C of all that
//	                  precedes u32, magic "TRBI" u32
const (
	indexMagic      = 0x54524249 // "TRBI"
	indexFooterSize = 44
)

func encodeIndex(ix *index) []byte {
	b := make([]byte, 0, len(ix.entries)*indexEntrySize+indexFooterSize)
	for _, e := range ix.entries {
		b = binary.BigEndian.AppendUint64(b, e.pos)
		b = binary.BigEndian.AppendUint64(b, uint64(e.time))
		b = binary.BigEndian.AppendUint64(b, uint64(e.offset))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(ix.entries)))
	b = binary.BigEndian.AppendUint64(b, uint64(ix.size))
	b = binary.BigEndian.AppendUint64(b, ix.lastPos)
	b = binary.BigEndian.AppendUint64(b, uint64(ix.firstTime))
	b = binary.BigEndian.AppendUint64(b, uint64(ix.lastTime))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	b = binary.BigEndian.AppendUint32(b, indexMagic)
	return b
}

// decodeIndex parses an index file. Any inconsistency is an error: the
// caller then rebuilds the index by scanning the segment, so a bad index
// costs time, never data.
func decodeIndex(b []byte) (*index, error) {
	if len(b) < indexFooterSize {
		return nil, fmt.Errorf("index: %d bytes is too short", len(b))
	}
	f := b[len(b)-indexFooterSize:]
	if binary.BigEndian.Uint32(f[40:]) != indexMagic {
		return nil, fmt.Errorf("index: bad magic")
	}
	if crc32.Checksum(b[:len(b)-8], castagnoli) != binary.BigEndian.Uint32(f[36:]) {
		return nil, fmt.Errorf("index: checksum mismatch")
	}
	n := binary.BigEndian.Uint32(f)
	if uint64(n)*indexEntrySize != uint64(len(b)-indexFooterSize) {
		return nil, fmt.Errorf("index: %d entries do not fit %d bytes", n, len(b))
	}
	ix := &index{
		entries:   make([]indexEntry, n),
		size:      int64(binary.BigEndian.Uint64(f[4:])),
		lastPos:   binary.BigEndian.Uint64(f[12:]),
		firstTime: int64(binary.BigEndian.Uint64(f[20:])),
		lastTime:  int64(binary.BigEndian.Uint64(f[28:])),
	}
	for i := range ix.entries {
		e := b[i*indexEntrySize:]
		ix.entries[i] = indexEntry{
			pos:    binary.BigEndian.Uint64(e),
			time:   int64(binary.BigEndian.Uint64(e[8:])),
			offset: int64(binary.BigEndian.Uint64(e[16:])),
		}
		// Entries must increase in position and offset and not decrease in
		// time; a reader relies on this for its binary searches.
		if i > 0 {
			p := ix.entries[i-1]
			if e := ix.entries[i]; e.pos <= p.pos || e.offset <= p.offset || e.time < p.time {
				return nil, fmt.Errorf("index: entry %d out of order", i)
			}
		}
	}
	if n > 0 {
		last := ix.entries[n-1]
		if ix.entries[0].offset != 0 || last.offset >= ix.size || last.pos > ix.lastPos || ix.firstTime > ix.lastTime || ix.size < 0 {
			return nil, fmt.Errorf("index: footer disagrees with entries")
		}
	}
	return ix, nil
}
