package stream

import (
	"errors"
	"math/bits"
)

// A sequence number is the decimal form of
//
//	1<<184 | tag<<152 | shard<<64 | position
//
// (docs/architecture.md). As three 64-bit words, most significant first:
//
//	w2 = 1<<56 | tag<<24   (the marker bit and the 32-bit stream tag)
//	w1 = shard             (an 88-bit field of which we use 32 bits)
//	w0 = position          (the storage engine's position in the shard log)
//
// The marker bit makes every number 56 digits long, like AWS's. Numbers
// increase with the position within a shard, and a child shard (higher
// index) has higher numbers than its parents; the tag changes when a stream
// is re-created under the same name, so numbers from the old stream are
// recognised as foreign.
type seqNum struct {
	tag      uint32
	shard    uint32
	position uint64
}

const seqMarker = uint64(1) << 56

var errSeqNum = errors.New("not a sequence number of this service")

// String returns the decimal form.
func (s seqNum) String() string {
	return words192{seqMarker | uint64(s.tag)<<24, uint64(s.shard), s.position}.String()
}

// parseSeqNum parses a decimal sequence number in the layout above. It
// fails for numbers that do not have that layout, e.g. AWS's own or garbage.
func parseSeqNum(s string) (seqNum, error) {
	w, err := parseWords192(s)
	if err != nil {
		return seqNum{}, err
	}
	// w2 must be exactly the marker bit plus a tag in bits 24..55.
	if w[0]&^(uint64(0xffffffff)<<24) != seqMarker || w[1]>>32 != 0 {
		return seqNum{}, errSeqNum
	}
	return seqNum{tag: uint32(w[0] >> 24), shard: uint32(w[1]), position: w[2]}, nil
}

// words192 is an unsigned 192-bit integer, most significant word first.
type words192 [3]uint64

func (w words192) isZero() bool { return w[0]|w[1]|w[2] == 0 }

func (w words192) String() string {
	if w.isZero() {
		return "0"
	}
	const chunk = 1e19
	var buf [58]byte // 2^192 has 58 digits
	pos := len(buf)
	for !w.isZero() {
		var r uint64
		w[0], r = bits.Div64(0, w[0], chunk)
		w[1], r = bits.Div64(r, w[1], chunk)
		w[2], r = bits.Div64(r, w[2], chunk)
		for j := 0; j < 19; j++ {
			if w.isZero() && r == 0 {
				break
			}
			pos--
			buf[pos] = byte('0' + r%10)
			r /= 10
		}
	}
	return string(buf[pos:])
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
