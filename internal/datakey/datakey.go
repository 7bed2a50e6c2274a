// Package datakey is the envelope encryption the engines that store
// records at rest share: a data key from a storage.KeyProvider (KMS's
// GenerateDataKey), AES-256-GCM under it, and the wrapped form kept beside
// the ciphertext so that the provider's Decrypt alone opens it again. Each
// engine lays out the wrapped key, nonce and ciphertext in its own format;
// this package keeps the two rules that make the scheme safe in one place:
//
//   - a data key is fresh random material from GenerateDataKey and is
//     never stored unwrapped, so it never outlives the process that made
//     it and no two holders share it;
//   - a nonce is 4 zero bytes and a 64-bit counter taken from the key by
//     an atomic increment, so (key, nonce) never repeats.
package datakey

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/tributary-io/tributary/storage"
)

const (
	// NonceSize is the length of a nonce, TagSize of GCM's tag.
	NonceSize = 12
	TagSize   = 16
	// MaxWrapped bounds a wrapped data key, so that its length fits the
	// engines' 16-bit length fields with room to spare.
	MaxWrapped = 1 << 10
)

// Key is a data key: Wrapped names the provider's key (and version) it is
// wrapped by and is what a reader hands back to Decrypt.
type Key struct {
	KeyID   string // the provider's key it is wrapped by
	Wrapped []byte
	aead    cipher.AEAD
	nonces  atomic.Uint64 // the last nonce counter used
}

// New makes a data key under keyID; ErrNoKeys when keys is nil.
func New(ctx context.Context, keys storage.KeyProvider, keyID string) (*Key, error) {
	if keys == nil {
		return nil, storage.ErrNoKeys
	}
	plain, wrapped, err := keys.GenerateDataKey(ctx, keyID)
	if err != nil {
		return nil, fmt.Errorf("generate a data key under %s: %w", keyID, err)
	}
	if len(wrapped) == 0 || len(wrapped) > MaxWrapped {
		return nil, fmt.Errorf("generate a data key under %s: wrapped key of %d bytes", keyID, len(wrapped))
	}
	aead, err := newGCM(plain)
	if err != nil {
		return nil, err
	}
	return &Key{KeyID: keyID, Wrapped: wrapped, aead: aead}, nil
}

// AppendNonce appends the key's next nonce to dst.
func (k *Key) AppendNonce(dst []byte) []byte {
	dst = append(dst, 0, 0, 0, 0)
	return binary.BigEndian.AppendUint64(dst, k.nonces.Add(1))
}

// Seal appends plaintext sealed under nonce (one AppendNonce gave) with
// aad to dst, as cipher.AEAD.Seal: plaintext may be dst's spare capacity
// exactly, for sealing in place.
func (k *Key) Seal(dst, nonce, plaintext, aad []byte) []byte {
	return k.aead.Seal(dst, nonce, plaintext, aad)
}

// Open unwraps wrapped through keys and opens ciphertext (its tag last)
// with nonce and aad, into a new slice. Its errors wrap storage.ErrDecrypt
// and, when the provider failed, the provider's error; what names the
// ciphertext's place is the caller's to add.
func Open(ctx context.Context, keys storage.KeyProvider, wrapped, nonce, ciphertext, aad []byte) ([]byte, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: encrypted records: %w", storage.ErrDecrypt, storage.ErrNoKeys)
	}
	if len(nonce) != NonceSize || len(ciphertext) < TagSize {
		return nil, fmt.Errorf("%w: encrypted records too short", storage.ErrDecrypt)
	}
	plainKey, err := keys.Decrypt(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("%w: unwrap the data key: %w", storage.ErrDecrypt, err)
	}
	aead, err := newGCM(plainKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", storage.ErrDecrypt, err)
	}
	plain, err := aead.Open(make([]byte, 0, len(ciphertext)-TagSize), nonce, ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: records do not authenticate under their data key", storage.ErrDecrypt)
	}
	return plain, nil
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
