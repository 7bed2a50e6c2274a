package jetstream

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/storage"
)

// The body of every message on a log's subject starts with one kind byte.
// The kind is in the body rather than in a header so that nothing the
// server adds or strips can change what a message means.
const (
	// kindBatch: one Append's records, or several appends' (groupcommit.go).
	//
	//	kind(1) arrival(8, big-endian int64 Unix ms) flags(1) count(uvarint)
	//	count × { keyLen(uvarint) key dataLen(uvarint) data }
	//
	// With flagEncrypted, what follows the count is sealed (crypt.go).
	kindBatch byte = 1
	// kindSeal: the fence Seal writes.
	//
	//	kind(1) sealedAt(8) lastArrival(8)
	kindSeal byte = 2
	// kindTombstone: the fence DeleteLog writes; the log's other messages
	// are purged, this one stays so that a stale handle's append fails.
	//
	//	kind(1) lastPosition(8) lastArrival(8)
	kindTombstone byte = 3
)

// flagEncrypted marks a batch appended while the log had an encryption
// key: its records are sealed (crypt.go).
const flagEncrypted byte = 1

// posShift splits a position into the JetStream sequence of the message
// that holds the record (high bits) and the record's index in that
// message's batch (low bits). One message per batch makes a batch atomic
// and contiguous for free and costs one fsync, where one message per
// record would cost one fsync each (the filestore opens its blocks
// O_SYNC under sync_interval: always).
//
// Invariant: positions stay below 2^63 (the stream layer's bound) while
// sequences stay below 2^47, 1.4e14 batches.
const posShift = 16

// maxBatch is the most records one Append may carry: the index must fit
// below posShift. Kinesis batches are at most 500.
const maxBatch = 1 << posShift

func position(seq uint64, index int) uint64 { return seq<<posShift | uint64(index) }

func seqOf(pos uint64) uint64 { return pos >> posShift }

// batchMsg is a decoded kindBatch message. Records' Data alias the
// message's body, which the engine never reuses. An encrypted batch's
// records are nil until opened (Engine.openBatch); sealed holds them.
type batchMsg struct {
	arrival   int64
	encrypted bool
	count     int
	records   []storage.Record
	sealed    []byte // what follows the count, sealed (crypt.go)
	aad       []byte // the flags and the count, the sealed part's additional data
}

// markerMsg is a decoded kindSeal or kindTombstone message.
type markerMsg struct {
	kind        byte
	lastPos     uint64
	lastArrival int64
}

// batchSize bounds the length of encodeBatch's body for batch, so that a
// batch too large for one message is refused before it is copied.
func batchSize(batch []storage.Record) int {
	size := 1 + 8 + 1 + binary.MaxVarintLen64
	for i := range batch {
		size += 2*binary.MaxVarintLen64 + len(batch[i].Key) + len(batch[i].Data)
	}
	return size
}

// encodeBatch returns the body of the message for batch.
func encodeBatch(arrival int64, flags byte, batch []storage.Record) []byte {
	b := make([]byte, 0, batchSize(batch))
	b = append(b, kindBatch)
	b = binary.BigEndian.AppendUint64(b, uint64(arrival))
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(batch)))
	for i := range batch {
		b = binary.AppendUvarint(b, uint64(len(batch[i].Key)))
		b = append(b, batch[i].Key...)
		b = binary.AppendUvarint(b, uint64(len(batch[i].Data)))
		b = append(b, batch[i].Data...)
	}
	return b
}

// batchHeader is the length of a kindBatch body before its record count.
const batchHeader = 1 + 8 + 1

// joinBatches returns the body of one message holding the records of
// bodies, each encodeBatch's with the same flags, in order: one header, the
// sum of their counts, then their records' encodings one after another.
// The arrival time is the first body's, for the caller to set. It is never
// longer than the bodies together.
func joinBatches(bodies [][]byte) []byte {
	var count uint64
	size := batchHeader + binary.MaxVarintLen64
	records := make([][]byte, len(bodies))
	for i, b := range bodies {
		n, k := binary.Uvarint(b[batchHeader:])
		count += n
		records[i] = b[batchHeader+k:]
		size += len(records[i])
	}
	body := make([]byte, 0, size)
	body = append(body, bodies[0][:batchHeader]...)
	body = binary.AppendUvarint(body, count)
	for _, r := range records {
		body = append(body, r...)
	}
	return body
}

func encodeMarker(kind byte, lastPos uint64, lastArrival int64) []byte {
	b := make([]byte, 0, 17)
	b = append(b, kind)
	b = binary.BigEndian.AppendUint64(b, lastPos)
	return binary.BigEndian.AppendUint64(b, uint64(lastArrival))
}

// errShort is what a truncated body decodes to; wrapped in ErrCorrupt.
var errShort = errors.New("body ends early")

// decoded is one message of a log's subject, of whichever kind.
type decoded struct {
	seq    uint64
	batch  *batchMsg  // kindBatch
	marker *markerMsg // kindSeal, kindTombstone
}

// decode parses the body of the message at seq on subject. A body that does
// not parse is corruption, named by subject and sequence.
func decode(subject string, seq uint64, body []byte) (decoded, error) {
	d := decoded{seq: seq}
	fail := func(err error) (decoded, error) {
		return decoded{}, fmt.Errorf("%w: message %d of %s: %v", storage.ErrCorrupt, seq, subject, err)
	}
	if len(body) == 0 {
		return fail(errShort)
	}
	switch body[0] {
	case kindBatch:
		if len(body) < 10 {
			return fail(errShort)
		}
		m := &batchMsg{
			arrival:   int64(binary.BigEndian.Uint64(body[1:])),
			encrypted: body[9]&flagEncrypted != 0,
		}
		rest := body[10:]
		n, k := binary.Uvarint(rest)
		if k <= 0 || n == 0 || n > maxBatch {
			return fail(fmt.Errorf("bad record count %d", n))
		}
		m.count = int(n)
		rest = rest[k:]
		if m.encrypted {
			m.sealed, m.aad = rest, body[batchHeader-1:batchHeader+k] // opened when read
		} else {
			records, err := parseRecords(rest, m.count)
			if err != nil {
				return fail(err)
			}
			m.records = records
		}
		d.batch = m
	case kindSeal, kindTombstone:
		if len(body) != 17 {
			return fail(fmt.Errorf("marker of %d bytes, want 17", len(body)))
		}
		d.marker = &markerMsg{
			kind:        body[0],
			lastPos:     binary.BigEndian.Uint64(body[1:]),
			lastArrival: int64(binary.BigEndian.Uint64(body[9:])),
		}
	default:
		return fail(fmt.Errorf("unknown kind %d", body[0]))
	}
	return d, nil
}

// parseRecords parses the n records of a batch, which must fill b.
func parseRecords(b []byte, n int) ([]storage.Record, error) {
	records := make([]storage.Record, n)
	for i := range records {
		var key, data []byte
		var err error
		if key, b, err = chunk(b); err != nil {
			return nil, fmt.Errorf("record %d key: %w", i, err)
		}
		if data, b, err = chunk(b); err != nil {
			return nil, fmt.Errorf("record %d data: %w", i, err)
		}
		records[i] = storage.Record{Key: string(key), Data: data}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last record", len(b))
	}
	return records, nil
}

// chunk splits a uvarint-prefixed byte string off b.
func chunk(b []byte) (c, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errShort
	}
	return b[k : k+int(n) : k+int(n)], b[k+int(n):], nil
}

// hdrTail is the header every message carries with its tailMark, so that
// the stream's headers-only republication of a stored message tells every
// node how the tail moved without its body.
const hdrTail = "Trib-Tail"

// tailMark is what a message tells of its log's tail: its kind; n, the
// record count of a batch or the last position a marker records; and the
// arrival time of its last record.
type tailMark struct {
	kind    byte
	n       uint64
	arrival int64
}

func (m tailMark) String() string { return fmt.Sprintf("%d %d %d", m.kind, m.n, m.arrival) }

func parseTailMark(s string) (tailMark, error) {
	var m tailMark
	if _, err := fmt.Sscanf(s, "%d %d %d", &m.kind, &m.n, &m.arrival); err != nil {
		return tailMark{}, fmt.Errorf("%w: %s header %q: %v", storage.ErrCorrupt, hdrTail, s, err)
	}
	if m.kind < kindBatch || m.kind > kindTombstone || m.kind == kindBatch && (m.n == 0 || m.n > maxBatch) {
		return tailMark{}, fmt.Errorf("%w: %s header %q", storage.ErrCorrupt, hdrTail, s)
	}
	return m, nil
}

// markOf is the tailMark of a decoded message.
func markOf(d decoded) tailMark {
	if d.batch != nil {
		return tailMark{kindBatch, uint64(d.batch.count), d.batch.arrival}
	}
	return tailMark{d.marker.kind, d.marker.lastPos, d.marker.lastArrival}
}
