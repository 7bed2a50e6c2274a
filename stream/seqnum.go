package stream

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"unsafe"
)

// Sequence numbers have AWS's layout, so that tools which decode AWS's
// numbers (to read a record's arrival time or shard from its number)
// work on ours. A number is the decimal form of 188 bits, written here in
// hexadecimal digits, most significant first:
//
//	digits  bits  field
//	1       4     version, 2
//	9       36    the shard's epoch: its creation time in Unix seconds
//	1       4     the shard index's lowest hexadecimal digit
//	16      64    the sequence index: the storage engine's position in the
//	              shard's log (AWS reads it as a signed number, so below 2^63)
//	2       8     a byte AWS does not document; here the low byte of the
//	              stream's tag
//	9       36    the record's arrival time in Unix seconds
//	8       32    the shard index (signed, as AWS reads it)
//	1       4     2 again
//
// The layout, and AWS's answers to numbers that do not fit it, are known
// from numbers captured off the live service (kinesalite's sources and
// tests document them); AWS also accepted two older layouts, versions 0
// and 1, which parseSeqNum reads so that it can answer them as AWS does.
//
// What the layout gives, and why:
//   - Within a shard numbers increase with the position, which is more
//     significant than the arrival time.
//   - A child shard's numbers are greater than its parents': the epoch is
//     the most significant field, and a shard's epoch is its creation
//     second or one more than the largest of its parents' epochs, whichever
//     is later (shardRecord.seqEpoch). So the epoch is the creation time
//     give or take the few seconds that splits in quick succession add.
//   - The shard and the position come back out of the number without a
//     lookup table.
//   - A number from another stream, or from an earlier stream of the same
//     name, is recognised: its epoch and tag byte must be those of the
//     shard it is used on. Only a stream re-created within the same second
//     as a deleted one has a chance (1 in 256) of taking the deleted one's
//     numbers as its own; the layout before this one (version "legacy"
//     below) kept 32 bits of tag for that, at the cost of looking nothing
//     like AWS's.
//
// Numbers of the layout before, 1<<184 | tag<<152 | shard<<64 | position,
// are still read, so that checkpoints a client stored before an upgrade
// (a KCL lease table) stay good.

// Versions of the layout.
const (
	seqV0     = 0
	seqV1     = 1
	seqV2     = 2
	seqLegacy = -1 // Tributary's layout before AWS's
)

// maxEpoch bounds the epoch AWS accepts: a number dated at or after
// 16025175000 (the year 2477) is "invalid".
const maxEpoch = 16025175000

// parsedSeq is what a sequence number says. Which fields mean anything
// depends on the version.
type parsedSeq struct {
	version  int
	epoch    int64  // V0, V1, V2
	shard    int64  // signed in V1 and V2, 16 bits in V0, 32 in legacy
	position uint64 // V2 and legacy; V1's 8-bit index
	tag      uint32 // V2: the tag byte; legacy: the whole tag
	arrival  int64  // V1 and V2, Unix seconds
}

// shardSeq holds what the numbers of one shard share.
type shardSeq struct {
	epoch int64
	tag   byte
	shard uint32
}

// number is the sequence number of the record at position that arrived at
// arrivalMillis. Positions are below 2^63 for every engine: a log would
// need 9.2e18 records to reach it.
func (s shardSeq) number(position uint64, arrivalMillis int64) string {
	return s.words(position, arrivalMillis).String()
}

// words is number before it is written in decimal.
func (s shardSeq) words(position uint64, arrivalMillis int64) words192 {
	var w words192
	w.put(184, 4, seqV2)
	w.put(148, 36, uint64(s.epoch))
	w.put(144, 4, uint64(s.shard&0xf))
	w.put(80, 64, position&^(1<<63))
	w.put(72, 8, uint64(s.tag))
	w.put(36, 36, uint64(max(arrivalMillis, 0)/1000))
	w.put(4, 32, uint64(s.shard))
	w.put(0, 4, seqV2)
	return w
}

// seqNumbers writes a batch of sequence numbers (a PutRecords answer, a
// page of records) into one string and hands out substrings of it: a
// fixed four allocations for the batch instead of one a number, on the
// paths that make hundreds of them per call. The substrings keep the
// batch's string alive, which is only ever the life of one answer.
type seqNumbers struct {
	buf  []byte
	ends []int
}

// seqNumbersPool keeps seqNumbers' buffers from batch to batch: strings
// copies what they hold, so they are scratch once it has run, and
// allocating them anew for every PutRecords and GetRecords made work for
// the garbage collector at the rate of the records.
var seqNumbersPool = sync.Pool{New: func() any { return new(seqNumbers) }}

// newSeqNumbers makes room for n numbers. Give it back with release once
// strings has run.
func newSeqNumbers(n int) *seqNumbers {
	b := seqNumbersPool.Get().(*seqNumbers)
	b.buf = slices.Grow(b.buf[:0], n*maxSeqDigits)
	b.ends = slices.Grow(b.ends[:0], n)
	return b
}

// release gives b back to the pool; b must not be used after.
func (b *seqNumbers) release() {
	if cap(b.buf) > 1<<20 {
		return // a rare huge batch: not worth keeping
	}
	seqNumbersPool.Put(b)
}

// maxSeqDigits is the length of the longest sequence number, 2^192 - 1.
const maxSeqDigits = 58

// add writes the number of s's record at position, arrived at
// arrivalMillis, as the next of the batch.
func (b *seqNumbers) add(s shardSeq, position uint64, arrivalMillis int64) {
	w := s.words(position, arrivalMillis)
	b.buf = w.appendDecimal(b.buf)
	b.ends = append(b.ends, len(b.buf))
}

// strings returns the numbers added, in order.
func (b *seqNumbers) strings() []string {
	text := string(b.buf)
	out := make([]string, len(b.ends))
	start := 0
	for i, end := range b.ends {
		out[i] = text[start:end]
		start = end
	}
	return out
}

// lend returns the text of the numbers added (b.ends says where each
// ends) without copying it: the text shares b's buffer, so it and every
// substring of it are valid only until b is released, and b may be added
// to no more. It is for a page of records that lives exactly as long as
// its answer is being encoded (GetRecordsOutput).
func (b *seqNumbers) lend() string {
	return unsafe.String(unsafe.SliceData(b.buf), len(b.buf))
}

// matches reports whether p is a number of the shard s describes.
func (s shardSeq) matches(p parsedSeq, legacyTag uint32) bool {
	switch p.version {
	case seqV2:
		return p.epoch == s.epoch && p.tag == uint32(s.tag)
	case seqLegacy:
		return p.tag == legacyTag
	}
	return false
}

var errSeqNum = errors.New("not a sequence number")

var (
	pow124     = words192{0, 1 << 60, 0} // 2^124
	pow128     = words192{1, 0, 0}       // 2^128
	pow184     = words192{1 << 56, 0, 0} // 2^184
	pow185     = words192{1 << 57, 0, 0} // 2^185
	pow185half = words192{3 << 56, 0, 0} // 1.5 * 2^185
)

// parseSeqNum reads a decimal sequence number of any layout AWS or this
// service has issued. It fails for what is no number of those layouts;
// the caller answers that as AWS does ("... is invalid.").
func parseSeqNum(s string) (parsedSeq, error) {
	w, err := parseWords192(s)
	if err != nil {
		return parsedSeq{}, err
	}
	// AWS reads a small number as if 2^124 were added to it, which makes
	// it a version 0 number: "5" encodes shard 5.
	if w.cmp(pow124) < 0 {
		w = w.add(pow124)
	}
	switch {
	case w.cmp(pow128) < 0:
		p := parsedSeq{
			version: seqV0,
			epoch:   int64(w.get(88, 36)),
			shard:   int64(w.get(0, 16)),
		}
		if p.epoch >= maxEpoch {
			return parsedSeq{}, errSeqNum
		}
		return p, nil
	case w.cmp(pow185) > 0 && w.cmp(pow185half) < 0:
		switch w.get(0, 4) {
		case seqV2:
			p := parsedSeq{
				version:  seqV2,
				epoch:    int64(w.get(148, 36)),
				position: w.get(80, 64),
				tag:      uint32(w.get(72, 8)),
				arrival:  int64(w.get(36, 36)),
				shard:    int64(int32(uint32(w.get(4, 32)))),
			}
			if p.position>>63 != 0 || p.epoch >= maxEpoch {
				return parsedSeq{}, errSeqNum
			}
			return p, nil
		case seqV1:
			p := parsedSeq{
				version:  seqV1,
				epoch:    int64(w.get(148, 36)),
				arrival:  int64(w.get(100, 36)),
				position: w.get(36, 8),
				shard:    int64(int32(uint32(w.get(4, 32)))),
			}
			if p.epoch >= maxEpoch {
				return parsedSeq{}, errSeqNum
			}
			return p, nil
		}
	case w.cmp(pow184) >= 0 && w.cmp(pow185) < 0:
		// The layout before: the marker bit, a 32-bit tag, a 32-bit shard
		// in an 88-bit field, the position.
		if w[0]&^(uint64(0xffffffff)<<24) == 1<<56 && w[1]>>32 == 0 {
			return parsedSeq{version: seqLegacy, tag: uint32(w[0] >> 24), shard: int64(uint32(w[1])), position: w[2]}, nil
		}
	}
	return parsedSeq{}, errSeqNum
}

// shardName is the shard id AWS prints for an index read from a number,
// negative ones included ("shardId--02147483648").
func shardName(index int64) string {
	if index < 0 {
		return fmt.Sprintf("shardId--%011d", -index)
	}
	return fmt.Sprintf("shardId-%012d", index)
}

// words192 is an unsigned 192-bit integer, most significant word first.
type words192 [3]uint64

func (w words192) isZero() bool { return w[0]|w[1]|w[2] == 0 }

// put stores the n low bits of v at bit offset off (0 is the least
// significant bit); 1 <= n <= 64, and a field may straddle two words.
func (w *words192) put(off, n uint, v uint64) {
	m := ^uint64(0) >> (64 - n)
	v &= m
	word, shift := 2-off/64, off%64
	w[word] = w[word]&^(m<<shift) | v<<shift
	if shift+n > 64 {
		hi := shift + n - 64
		w[word-1] = w[word-1]&^(^uint64(0)>>(64-hi)) | v>>(64-shift)
	}
}

// get reads n bits at bit offset off.
func (w words192) get(off, n uint) uint64 {
	m := ^uint64(0) >> (64 - n)
	word, shift := 2-off/64, off%64
	v := w[word] >> shift
	if shift+n > 64 {
		v |= w[word-1] << (64 - shift)
	}
	return v & m
}

func (w words192) cmp(o words192) int {
	for i := range w {
		switch {
		case w[i] < o[i]:
			return -1
		case w[i] > o[i]:
			return 1
		}
	}
	return 0
}

func (w words192) add(o words192) words192 {
	var c uint64
	w[2], c = bits.Add64(w[2], o[2], 0)
	w[1], c = bits.Add64(w[1], o[1], c)
	w[0], _ = bits.Add64(w[0], o[0], c)
	return w
}

func (w words192) String() string {
	var buf [maxSeqDigits]byte
	return string(w.appendDecimal(buf[:0]))
}

// appendDecimal appends w in decimal to dst.
func (w words192) appendDecimal(dst []byte) []byte {
	if w.isZero() {
		return append(dst, '0')
	}
	// Divide by 10^19 into chunks of 19 digits, least significant first
	// (2^192 has 58 digits, so at most four), then print the top chunk
	// as it is and the others zero-padded to 19 digits, two digits at a
	// time: every record of every PutRecords and GetRecords gets a number,
	// and a digit at a time was a tenth of a drain's server time.
	const chunk = 1e19
	var chunks [4]uint64
	n := 0
	for !w.isZero() {
		var r uint64
		w[0], r = bits.Div64(0, w[0], chunk)
		w[1], r = bits.Div64(r, w[1], chunk)
		w[2], r = bits.Div64(r, w[2], chunk)
		chunks[n] = r
		n++
	}
	dst = strconv.AppendUint(dst, chunks[n-1], 10)
	for i := n - 2; i >= 0; i-- {
		dst = append19Digits(dst, chunks[i])
	}
	return dst
}

// digitPairs holds "00" to "99", the two digits of each number below 100.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// append19Digits appends r (below 10^19) as exactly 19 digits, with
// leading zeros.
func append19Digits(dst []byte, r uint64) []byte {
	var b [19]byte
	for i := 17; i >= 1; i -= 2 {
		q := r / 100
		d := (r - q*100) * 2
		b[i], b[i+1] = digitPairs[d], digitPairs[d+1]
		r = q
	}
	b[0] = byte('0' + r)
	return append(dst, b[:]...)
}

// parseWords192 parses a decimal number below 2^192.
func parseWords192(s string) (words192, error) {
	if s == "" || len(s) > 58 {
		return words192{}, errSeqNum
	}
	var w words192
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return words192{}, errSeqNum
		}
		// w = w*10 + digit, from the least significant word up.
		carry := uint64(c - '0')
		for j := 2; j >= 0; j-- {
			hi, lo := bits.Mul64(w[j], 10)
			var c2 uint64
			lo, c2 = bits.Add64(lo, carry, 0)
			w[j] = lo
			carry = hi + c2
		}
		if carry != 0 {
			return words192{}, errSeqNum
		}
	}
	return w, nil
}

// shardSeq returns what the sequence numbers of shard index of r share.
func (r *streamRecord) shardSeq(index uint32) shardSeq {
	return shardSeq{epoch: r.seqEpoch(index, nil), tag: byte(r.Tag), shard: index}
}

// seqEpoch is the epoch of shard index's numbers: its creation second, or
// one more than the latest of its parents' epochs if that is later, so
// that a child's numbers are greater than its parents' even when it was
// made in the same second. It depends only on the catalogue, so it is the
// same on every call and after a restart. memo may be nil.
func (r *streamRecord) seqEpoch(index uint32, memo map[uint32]int64) int64 {
	if e, ok := memo[index]; ok {
		return e
	}
	sh := &r.Shards[index]
	epoch := sh.Created.Unix()
	for _, p := range sh.Parents {
		if memo == nil {
			memo = make(map[uint32]int64)
		}
		epoch = max(epoch, r.seqEpoch(p, memo)+1)
	}
	if memo != nil {
		memo[index] = epoch
	}
	return epoch
}
