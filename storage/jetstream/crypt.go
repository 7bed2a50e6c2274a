package jetstream

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/tributary-io/tributary/internal/datakey"
	"github.com/tributary-io/tributary/storage"
)

// Encryption at rest. A batch published while its log's entry names an
// encryption key (CreateLog's EncryptionKey, SetEncryption) is sealed
// before it leaves the process, so no replica, Raft log or snapshot holds
// its records in the clear:
//
//	kind(1) arrival(8) flags(1, with flagEncrypted) count(uvarint)
//	version(1, cryptVersion) W(2) wrapped data key(W) nonce(12)
//	ciphertext: the records as a plain batch encodes them, sealed with
//	AES-256-GCM under the data key, the 16-byte tag last
//
// The header stays in the clear: the tail, retention, positions and
// counts need no key. The additional data is the flags and the count;
// not the arrival time, which publish sets after sealing (it follows the
// tail, build in publishBatch).
//
// Data keys (internal/datakey): a log holds one at a time (logState.dk,
// under mu), made by the KeyProvider when the first sealed message needs
// it and kept while the entry's key id stays, never stored unwrapped, so
// it dies with the process. Each message carries it wrapped (about 90
// bytes with the file keyring), so any node with the keys opens any
// message by itself. Nonces come from the key's counter: a key is never
// shared by two logs or two processes, so (key, nonce) never repeats.
const cryptVersion = 1

// sealBatch returns body (encodeBatch's or joinBatches', unsealed) with
// its records sealed under dk and flagEncrypted set. The additional data
// is the flags byte and the count's uvarint, as they stand in the body.
func sealBatch(body []byte, dk *datakey.Key) ([]byte, error) {
	_, k := binary.Uvarint(body[batchHeader:])
	if k <= 0 {
		return nil, errShort
	}
	end := batchHeader + k
	records := body[end:]
	out := make([]byte, 0, end+1+2+len(dk.Wrapped)+datakey.NonceSize+len(records)+datakey.TagSize)
	out = append(out, body[:end]...)
	out[batchHeader-1] |= flagEncrypted
	// out has room for all of it, so Seal writes after the additional
	// data, never over it.
	aad := out[batchHeader-1 : end]
	out = append(out, cryptVersion)
	out = binary.BigEndian.AppendUint16(out, uint16(len(dk.Wrapped)))
	out = append(out, dk.Wrapped...)
	out = dk.AppendNonce(out)
	nonce := out[len(out)-datakey.NonceSize:]
	return dk.Seal(out, nonce, records, aad), nil
}

// dataKey returns the data key a message published now is sealed with, or
// nil when the log's entry names no key. st.mu must be held: the key and
// the entry it follows change only under it.
func (st *logState) dataKey(ctx context.Context) (*datakey.Key, error) {
	st.tmu.Lock()
	keyID := st.entry.EncryptionKey
	st.tmu.Unlock()
	if keyID == "" {
		return nil, nil
	}
	if st.dk != nil && st.dk.KeyID == keyID {
		return st.dk, nil
	}
	dk, err := datakey.New(ctx, st.e.keys, keyID)
	if err != nil {
		return nil, err
	}
	st.dk = dk
	return dk, nil
}

// openBatch decrypts the records of a sealed batch, the message at seq on
// subject, into m.records. Its errors wrap storage.ErrDecrypt (and the
// KeyProvider's error, when it failed) and name the message.
func (e *Engine) openBatch(ctx context.Context, subject string, seq uint64, m *batchMsg) error {
	fail := func(err error) error {
		return fmt.Errorf("message %d of %s: %w", seq, subject, err)
	}
	s := m.sealed
	if len(s) < 3 || s[0] != cryptVersion {
		return fail(fmt.Errorf("%w: sealed batch of an unknown format", storage.ErrDecrypt))
	}
	w := int(binary.BigEndian.Uint16(s[1:]))
	if len(s) < 3+w+datakey.NonceSize+datakey.TagSize {
		return fail(fmt.Errorf("%w: sealed batch too short", storage.ErrDecrypt))
	}
	wrapped, nonce, ct := s[3:3+w], s[3+w:3+w+datakey.NonceSize], s[3+w+datakey.NonceSize:]
	plain, err := datakey.Open(ctx, e.keys, wrapped, nonce, ct, m.aad)
	if err != nil {
		return fail(err)
	}
	records, err := parseRecords(plain, m.count)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", storage.ErrCorrupt, err))
	}
	m.records = records
	return nil
}
