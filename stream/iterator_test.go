package stream

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	testScope = Scope{Account: "000000000000", Region: "us-east-1"}
)

func TestIteratorRoundTrip(t *testing.T) {
	issued := time.Date(2015, 1, 22, 1, 22, 2, 0, time.UTC)
	tests := []iterator{
		{issued: issued, tag: 1, shard: 0, start: storage.Oldest(), stream: "s"},
		{issued: issued, tag: 0xffffffff, shard: 2147483647, start: storage.At(1 << 40), stream: strings.Repeat("x", 128)},
		{issued: issued, tag: 7, shard: 3, start: storage.AtTime(issued.UnixMilli() - 1000), stream: "my.stream-1_a"},
	}
	for _, it := range tests {
		text := encodeIterator(testKey, testScope, it)
		if len(text) > 512 {
			t.Errorf("iterator of %d characters, AWS allows 512", len(text))
		}
		got, err := decodeIterator(testKey, testScope, text, issued.Add(defaultIteratorLifetime), defaultIteratorLifetime)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !got.issued.Equal(it.issued) || got.tag != it.tag || got.shard != it.shard || got.start != it.start || got.stream != it.stream {
			t.Errorf("decoded %+v, want %+v", got, it)
		}
	}
}

func TestIteratorRejected(t *testing.T) {
	issued := time.Date(2015, 1, 22, 1, 22, 2, 0, time.UTC)
	it := iterator{issued: issued, tag: 9, shard: 1, start: storage.At(42), stream: "stream"}
	good := encodeIterator(testKey, testScope, it)
	raw, _ := base64.StdEncoding.DecodeString(good)

	var cases []string
	// Every single-bit change anywhere is caught.
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		cases = append(cases, base64.StdEncoding.EncodeToString(b))
	}
	cases = append(cases,
		"",
		"garbage",
		"!!!!",
		base64.StdEncoding.EncodeToString(raw[:len(raw)-1]),
		base64.StdEncoding.EncodeToString(append(append([]byte(nil), raw...), 0)),
		encodeIterator([]byte("another key"), testScope, it),
		encodeIterator(testKey, Scope{Account: "111111111111", Region: "us-east-1"}, it),
		encodeIterator(testKey, Scope{Account: "000000000000", Region: "eu-west-1"}, it),
		encodeIterator(testKey, testScope, iterator{issued: issued, start: storage.Latest(), stream: "s"}),
	)
	for _, text := range cases {
		_, err := decodeIterator(testKey, testScope, text, issued, defaultIteratorLifetime)
		e, ok := err.(*Error)
		if !ok || e.Code != CodeInvalidArgument || e.Message != "Invalid ShardIterator." {
			t.Errorf("decode(%q) = %v, want InvalidArgumentException: Invalid ShardIterator.", text, err)
		}
	}
}

func TestIteratorExpiry(t *testing.T) {
	issued := time.Date(2015, 1, 22, 1, 22, 2, 0, time.UTC)
	text := encodeIterator(testKey, testScope, iterator{issued: issued, start: storage.Oldest(), stream: "s"})
	if _, err := decodeIterator(testKey, testScope, text, issued.Add(5*time.Minute), defaultIteratorLifetime); err != nil {
		t.Errorf("at exactly five minutes: %v, want valid", err)
	}
	_, err := decodeIterator(testKey, testScope, text, issued.Add(5*time.Minute+time.Millisecond), defaultIteratorLifetime)
	want := &Error{
		Code:    CodeExpiredIterator,
		Message: "Iterator expired. The iterator was created at time Thu Jan 22 01:22:02 UTC 2015 while right now it is Thu Jan 22 01:27:02 UTC 2015 which is further in the future than the tolerated delay of 300000 milliseconds.",
	}
	if e, ok := err.(*Error); !ok || *e != *want {
		t.Errorf("expired: got %v, want %v", err, want)
	}
}

// TestIteratorShape checks the two things AWS's iterators are known to
// have (kinesalite's tests, against the live service): the first eight
// bytes 0x0000000000000001, and a length of 152 plus 16 per full 16 bytes
// of the stream name's length plus two.
func TestIteratorShape(t *testing.T) {
	issued := time.Date(2015, 1, 22, 1, 22, 2, 0, time.UTC)
	for n := 1; n <= 128; n++ {
		text := encodeIterator(testKey, testScope, iterator{issued: issued, tag: 3, shard: 4, start: storage.At(5), stream: strings.Repeat("s", n)})
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			t.Fatal(err)
		}
		if want := 152 + (n+2)/16*16; len(raw) != want {
			t.Errorf("name of %d bytes: iterator of %d bytes, want %d", n, len(raw), want)
		}
		if string(raw[:8]) != "\x00\x00\x00\x00\x00\x00\x00\x01" {
			t.Errorf("name of %d bytes: iterator starts % x", n, raw[:8])
		}
		if len(text) > 512 {
			t.Errorf("name of %d bytes: %d characters, AWS allows 512", n, len(text))
		}
	}
}

// TestIteratorV1StillRead decodes an iterator of the layout before this
// one, as a client holds across an upgrade.
func TestIteratorV1StillRead(t *testing.T) {
	issued := time.Date(2015, 1, 22, 1, 22, 2, 0, time.UTC)
	// Version 1: version, issued, tag, shard, kind, value, namelen, name, MAC.
	b := []byte{iteratorV1}
	b = binary.BigEndian.AppendUint64(b, uint64(issued.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, 9)
	b = binary.BigEndian.AppendUint32(b, 2)
	b = append(b, byte(storage.FromPosition))
	b = binary.BigEndian.AppendUint64(b, 77)
	b = append(b, byte(len("stream")))
	b = append(b, "stream"...)
	b = append(b, scopedMAC(testKey, testScope, b, iteratorMACLen)...)
	got, err := decodeIterator(testKey, testScope, base64.StdEncoding.EncodeToString(b), issued, defaultIteratorLifetime)
	if err != nil {
		t.Fatal(err)
	}
	want := iterator{issued: issued, tag: 9, shard: 2, start: storage.At(77), stream: "stream"}
	if !got.issued.Equal(want.issued) || got.tag != want.tag || got.shard != want.shard || got.start != want.start || got.stream != want.stream {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
	b[len(b)-1] ^= 1
	if _, err := decodeIterator(testKey, testScope, base64.StdEncoding.EncodeToString(b), issued, defaultIteratorLifetime); err == nil {
		t.Error("a version 1 iterator with a wrong MAC was accepted")
	}
}
