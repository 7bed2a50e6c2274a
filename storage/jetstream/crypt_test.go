package jetstream

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/keyring"
	"github.com/tributary-io/tributary/storage"
)

const testKeyID = "5d0c7a1e-2b3f-4c8d-9e6a-7f1b2c3d4e5f"

// testKeyring writes a keyring file with testKeyID and loads it.
func testKeyring(t testing.TB) *keyring.File {
	t.Helper()
	m, err := keyring.NewMaterial()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keyring.toml")
	doc := fmt.Sprintf("[[key]]\nid = %q\nversions = [%q]\n", testKeyID, m)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// filesHolding lists the files under dir whose bytes contain needle.
func filesHolding(t testing.TB, dir string, needle []byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// rawLast is the body of the last message on l's subject, as stored.
func rawLast(t testing.TB, l storage.ShardLog) []byte {
	t.Helper()
	st := l.(*shardLog).st
	s, err := st.e.js.Stream(t.Context(), st.stream)
	if err != nil {
		t.Fatal(err)
	}
	// A direct get may be answered by a replica that has not yet applied
	// the message the test just appended: an empty subject is asked again.
	for deadline := time.Now().Add(5 * time.Second); ; {
		m, err := s.GetLastMsgForSubject(t.Context(), st.subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return m.Data
	}
}

// TestSealedAtRest: the records of an encrypted log are nowhere on disk in
// the clear (stream store, Raft logs, anything under the directory), while
// a plain log's are, so the search can find them; they read back through
// an engine with the keys, and an engine without them, or a damaged
// message, fails with ErrDecrypt rather than returning wrong records.
func TestSealedAtRest(t *testing.T) {
	keys := testKeyring(t)
	dir := t.TempDir()
	e, err := Open(t.Context(), Options{Dir: dir, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	secret, plain := []byte("secret-payload-7c1f9a"), []byte("plain-payload-3e8b2d")
	sealedLog, err := e.CreateLog(ctx, "sealed", storage.LogOptions{EncryptionKey: testKeyID})
	if err != nil {
		t.Fatal(err)
	}
	plainLog, err := e.CreateLog(ctx, "plain", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []storage.Record
	for i := range 20 {
		r := storage.Record{Key: fmt.Sprintf("key-%d-%s", i, secret), Data: append(append([]byte(nil), secret...), byte(i))}
		want = append(want, r)
		if _, err := sealedLog.Append(ctx, []storage.Record{r}); err != nil {
			t.Fatal(err)
		}
		if _, err := plainLog.Append(ctx, []storage.Record{{Key: "k", Data: plain}}); err != nil {
			t.Fatal(err)
		}
	}
	body := rawLast(t, sealedLog)
	if body[0] != kindBatch || body[batchHeader-1]&flagEncrypted == 0 {
		t.Fatalf("the sealed log's last message starts %x: not an encrypted batch", body[:batchHeader])
	}
	res, err := sealedLog.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != len(want) {
		t.Fatalf("read %d records, want %d", len(res.Records), len(want))
	}
	for i, r := range res.Records {
		if r.Key != want[i].Key || !bytes.Equal(r.Data, want[i].Data) || !r.Encrypted {
			t.Errorf("record %d = %q %q encrypted %v, want %q %q encrypted", i, r.Key, r.Data, r.Encrypted, want[i].Key, want[i].Data)
		}
	}

	// A damaged message authenticates no more.
	d, err := decode("s", 1, append([]byte(nil), body...))
	if err != nil {
		t.Fatal(err)
	}
	d.batch.sealed[len(d.batch.sealed)-20] ^= 1
	if err := e.openBatch(ctx, "s", 1, d.batch); !errors.Is(err, storage.ErrDecrypt) {
		t.Errorf("opening a damaged sealed batch: %v, want ErrDecrypt", err)
	}
	d, _ = decode("s", 1, append([]byte(nil), body...))
	d.batch.aad[len(d.batch.aad)-1] ^= 1 // another count
	if err := e.openBatch(ctx, "s", 1, d.batch); !errors.Is(err, storage.ErrDecrypt) {
		t.Errorf("opening a sealed batch under another count: %v, want ErrDecrypt", err)
	}
	e.Close()

	if got := filesHolding(t, dir, plain); len(got) == 0 {
		t.Fatalf("the plain log's records are in no file under %s: the search finds nothing", dir)
	}
	if got := filesHolding(t, dir, secret); len(got) > 0 {
		t.Errorf("the encrypted log's records are in the clear in %v", got)
	}

	// Without the keys, the records do not read; the plain log still does.
	e, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l, err := e.Log(ctx, "sealed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 100}); !errors.Is(err, storage.ErrDecrypt) || !errors.Is(err, storage.ErrNoKeys) {
		t.Errorf("reading an encrypted log without keys: %v, want ErrDecrypt and ErrNoKeys", err)
	}
	if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("x")}}); !errors.Is(err, storage.ErrNoKeys) {
		t.Errorf("appending to an encrypted log without keys: %v, want ErrNoKeys", err)
	}
	p, err := e.Log(ctx, "plain")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := p.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 100}); err != nil || len(res.Records) != 20 {
		t.Errorf("reading the plain log without keys: %d records, %v; want 20", len(res.Records), err)
	}
}

// TestClusterSealed: a log encrypted through one node is appended to
// through another, which learns of the key from its watch of the logs
// bucket, and read through the third, whose replica holds only sealed
// records; each node has the same keys.
func TestClusterSealed(t *testing.T) {
	keys := testKeyring(t)
	es := openClusterWith(t, 3, nil, keys)
	ctx := t.Context()
	if _, err := es[0].CreateLog(ctx, "l", storage.LogOptions{}); err != nil {
		t.Fatal(err)
	}
	ls := make([]storage.ShardLog, 3)
	for i, e := range es {
		var err error
		if ls[i], err = e.Log(ctx, "l"); err != nil {
			t.Fatal(err)
		}
	}
	if err := ls[0].SetEncryption(ctx, testKeyID); err != nil {
		t.Fatal(err)
	}
	// Node 2 learns of the key through its watch of the bucket (these
	// nodes have no trimmer, which would load it too, once a minute).
	st2 := ls[1].(*shardLog).st
	for deadline := time.Now().Add(5 * time.Second); ; {
		st2.tmu.Lock()
		got := st2.entry.EncryptionKey
		st2.tmu.Unlock()
		if got == testKeyID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after SetEncryption through node 1, node 2's entry names key %q", got)
		}
		time.Sleep(time.Millisecond)
	}
	secret := []byte("cluster-secret-91d2e4")
	app, err := ls[1].Append(ctx, []storage.Record{{Key: "k", Data: secret}})
	if err != nil {
		t.Fatal(err)
	}
	body := rawLast(t, ls[2])
	if body[batchHeader-1]&flagEncrypted == 0 || bytes.Contains(body, secret) {
		t.Errorf("the message node 2 published is not sealed: %q", body)
	}
	res, err := ls[2].Read(ctx, storage.At(app[0].Position), storage.ReadLimits{MaxRecords: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || !bytes.Equal(res.Records[0].Data, secret) || !res.Records[0].Encrypted {
		t.Errorf("read through node 3: %+v, want the sealed record", res.Records)
	}
}
