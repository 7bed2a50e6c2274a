package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/datakey"
	"github.com/tributary-io/tributary/keyring"
	"github.com/tributary-io/tributary/storage"
)

const testKeyID = "0b5e4c1a-7d2f-4e3a-9c8b-1f2e3d4c5b6a"

// writeKeyring writes a keyring file with testKeyID and the given
// versions of its material.
func writeKeyring(t testing.TB, path string, disabled bool, versions ...string) {
	t.Helper()
	doc := fmt.Sprintf("[[key]]\nid = %q\ndisabled = %v\nversions = [\"%s\"]\n", testKeyID, disabled, strings.Join(versions, `", "`))
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

func material(t testing.TB) string {
	t.Helper()
	m, err := keyring.NewMaterial()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testKeyring writes a keyring file with testKeyID of one version and
// loads it.
func testKeyring(t testing.TB) (path, v1 string, kr *keyring.File) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "keyring.toml")
	v1 = material(t)
	writeKeyring(t, path, false, v1)
	kr, err := keyring.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, v1, kr
}

// fixCRC recomputes a frame's checksum after a test changed its bytes.
func fixCRC(frame []byte) {
	crc := crc32.Checksum(frame[frameHeaderSize:], castagnoli)
	crc = crc32.Update(crc, castagnoli, frame[12:frameHeaderSize])
	binary.BigEndian.PutUint32(frame[8:], crc)
}

// secrets returns n distinctive random payloads (and partition keys): if
// any 24-byte run of one appears on disk, the record is there in the clear.
func secrets(t testing.TB, tag string, n int) []storage.Record {
	t.Helper()
	recs := make([]storage.Record, n)
	for i := range recs {
		b := make([]byte, 24)
		rand.Read(b)
		k := make([]byte, 12)
		rand.Read(k)
		recs[i] = storage.Record{Key: tag + "-" + hex.EncodeToString(k), Data: []byte(tag + ":" + hex.EncodeToString(b))}
	}
	return recs
}

// rawFiles returns every file under dir, by path relative to dir.
func rawFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// foundIn lists the files holding a record's data or key.
func foundIn(files map[string][]byte, r storage.Record) []string {
	var in []string
	for name, b := range files {
		if bytes.Contains(b, r.Data) || bytes.Contains(b, []byte(r.Key)) {
			in = append(in, name)
		}
	}
	return in
}

// checkRaw fails if a secret is in any file of dir, and if a plain
// record is not in one whose name starts with wantPlainIn (which shows
// that the scan looks where the records are).
func checkRaw(t *testing.T, dir, wantPlainIn string, plain, secret []storage.Record) {
	t.Helper()
	files := rawFiles(t, dir)
	seen := false
	for name := range files {
		if strings.HasPrefix(name, wantPlainIn) {
			seen = true
		}
	}
	if !seen {
		t.Fatalf("no file under %s in %s: %v", wantPlainIn, dir, files)
	}
	for _, r := range secret {
		if in := foundIn(files, r); len(in) > 0 {
			t.Errorf("encrypted record %q is in the clear in %v", r.Data, in)
		}
	}
	for _, r := range plain {
		in := foundIn(files, r)
		ok := false
		for _, name := range in {
			ok = ok || strings.HasPrefix(name, wantPlainIn)
		}
		if !ok {
			t.Errorf("plain record %q not found under %s (found in %v): the scan misses the records", r.Data, wantPlainIn, in)
		}
	}
}

func appendBatches(t testing.TB, l storage.ShardLog, recs []storage.Record, per int) {
	t.Helper()
	for i := 0; i < len(recs); i += per {
		if _, err := l.Append(context.Background(), recs[i:min(i+per, len(recs))]); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
}

// readBack reads the whole log and checks it holds want, in order, with
// Encrypted as encrypted says (true for the records from index enc on).
func readBack(t *testing.T, l storage.ShardLog, want []storage.Record, enc int) {
	t.Helper()
	var got []storage.StoredRecord
	next := uint64(1)
	for {
		res, err := l.Read(context.Background(), storage.At(next), storage.ReadLimits{MaxRecords: 7})
		if err != nil {
			t.Fatalf("read at %d: %v", next, err)
		}
		if len(res.Records) == 0 {
			break
		}
		got = append(got, res.Records...)
		next = res.Next
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Key != want[i].Key || !bytes.Equal(got[i].Data, want[i].Data) || got[i].Encrypted != (i >= enc) {
			t.Fatalf("record %d: %q %q encrypted=%v, want %q %q encrypted=%v", i, got[i].Key, got[i].Data, got[i].Encrypted, want[i].Key, want[i].Data, i >= enc)
		}
	}
}

// TestEncryptionAtRest: records appended after SetEncryption are nowhere
// on disk in the clear, not in the journal before a checkpoint, not in
// the segments after one, and not after a restart; the records before
// stay plain and every record reads back, also after the restart.
func TestEncryptionAtRest(t *testing.T) {
	ctx := context.Background()
	_, _, kr := testKeyring(t)
	keyID := testKeyID
	dir := t.TempDir()
	// No checkpoint until Close: the records are in the journal only.
	opts := Options{Keys: kr, CheckpointInterval: time.Hour, SegmentBytes: 4 << 10}
	e := openT(t, dir, opts)
	l, err := e.CreateLog(ctx, "orders", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain := secrets(t, "plain", 20)
	appendBatches(t, l, plain, 3)
	if err := l.SetEncryption(ctx, keyID); err != nil {
		t.Fatal(err)
	}
	secret := secrets(t, "secret", 200) // several 4 KiB segments, so several data keys
	appendBatches(t, l, secret, 5)
	all := append(append([]storage.Record{}, plain...), secret...)

	checkRaw(t, dir, "wal/", plain, secret)
	readBack(t, l, all, len(plain))
	if info, err := l.Info(ctx); err != nil || info.EncryptionKey != keyID {
		t.Fatalf("Info: %+v, %v; want EncryptionKey %s", info, err, keyID)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	checkRaw(t, dir, "logs/", plain, secret)

	e = openT(t, dir, opts)
	defer e.Close()
	l, err = e.Log(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	readBack(t, l, all, len(plain))
	more := secrets(t, "after-restart", 10) // still encrypted: the setting is durable
	appendBatches(t, l, more, 2)
	readBack(t, l, append(all, more...), len(plain))
	checkRaw(t, dir, "logs/", plain, append(secret, more...))

	// And back: records after SetEncryption("") are plain again.
	if err := l.SetEncryption(ctx, ""); err != nil {
		t.Fatal(err)
	}
	clear := secrets(t, "clear-again", 3)
	appendBatches(t, l, clear, 3)
	files := rawFiles(t, dir)
	for _, r := range clear {
		if len(foundIn(files, r)) == 0 {
			t.Errorf("record %q appended after encryption stopped is not plain on disk", r.Data)
		}
	}
}

// TestEncryptedCrashRecovery: encrypted appends whose segments were never
// synced come back from the journal after a crash, and decrypt.
func TestEncryptedCrashRecovery(t *testing.T) {
	ctx := context.Background()
	_, _, kr := testKeyring(t)
	keyID := testKeyID
	dir := t.TempDir()
	opts := Options{Keys: kr, CheckpointInterval: time.Hour}
	e := openT(t, dir, opts)
	l, err := e.CreateLog(ctx, "l", storage.LogOptions{EncryptionKey: keyID})
	if err != nil {
		t.Fatal(err)
	}
	recs := secrets(t, "crash", 50)
	appendBatches(t, l, recs, 4)
	e.abandon()
	// What a crash loses: the segments' unsynced tails. Cut them, so the
	// records can only come back from the journal.
	segs, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*.seg"))
	for _, s := range segs {
		if err := os.Truncate(s, 0); err != nil {
			t.Fatal(err)
		}
	}
	e = openT(t, dir, opts)
	defer e.Close()
	l, err = e.Log(ctx, "l")
	if err != nil {
		t.Fatal(err)
	}
	readBack(t, l, recs, 0)
	checkRaw(t, dir, "logs/", nil, recs)
}

// TestEncryptionKeyFailures: rotation keeps old records readable while new
// ones use the new version; a key whose material was changed gives
// ErrDecrypt with keyring.ErrInvalidCiphertext, not garbage; a disabled
// key fails reads (ErrDecrypt, keyring.ErrDisabled) and appends; an
// engine without keys refuses to encrypt.
func TestEncryptionKeyFailures(t *testing.T) {
	ctx := context.Background()
	path, v1material, kr := testKeyring(t)
	keyID := testKeyID
	dir := t.TempDir()
	e := openT(t, dir, Options{Keys: kr})
	defer e.Close()
	l, err := e.CreateLog(ctx, "l", storage.LogOptions{EncryptionKey: keyID})
	if err != nil {
		t.Fatal(err)
	}
	v1 := secrets(t, "v1", 5)
	appendBatches(t, l, v1, 5)

	// Rotate: a second version, loaded by Reload (what SIGHUP does).
	v2material := material(t)
	writeKeyring(t, path, false, v1material, v2material)
	if err := kr.Reload(); err != nil {
		t.Fatal(err)
	}
	// A new data key is made at a segment roll or when the key changes;
	// switch keys to force one now.
	if err := l.SetEncryption(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := l.SetEncryption(ctx, keyID); err != nil {
		t.Fatal(err)
	}
	v2 := secrets(t, "v2", 5)
	appendBatches(t, l, v2, 5)
	readBack(t, l, append(append([]storage.Record{}, v1...), v2...), 0)

	// Replace version 1's material: v1's records must fail clearly, and
	// v2's still read, which shows they were wrapped by version 2.
	writeKeyring(t, path, false, material(t), v2material)
	if err := kr.Reload(); err != nil {
		t.Fatal(err)
	}
	_, err = l.Read(ctx, storage.At(1), storage.ReadLimits{MaxRecords: 1})
	if !errors.Is(err, storage.ErrDecrypt) || !errors.Is(err, keyring.ErrInvalidCiphertext) || errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("read under changed key material: %v; want ErrDecrypt and ErrInvalidCiphertext, not ErrCorrupt", err)
	}
	res, err := l.Read(ctx, storage.At(6), storage.ReadLimits{MaxRecords: 10})
	if err != nil || len(res.Records) != 5 || !bytes.Equal(res.Records[0].Data, v2[0].Data) {
		t.Fatalf("read of version 2's records: %v, %d records", err, len(res.Records))
	}

	// Disable the key.
	writeKeyring(t, path, true, v1material, v2material)
	if err := kr.Reload(); err != nil {
		t.Fatal(err)
	}
	_, err = l.Read(ctx, storage.At(6), storage.ReadLimits{MaxRecords: 1})
	if !errors.Is(err, storage.ErrDecrypt) || !errors.Is(err, keyring.ErrDisabled) {
		t.Fatalf("read under a disabled key: %v; want ErrDecrypt and ErrDisabled", err)
	}
	// Info reads headers only: it needs no key.
	if info, err := l.Info(ctx); err != nil || info.FirstPosition != 1 || info.LastPosition != 10 {
		t.Fatalf("Info under a disabled key: %+v, %v; want positions 1..10", info, err)
	}
	if err := l.SetEncryption(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := l.SetEncryption(ctx, keyID); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, secrets(t, "x", 1)); !errors.Is(err, keyring.ErrDisabled) {
		t.Fatalf("append under a disabled key: %v; want ErrDisabled", err)
	}

	// No key provider.
	e2 := openT(t, t.TempDir(), Options{})
	defer e2.Close()
	l2, err := e2.CreateLog(ctx, "l", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.SetEncryption(ctx, keyID); !errors.Is(err, storage.ErrNoKeys) {
		t.Fatalf("SetEncryption without keys: %v", err)
	}
	if _, err := e2.CreateLog(ctx, "m", storage.LogOptions{EncryptionKey: keyID}); !errors.Is(err, storage.ErrNoKeys) {
		t.Fatalf("CreateLog encrypted without keys: %v", err)
	}
}

// TestSealedFrameTampered: a changed ciphertext byte whose CRC is fixed
// up (so only GCM can tell) fails authentication.
func TestSealedFrameTampered(t *testing.T) {
	ctx := context.Background()
	_, _, kr := testKeyring(t)
	keyID := testKeyID
	e := &Engine{opts: Options{Keys: kr}}
	dk, err := datakey.New(ctx, kr, keyID)
	if err != nil {
		t.Fatal(err)
	}
	batch := []storage.Record{{Key: "k", Data: []byte("hello, world")}}
	for _, at := range []int{frameHeaderSize + 3 + keyring.WrappedSize + datakey.NonceSize, -1} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			frame := appendUnfinishedSealedFrame(nil, batch, dk)
			finishFrame(frame, 1, 1000)
			if at < 0 {
				at = len(frame) - 1 // the tag
			}
			frame[at] ^= 1
			fixCRC(frame) // well formed, its content forged: only GCM can tell
			_, err := decodeFrameWith(frame, 1, func(f []byte) ([]byte, error) { return e.openFrame(ctx, f) }, func(storage.StoredRecord) bool { return true })
			if !errors.Is(err, storage.ErrDecrypt) {
				t.Fatalf("decode of a forged frame: %v, want ErrDecrypt", err)
			}
		})
	}
	// Untouched, it decodes.
	frame := appendUnfinishedSealedFrame(nil, batch, dk)
	finishFrame(frame, 1, 1000)
	var got []string
	if _, err := decodeFrameWith(frame, 1, func(f []byte) ([]byte, error) { return e.openFrame(ctx, f) }, func(r storage.StoredRecord) bool {
		got = append(got, string(r.Data))
		return true
	}); err != nil || len(got) != 1 || got[0] != "hello, world" {
		t.Fatalf("decode: %v %q", err, got)
	}
}
