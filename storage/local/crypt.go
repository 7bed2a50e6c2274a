package local

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/tributary-io/tributary/internal/datakey"
	"github.com/tributary-io/tributary/storage"
)

// Encryption at rest. A log with an encryption key (logState.EncryptionKey,
// set by SetEncryption) writes encrypted frames:
//
//	header   32 bytes, as a plain frame's but with magic "TRBE"; in the
//	         clear (positions, arrival time, record count, sizes), so that
//	         recovery, scans and the index need no key
//	body     1    format version, 1
//	         2    length W of the wrapped data key
//	         W    the data key, wrapped by the KeyProvider (it names its
//	              key and key version)
//	         12   nonce
//	         ...  the plain body (records as in a plain frame) sealed with
//	              AES-256-GCM under the data key, the 16-byte tag last;
//	              additional data: the magic and the record count
//
// The CRC covers the encrypted body as it covers a plain one, so torn and
// damaged frames are found without a key, and the journal holds the same
// encrypted frame: no record is written in the clear anywhere.
//
// Data keys. A log holds one data key at a time (dataKey), made by
// GenerateDataKey when the first encrypted frame needs one, and dropped
// (the next frame makes a new one) when the log starts a new segment,
// when its key changes, and with the process: a data key is never stored
// unwrapped, so one never outlives the process that made it. Each frame
// carries its data key wrapped, about 90 bytes, so that every frame can
// be decrypted by itself wherever it is (segment, journal, a segment
// rebuilt from the journal after a crash) with no side file to keep in
// step.
//
// Nonces never repeat under one data key: a nonce is 4 zero bytes and a
// 64-bit counter taken from the data key by an atomic increment, once per
// frame; the data key is fresh random material from GenerateDataKey and
// the counter starts at zero only with it. Since the key is never reused
// (not after a restart, not by another log), (key, nonce) is unique.
const sealedVersion = 1

// dataKey is a log's current data key.
type dataKey = datakey.Key

// sealedBodySize is the body length of an encrypted frame for batch.
func sealedBodySize(batch []storage.Record, dk *dataKey) int {
	return 1 + 2 + len(dk.Wrapped) + datakey.NonceSize + encodedBodySize(batch) + datakey.TagSize
}

// appendUnfinishedSealedFrame is appendUnfinishedFrame for an encrypted
// frame under dk.
func appendUnfinishedSealedFrame(dst []byte, batch []storage.Record, dk *dataKey) []byte {
	start := len(dst)
	dst = appendFrameHeader(dst, sealedMagic, sealedBodySize(batch, dk), len(batch))
	dst = append(dst, sealedVersion)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(dk.Wrapped)))
	dst = append(dst, dk.Wrapped...)
	dst = dk.AppendNonce(dst)
	nonce := dst[len(dst)-datakey.NonceSize:]
	// Encode the records where their ciphertext goes and seal them in
	// place (GCM allows exactly overlapping input and output).
	plainAt := len(dst)
	dst = appendRecords(dst, batch)
	frame := dst[start:]
	aad := sealedAAD(frame)
	dst = dk.Seal(dst[:plainAt], nonce, dst[plainAt:], aad[:])
	frame = dst[start:]
	binary.BigEndian.PutUint32(frame[8:], crc32.Checksum(frame[frameHeaderSize:], castagnoli))
	return dst
}

// sealedAAD is the additional data of a frame's ciphertext: the magic
// and the record count, which are known before the frame's position is.
func sealedAAD(frame []byte) [8]byte {
	var a [8]byte
	copy(a[:4], frame[0:4])
	copy(a[4:], frame[28:32])
	return a
}

// openFrame decrypts the body of an encrypted frame whose CRC has been
// checked, returning the plain body. Its errors wrap storage.ErrDecrypt
// and, when the KeyProvider failed, the provider's error.
func (e *Engine) openFrame(ctx context.Context, frame []byte) ([]byte, error) {
	body := frame[frameHeaderSize:]
	if len(body) < 3 || body[0] != sealedVersion {
		return nil, fmt.Errorf("%w: encrypted frame of an unknown format", storage.ErrDecrypt)
	}
	w := int(binary.BigEndian.Uint16(body[1:]))
	if len(body) < 3+w+datakey.NonceSize+datakey.TagSize {
		return nil, fmt.Errorf("%w: encrypted frame too short", storage.ErrDecrypt)
	}
	wrapped := body[3 : 3+w]
	nonce := body[3+w : 3+w+datakey.NonceSize]
	ct := body[3+w+datakey.NonceSize:]
	aad := sealedAAD(frame)
	return datakey.Open(ctx, e.opts.Keys, wrapped, nonce, ct, aad[:])
}
