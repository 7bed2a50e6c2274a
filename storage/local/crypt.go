package local

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync/atomic"

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
const (
	sealedVersion  = 1
	nonceSize      = 12
	gcmTagSize     = 16
	maxWrappedSize = 1 << 10
)

// dataKey is a log's current data key.
type dataKey struct {
	keyID   string // the KeyProvider's key it is wrapped by
	wrapped []byte
	aead    cipher.AEAD
	nonces  atomic.Uint64 // the last nonce counter used
}

func newDataKey(ctx context.Context, keys storage.KeyProvider, keyID string) (*dataKey, error) {
	if keys == nil {
		return nil, storage.ErrNoKeys
	}
	plain, wrapped, err := keys.GenerateDataKey(ctx, keyID)
	if err != nil {
		return nil, fmt.Errorf("generate a data key under %s: %w", keyID, err)
	}
	if len(wrapped) == 0 || len(wrapped) > maxWrappedSize {
		return nil, fmt.Errorf("generate a data key under %s: wrapped key of %d bytes", keyID, len(wrapped))
	}
	aead, err := newGCM(plain)
	if err != nil {
		return nil, err
	}
	return &dataKey{keyID: keyID, wrapped: wrapped, aead: aead}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("data key of %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealedBodySize is the body length of an encrypted frame for batch.
func sealedBodySize(batch []storage.Record, dk *dataKey) int {
	return 1 + 2 + len(dk.wrapped) + nonceSize + encodedBodySize(batch) + gcmTagSize
}

// appendUnfinishedSealedFrame is appendUnfinishedFrame for an encrypted
// frame under dk.
func appendUnfinishedSealedFrame(dst []byte, batch []storage.Record, dk *dataKey) []byte {
	start := len(dst)
	dst = appendFrameHeader(dst, sealedMagic, sealedBodySize(batch, dk), len(batch))
	dst = append(dst, sealedVersion)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(dk.wrapped)))
	dst = append(dst, dk.wrapped...)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, dk.nonces.Add(1))
	nonce := dst[len(dst)-nonceSize:]
	// Encode the records where their ciphertext goes and seal them in
	// place (GCM allows exactly overlapping input and output).
	plainAt := len(dst)
	dst = appendRecords(dst, batch)
	frame := dst[start:]
	aad := sealedAAD(frame)
	dst = dk.aead.Seal(dst[:plainAt], nonce, dst[plainAt:], aad[:])
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
	if len(body) < 3+w+nonceSize+gcmTagSize {
		return nil, fmt.Errorf("%w: encrypted frame too short", storage.ErrDecrypt)
	}
	wrapped := body[3 : 3+w]
	nonce := body[3+w : 3+w+nonceSize]
	ct := body[3+w+nonceSize:]
	if e.opts.Keys == nil {
		return nil, fmt.Errorf("%w: an encrypted frame: %w", storage.ErrDecrypt, storage.ErrNoKeys)
	}
	plainKey, err := e.opts.Keys.Decrypt(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("%w: unwrap the data key: %w", storage.ErrDecrypt, err)
	}
	aead, err := newGCM(plainKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", storage.ErrDecrypt, err)
	}
	aad := sealedAAD(frame)
	plain, err := aead.Open(make([]byte, 0, len(ct)-gcmTagSize), nonce, ct, aad[:])
	if err != nil {
		return nil, fmt.Errorf("%w: records do not authenticate under their data key", storage.ErrDecrypt)
	}
	return plain, nil
}
