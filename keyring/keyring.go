// Package keyring is Tributary's local key provider: the keys that wrap
// the data keys records are encrypted with at rest (issue 15). It plays
// the part KMS plays for Kinesis, with KMS's names: a key has a UUID as
// its id, ARNs arn:aws:kms:REGION:ACCOUNT:key/UUID, aliases alias/NAME
// (and their ARNs), versions for rotation and an enabled state.
//
// Callers depend on Provider, not on File, so that a real KMS could stand
// behind the same three calls. The package imports nothing of Tributary.
//
// A keyring file, TOML or JSON (keys and field names are the same):
//
//	[[key]]
//	id       = "8f1c6c1e-2b8a-4c8e-9d3c-0d5a1e0b7f42"
//	aliases  = ["alias/aws/kinesis", "alias/orders"]
//	disabled = false
//	versions = ["base64 of 32 random bytes", "…newer…"]
//
// versions lists the key material oldest first: the last one wraps new
// data keys, every one unwraps what it wrapped. Rotation appends a
// version; removing one makes the data it wrapped unreadable.
package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/pelletier/go-toml/v2"
)

// Errors, named after the KMS exceptions they are answered as.
var (
	// ErrNotFound: no key has that id, ARN or alias (KMSNotFoundException).
	ErrNotFound = errors.New("keyring: key not found")
	// ErrDisabled: the key exists but is disabled (KMSDisabledException).
	ErrDisabled = errors.New("keyring: key is disabled")
	// ErrInvalidCiphertext: a wrapped data key does not decrypt: it was
	// damaged, or the key's material was changed after it was wrapped
	// (KMS's InvalidCiphertextException).
	ErrInvalidCiphertext = errors.New("keyring: wrapped data key does not decrypt")
)

// Key is a key as a caller sees it, without its material.
type Key struct {
	// ID is the key's UUID.
	ID       string
	Aliases  []string // alias/NAME
	Enabled  bool
	Versions int
}

// ARN is the key's ARN in a region and account.
func (k Key) ARN(region, account string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + k.ID
}

// Provider is what Tributary asks of a key service. GenerateDataKey and
// Decrypt are KMS's calls of the same names; Describe is DescribeKey.
type Provider interface {
	// Describe finds a key by any name KMS accepts for it as a KeyId: its
	// UUID, its ARN, an alias (alias/NAME) or an alias's ARN. An ARN must
	// name region and account, the caller's.
	Describe(ctx context.Context, keyID, region, account string) (Key, error)
	// GenerateDataKey returns a fresh 256-bit data key and the same key
	// wrapped by the newest version of the key whose UUID is keyID. It
	// fails with ErrDisabled for a disabled key.
	GenerateDataKey(ctx context.Context, keyID string) (plaintext, wrapped []byte, err error)
	// Decrypt unwraps a data key. The wrapped form names its key and
	// version; a disabled key fails with ErrDisabled.
	Decrypt(ctx context.Context, wrapped []byte) ([]byte, error)
}

// File is a Provider on a keyring file, read at Load and again at Reload.
type File struct {
	path string
	mu   sync.RWMutex
	keys map[string]*fileKey // by UUID
	// aliases maps alias/NAME to a key's UUID.
	aliases map[string]string
}

type fileKey struct {
	Key
	// aeads[i] is version i+1's cipher.
	aeads []cipher.AEAD
}

// fileEntry is one key as the file spells it.
type fileEntry struct {
	ID       string   `json:"id" toml:"id"`
	Aliases  []string `json:"aliases" toml:"aliases"`
	Disabled bool     `json:"disabled" toml:"disabled"`
	Versions []string `json:"versions" toml:"versions"`
}

type fileDoc struct {
	Key []fileEntry `json:"key" toml:"key"`
}

// Load reads a keyring file (JSON if it starts with '{', else TOML).
func Load(path string) (*File, error) {
	f := &File{path: path}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reload reads the file again and replaces the keys at once; on any error
// the keys in use stay as they were. Used for rotation (a new version) and
// to disable or enable keys without a restart.
func (f *File) Reload() error {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	keys, aliases, err := parse(b)
	if err != nil {
		return fmt.Errorf("keyring %s: %w", f.path, err)
	}
	f.mu.Lock()
	f.keys, f.aliases = keys, aliases
	f.mu.Unlock()
	return nil
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	aliasRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
)

// parse checks and decodes a keyring document.
func parse(b []byte) (map[string]*fileKey, map[string]string, error) {
	var doc fileDoc
	var err error
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "{") {
		dec := json.NewDecoder(strings.NewReader(t))
		dec.DisallowUnknownFields()
		err = dec.Decode(&doc)
	} else {
		dec := toml.NewDecoder(strings.NewReader(t))
		dec.DisallowUnknownFields()
		err = dec.Decode(&doc)
		var missing *toml.StrictMissingError
		if errors.As(err, &missing) {
			var keys []string
			for _, e := range missing.Errors {
				keys = append(keys, strings.Join(e.Key(), "."))
			}
			err = fmt.Errorf("unknown field %s", strings.Join(keys, ", "))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	keys := make(map[string]*fileKey)
	aliases := make(map[string]string)
	for i, e := range doc.Key {
		id := strings.ToLower(e.ID)
		if !uuidRE.MatchString(id) {
			return nil, nil, fmt.Errorf("key %d: id %q is not a UUID", i+1, e.ID)
		}
		if _, dup := keys[id]; dup {
			return nil, nil, fmt.Errorf("key %s is listed twice", id)
		}
		if len(e.Versions) == 0 {
			return nil, nil, fmt.Errorf("key %s has no versions", id)
		}
		k := &fileKey{Key: Key{ID: id, Enabled: !e.Disabled, Versions: len(e.Versions)}}
		for v, m := range e.Versions {
			raw, err := base64.StdEncoding.DecodeString(m)
			if err != nil || len(raw) != 32 {
				return nil, nil, fmt.Errorf("key %s version %d: want 32 bytes in base64", id, v+1)
			}
			aead, err := newAEAD(raw)
			if err != nil {
				return nil, nil, err
			}
			k.aeads = append(k.aeads, aead)
		}
		for _, a := range e.Aliases {
			if !aliasRE.MatchString(a) {
				return nil, nil, fmt.Errorf("key %s: alias %q is not alias/NAME", id, a)
			}
			if other, dup := aliases[a]; dup {
				return nil, nil, fmt.Errorf("alias %s names both %s and %s", a, other, id)
			}
			aliases[a] = id
			k.Aliases = append(k.Aliases, a)
		}
		keys[id] = k
	}
	return keys, aliases, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Describe implements Provider.
func (f *File) Describe(ctx context.Context, keyID, region, account string) (Key, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	name := keyID
	if rest, ok := strings.CutPrefix(keyID, "arn:aws:kms:"); ok {
		// arn:aws:kms:REGION:ACCOUNT:key/UUID or …:alias/NAME. A key of
		// this keyring exists in every region and account of the server,
		// but an ARN naming another one names a key elsewhere, which is
		// not here.
		parts := strings.SplitN(rest, ":", 3)
		if len(parts) != 3 || parts[0] != region || parts[1] != account {
			return Key{}, fmt.Errorf("%w: %s", ErrNotFound, keyID)
		}
		name = parts[2]
		if id, ok := strings.CutPrefix(name, "key/"); ok {
			name = id
		}
	}
	if strings.HasPrefix(name, "alias/") {
		id, ok := f.aliases[name]
		if !ok {
			return Key{}, fmt.Errorf("%w: %s", ErrNotFound, keyID)
		}
		name = id
	}
	k, ok := f.keys[strings.ToLower(name)]
	if !ok {
		return Key{}, fmt.Errorf("%w: %s", ErrNotFound, keyID)
	}
	return k.Key, nil
}

// A wrapped data key:
//
//	offset size
//	0      4    magic "TRKW"
//	4      1    format version, 1
//	5      16   the key's UUID
//	21     4    key version (1 is the oldest)
//	25     12   nonce, random
//	37     48   the data key sealed with AES-256-GCM, bytes 0..25 as
//	            additional data (so neither key nor version can be swapped)
//
// The nonce is random: a key version wraps one data key per segment of
// every encrypted log, far below the 2^32 wraps under which 96-bit random
// nonces stay safe.
const (
	wrapMagic   = "TRKW"
	wrapVersion = 1
	wrapHeader  = 25
	// WrappedSize is the length of a wrapped data key.
	WrappedSize = wrapHeader + 12 + 32 + 16
)

// GenerateDataKey implements Provider.
func (f *File) GenerateDataKey(ctx context.Context, keyID string) ([]byte, []byte, error) {
	f.mu.RLock()
	k, ok := f.keys[keyID]
	f.mu.RUnlock()
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, keyID)
	}
	if !k.Enabled {
		return nil, nil, fmt.Errorf("%w: %s", ErrDisabled, keyID)
	}
	dk := make([]byte, 32)
	if _, err := rand.Read(dk); err != nil {
		return nil, nil, err
	}
	w := make([]byte, wrapHeader+12, WrappedSize)
	copy(w, wrapMagic)
	w[4] = wrapVersion
	if err := putUUID(w[5:21], keyID); err != nil {
		return nil, nil, err
	}
	binary.BigEndian.PutUint32(w[21:], uint32(len(k.aeads)))
	if _, err := rand.Read(w[wrapHeader : wrapHeader+12]); err != nil {
		return nil, nil, err
	}
	w = k.aeads[len(k.aeads)-1].Seal(w, w[wrapHeader:wrapHeader+12], dk, w[:wrapHeader])
	return dk, w, nil
}

// Decrypt implements Provider.
func (f *File) Decrypt(ctx context.Context, wrapped []byte) ([]byte, error) {
	if len(wrapped) != WrappedSize || string(wrapped[:4]) != wrapMagic || wrapped[4] != wrapVersion {
		return nil, fmt.Errorf("%w: not a wrapped data key of this format", ErrInvalidCiphertext)
	}
	id := formatUUID(wrapped[5:21])
	version := binary.BigEndian.Uint32(wrapped[21:])
	f.mu.RLock()
	k, ok := f.keys[id]
	f.mu.RUnlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %s (wrapped data key)", ErrNotFound, id)
	case !k.Enabled:
		return nil, fmt.Errorf("%w: %s", ErrDisabled, id)
	case version == 0 || int(version) > len(k.aeads):
		return nil, fmt.Errorf("%w: key %s has no version %d (was it removed from the keyring?)", ErrInvalidCiphertext, id, version)
	}
	dk, err := k.aeads[version-1].Open(nil, wrapped[wrapHeader:wrapHeader+12], wrapped[wrapHeader+12:], wrapped[:wrapHeader])
	if err != nil {
		return nil, fmt.Errorf("%w: key %s version %d does not open it (was the key material changed?)", ErrInvalidCiphertext, id, version)
	}
	return dk, nil
}

func putUUID(dst []byte, id string) error {
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(b) != 16 {
		return fmt.Errorf("keyring: %q is not a UUID", id)
	}
	copy(dst, b)
	return nil
}

func formatUUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewKeyEntry returns a keyring file entry (TOML) for a new key with
// fresh random material: what an operator appends to the file to add a
// key (tests use it too).
func NewKeyEntry(aliases ...string) (id, entry string, err error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", "", err
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	id = formatUUID(u[:])
	m, err := NewMaterial()
	if err != nil {
		return "", "", err
	}
	quoted := make([]string, len(aliases))
	for i, a := range aliases {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	entry = fmt.Sprintf("[[key]]\nid = %q\naliases = [%s]\nversions = [%q]\n", id, strings.Join(quoted, ", "), m)
	return id, entry, nil
}

// NewMaterial returns 32 random bytes in base64: one key version.
func NewMaterial() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
