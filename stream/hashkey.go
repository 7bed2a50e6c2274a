package stream

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"math/bits"
)

// uint128 is a hash key: an unsigned 128-bit integer. Two words keep the
// routing of every record free of allocations.
type uint128 struct {
	hi, lo uint64
}

// maxHashKey is 2^128-1, the last hash key.
var maxHashKey = uint128{hi: ^uint64(0), lo: ^uint64(0)}

func (a uint128) cmp(b uint128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a uint128) isZero() bool { return a.hi == 0 && a.lo == 0 }

// add1 returns a+1, wrapping at 2^128.
func (a uint128) add1() uint128 {
	lo, carry := bits.Add64(a.lo, 1, 0)
	return uint128{hi: a.hi + carry, lo: lo}
}

// sub1 returns a-1, wrapping at 0.
func (a uint128) sub1() uint128 {
	lo, borrow := bits.Sub64(a.lo, 1, 0)
	return uint128{hi: a.hi - borrow, lo: lo}
}

// partitionHash is how Kinesis maps a partition key to a hash key: the MD5
// of its UTF-8 bytes read as a big-endian unsigned integer.
func partitionHash(key string) uint128 {
	sum := md5.Sum([]byte(key))
	return uint128{hi: binary.BigEndian.Uint64(sum[:8]), lo: binary.BigEndian.Uint64(sum[8:])}
}

// splitPoint returns floor(2^128 * i / n), the first hash key of shard i
// when the hash space is divided among n shards as AWS divides it. It
// requires 0 <= i < n.
func splitPoint(i, n uint64) uint128 {
	// 2^128*i is the three-word number (i, 0, 0); dividing it word by word,
	// the top quotient word is i/n = 0 and the remainder carried down is i.
	hi, rem := bits.Div64(i, 0, n)
	lo, _ := bits.Div64(rem, 0, n)
	return uint128{hi: hi, lo: lo}
}

// splitHashSpace returns the inclusive ranges of n shards covering the
// whole hash space: shard i starts at floor(2^128*i/n) and ends one before
// the next start; the last ends at 2^128-1.
func splitHashSpace(n int) [][2]uint128 {
	ranges := make([][2]uint128, n)
	for i := range n {
		ranges[i][0] = splitPoint(uint64(i), uint64(n))
		if i > 0 {
			ranges[i-1][1] = ranges[i][0].sub1()
		}
	}
	ranges[n-1][1] = maxHashKey
	return ranges
}

var errHashKey = errors.New("not a hash key")

// parseHashKey parses a decimal hash key. It accepts up to 39 digits
// (leading zeros included, as the wire pattern 0|([1-9]\d{0,38}) is the
// wire layer's business) and fails when the value is 2^128 or more.
func parseHashKey(s string) (uint128, error) {
	if s == "" || len(s) > 39 {
		return uint128{}, errHashKey
	}
	var v uint128
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return uint128{}, errHashKey
		}
		// v = v*10 + digit, failing on overflow of 128 bits.
		hiHi, hiLo := bits.Mul64(v.hi, 10)
		loHi, loLo := bits.Mul64(v.lo, 10)
		if hiHi != 0 {
			return uint128{}, errHashKey
		}
		hi, carry := bits.Add64(hiLo, loHi, 0)
		if carry != 0 {
			return uint128{}, errHashKey
		}
		lo, carry := bits.Add64(loLo, uint64(c-'0'), 0)
		hi, carry = bits.Add64(hi, 0, carry)
		if carry != 0 {
			return uint128{}, errHashKey
		}
		v = uint128{hi: hi, lo: lo}
	}
	return v, nil
}

// String returns the decimal form.
func (a uint128) String() string {
	if a.isZero() {
		return "0"
	}
	// Peel off 19 decimal digits at a time: 10^19 is the largest power of
	// ten in a uint64.
	const chunk = 1e19
	var buf [39]byte
	pos := len(buf)
	for !a.isZero() {
		var r uint64
		a.hi, r = bits.Div64(0, a.hi, chunk)
		a.lo, r = bits.Div64(r, a.lo, chunk)
		for j := 0; j < 19; j++ {
			if a.isZero() && r == 0 {
				break
			}
			pos--
			buf[pos] = byte('0' + r%10)
			r /= 10
		}
	}
	return string(buf[pos:])
}

// MarshalText and UnmarshalText store hash keys in the catalogue in decimal,
// the form people read in DescribeStream.
func (a uint128) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *uint128) UnmarshalText(b []byte) error {
	v, err := parseHashKey(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
