package local

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/tributary-io/tributary/storage"
)

// A frame holds one appended batch. Segments are sequences of frames, and the
// journal wraps the same frames with the id of the log they belong to.
//
//	offset size
//	0      4    magic "TRBF"
//	4      4    body length
//	8      4    CRC-32C of the body, continued over bytes 12..32
//	12     8    position of the first record
//	20     8    arrival time, Unix milliseconds (one per batch)
//	28     4    record count (≥ 1)
//	32     ...  body: per record uvarint(len key), uvarint(len spare),
//	            uvarint(len data), key, spare, data
//
// The spare slot is written empty. In frames written up to release ff40391
// it held Kinesis's explicit hash key, which nothing read back, and the
// decoder skips it whatever it holds, so that those frames still read
// (TestOpenReleaseData). Keeping the slot, rather than dropping it under a
// new magic, is the simpler way: one layout and one decoder instead of two
// for good (a segment written before an upgrade gains frames after it);
// that release reads what this one writes, so going back to it loses
// nothing (TestDecodeReleaseFrame pins the bytes); and the cost is the one
// byte per record that every record without a hash key, most of them, paid
// anyway.
//
// The checksum covers the body first so that an append can checksum its
// body before it takes the log's lock, and fold in the 20 header bytes
// (position, time) once it knows them.
//
// The positions a frame covers are derived from its header alone, so a
// reader looking for a position skips whole frames without reading bodies.
// Positions are contiguous within a frame and across the frames of one log
// (this engine never leaves gaps), which recovery uses to tell a torn tail
// from lost data.
const (
	frameMagic      = 0x54524246 // "TRBF"
	frameHeaderSize = 32
	// maxFrameBody bounds what a decoder will allocate for one frame: a batch
	// of 10 MiB records is split by the layers above, but the engine accepts
	// any batch whose encoded size fits here.
	maxFrameBody = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadFrame marks bytes that are not a valid frame: torn, zeroed or
// corrupt. Callers decide which it is from where it sits.
var errBadFrame = errors.New("bad frame")

type frameHeader struct {
	bodyLen  uint32
	crc      uint32
	firstPos uint64
	arrival  int64
	count    uint32
}

func (h frameHeader) lastPos() uint64 { return h.firstPos + uint64(h.count) - 1 }
func (h frameHeader) size() int64     { return frameHeaderSize + int64(h.bodyLen) }

// encodedBodySize is the body length of a frame for batch.
func encodedBodySize(batch []storage.Record) int {
	n := 0
	for i := range batch {
		r := &batch[i]
		n += uvarintLen(len(r.Key)) + 1 + uvarintLen(len(r.Data))
		n += len(r.Key) + len(r.Data)
	}
	return n
}

func uvarintLen(v int) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendFrame appends the frame for batch to dst.
func appendFrame(dst []byte, firstPos uint64, arrival int64, batch []storage.Record) []byte {
	start := len(dst)
	dst = appendUnfinishedFrame(dst, batch)
	finishFrame(dst[start:], firstPos, arrival)
	return dst
}

// appendUnfinishedFrame appends a frame for batch whose position and time
// are not known yet; its CRC field holds the body's checksum until
// finishFrame completes it.
func appendUnfinishedFrame(dst []byte, batch []storage.Record) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, frameMagic)
	dst = binary.BigEndian.AppendUint32(dst, uint32(encodedBodySize(batch)))
	dst = append(dst, make([]byte, 20)...) // CRC, position, time
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(batch)))
	for i := range batch {
		r := &batch[i]
		dst = binary.AppendUvarint(dst, uint64(len(r.Key)))
		dst = append(dst, 0) // the empty spare slot
		dst = binary.AppendUvarint(dst, uint64(len(r.Data)))
		dst = append(dst, r.Key...)
		dst = append(dst, r.Data...)
	}
	frame := dst[start:]
	binary.BigEndian.PutUint32(frame[8:], crc32.Checksum(frame[frameHeaderSize:], castagnoli))
	return dst
}

// finishFrame sets the first position and arrival time of a frame from
// appendUnfinishedFrame and folds them into its checksum. It costs the same
// for any frame size, which matters because appends call it under a lock.
func finishFrame(frame []byte, firstPos uint64, arrival int64) {
	bodyCRC := binary.BigEndian.Uint32(frame[8:])
	binary.BigEndian.PutUint64(frame[12:], firstPos)
	binary.BigEndian.PutUint64(frame[20:], uint64(arrival))
	binary.BigEndian.PutUint32(frame[8:], crc32.Update(bodyCRC, castagnoli, frame[12:frameHeaderSize]))
}

// verifyFrame checks the CRC of a whole frame (header and body).
func verifyFrame(frame []byte) bool {
	if len(frame) < frameHeaderSize {
		return false
	}
	crc := crc32.Checksum(frame[frameHeaderSize:], castagnoli)
	crc = crc32.Update(crc, castagnoli, frame[12:frameHeaderSize])
	return crc == binary.BigEndian.Uint32(frame[8:])
}

// decodeFrameHeader parses a header. It checks what can be checked without
// the body; the CRC is checked by verifyFrame.
func decodeFrameHeader(b []byte) (frameHeader, error) {
	if len(b) < frameHeaderSize {
		return frameHeader{}, fmt.Errorf("%w: short header", errBadFrame)
	}
	if binary.BigEndian.Uint32(b) != frameMagic {
		return frameHeader{}, fmt.Errorf("%w: bad magic", errBadFrame)
	}
	h := frameHeader{
		bodyLen:  binary.BigEndian.Uint32(b[4:]),
		crc:      binary.BigEndian.Uint32(b[8:]),
		firstPos: binary.BigEndian.Uint64(b[12:]),
		arrival:  int64(binary.BigEndian.Uint64(b[20:])),
		count:    binary.BigEndian.Uint32(b[28:]),
	}
	switch {
	case h.bodyLen > maxFrameBody:
		return frameHeader{}, fmt.Errorf("%w: body of %d bytes", errBadFrame, h.bodyLen)
	case h.count == 0 || h.firstPos == 0 || h.firstPos+uint64(h.count) < h.firstPos:
		return frameHeader{}, fmt.Errorf("%w: bad positions", errBadFrame)
	case uint64(h.count)*3 > uint64(h.bodyLen):
		// Every record takes at least three length bytes.
		return frameHeader{}, fmt.Errorf("%w: %d records in %d bytes", errBadFrame, h.count, h.bodyLen)
	}
	return h, nil
}

// decodeFrame checks and decodes a whole frame, calling fn for every record
// at or after position from until fn returns false. Data slices alias frame.
//
// The records' keys are strings, and a page of GetRecords is thousands of
// records: rather than a string each, the keys of the frame are copied
// into one string (sized by a first walk over the lengths), each record's
// key a substring of it.
func decodeFrame(frame []byte, from uint64, fn func(storage.StoredRecord) bool) (frameHeader, error) {
	h, err := decodeFrameHeader(frame)
	if err != nil {
		return h, err
	}
	if int64(len(frame)) != h.size() {
		return h, fmt.Errorf("%w: frame is %d bytes, header says %d", errBadFrame, len(frame), h.size())
	}
	if !verifyFrame(frame) {
		return h, fmt.Errorf("%w: checksum mismatch", errBadFrame)
	}
	body := frame[frameHeaderSize:]
	keyBytes := 0
	if err := walkFrame(h, body, func(pos uint64, key, _ []byte) bool {
		if pos >= from {
			keyBytes += len(key)
		}
		return true
	}); err != nil {
		return h, err
	}
	// Grown once to its final size, keys never moves; a string taken of
	// it keeps its bytes, which a Builder never changes once written.
	var keys strings.Builder
	keys.Grow(keyBytes)
	err = walkFrame(h, body, func(pos uint64, key, data []byte) bool {
		if pos < from {
			return true
		}
		keys.Write(key)
		all := keys.String()
		return fn(storage.StoredRecord{
			Record:      storage.Record{Key: all[len(all)-len(key):], Data: data},
			Position:    pos,
			ArrivalTime: h.arrival,
		})
	})
	return h, err
}

// walkFrame walks the records of a frame's body whose header is h,
// calling fn with each one's position, key and data (capped slices of
// body) until fn returns false; it checks the lengths as it goes, and that
// nothing trails the last record.
func walkFrame(h frameHeader, body []byte, fn func(pos uint64, key, data []byte) bool) error {
	for i := uint32(0); i < h.count; i++ {
		var lens [3]uint64 // key, spare, data
		for j := range lens {
			v, n := binary.Uvarint(body)
			if n <= 0 || v > uint64(len(body)) {
				return fmt.Errorf("%w: record %d: bad length", errBadFrame, i)
			}
			lens[j] = v
			body = body[n:]
		}
		total := lens[0] + lens[1] + lens[2]
		if total > uint64(len(body)) {
			return fmt.Errorf("%w: record %d overruns the frame", errBadFrame, i)
		}
		if !fn(h.firstPos+uint64(i), body[:lens[0]], body[lens[0]+lens[1]:total:total]) {
			return nil
		}
		body = body[total:]
	}
	if len(body) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errBadFrame, len(body))
	}
	return nil
}
