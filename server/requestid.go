package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// newRequestID returns a random (version 4) UUID in its canonical form, the
// shape of the x-amzn-RequestId that Kinesis returns.
func newRequestID() string {
	var b [16]byte
	// Since Go 1.24 crypto/rand.Read never returns an error: it crashes the
	// program if the system's randomness source fails.
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant

	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// newExtendedRequestID returns a value for x-amz-id-2, which Kinesis sends
// on every response as the base64 of 72 opaque bytes. SDKs surface it as
// the "extended request id"; nothing interprets its content.
func newExtendedRequestID() string {
	var b [72]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
