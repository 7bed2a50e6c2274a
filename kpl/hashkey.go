package kpl

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"math/big"
)

// HashKey is a point of Kinesis's hash key space, [0, 2^128): the MD5 of a
// partition key read as a big-endian unsigned integer, or an explicit hash
// key. Kinesis routes a record to the open shard whose range holds it.
type HashKey struct{ Hi, Lo uint64 }

// HashKeyOf is the hash key Kinesis gives a record with partition key pk
// and no explicit hash key.
func HashKeyOf(pk string) HashKey {
	sum := md5.Sum([]byte(pk))
	return HashKey{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

var errHashKey = errors.New("not a hash key: want a decimal integer from 0 to 2^128-1")

// ParseHashKey reads a decimal hash key, as ExplicitHashKey and the
// shards' HashKeyRange carry them.
func ParseHashKey(s string) (HashKey, error) {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 || n.BitLen() > 128 || s == "" || s[0] == '+' {
		return HashKey{}, errHashKey
	}
	var b [16]byte
	n.FillBytes(b[:])
	return HashKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, nil
}

// String is the decimal form, as ExplicitHashKey takes it.
func (k HashKey) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.Hi)
	binary.BigEndian.PutUint64(b[8:], k.Lo)
	return new(big.Int).SetBytes(b[:]).String()
}

// MaxHashKey is the largest hash key, 2^128-1.
var MaxHashKey = HashKey{^uint64(0), ^uint64(0)}

// Next is k+1 (wrapping at MaxHashKey).
func (k HashKey) Next() HashKey {
	k.Lo++
	if k.Lo == 0 {
		k.Hi++
	}
	return k
}

// HashKey is the hash key Kinesis routes r by: its explicit hash key if it
// has one, otherwise the MD5 of its partition key. KCL drops an aggregate
// one of whose records has a hash key outside the shard it was read from.
func (r *Record) HashKey() (HashKey, error) {
	if r.ExplicitHashKey != "" {
		return ParseHashKey(r.ExplicitHashKey)
	}
	return HashKeyOf(r.PartitionKey), nil
}

// Cmp compares k and o: -1, 0 or +1.
func (k HashKey) Cmp(o HashKey) int {
	switch {
	case k.Hi < o.Hi, k.Hi == o.Hi && k.Lo < o.Lo:
		return -1
	case k == o:
		return 0
	}
	return 1
}
