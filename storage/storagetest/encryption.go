package storagetest

import (
	"testing"

	"github.com/tributary-io/tributary/storage"
)

// testEncryption: SetEncryption and LogOptions.EncryptionKey change how
// records are stored, never what reads return; Info and each record's
// Encrypted say which records were appended under a key; the setting
// survives a reopen on a durable engine.
func testEncryption(t *testing.T, h Harness) {
	if h.EncryptionKey == "" {
		t.Skip("the harness gives no encryption key")
	}
	f := newFixture(t, h)
	ctx := t.Context()
	l := f.createLog("switched", storage.LogOptions{})
	before := mustAppend(t, l, batchOf("before", 3))
	if err := l.SetEncryption(ctx, h.EncryptionKey); err != nil {
		t.Fatalf("SetEncryption: %v", err)
	}
	if got := mustInfo(t, l).EncryptionKey; got != h.EncryptionKey {
		t.Fatalf("Info.EncryptionKey = %q after SetEncryption, want %q", got, h.EncryptionKey)
	}
	during := mustAppend(t, l, batchOf("during", 4))
	if err := l.SetEncryption(ctx, ""); err != nil {
		t.Fatalf("SetEncryption(\"\"): %v", err)
	}
	if got := mustInfo(t, l).EncryptionKey; got != "" {
		t.Fatalf("Info.EncryptionKey = %q after stopping, want none", got)
	}
	after := mustAppend(t, l, batchOf("after", 2))
	checkEncrypted(t, "switched log", readAll(t, l), concat(before, during, after), len(before), len(before)+len(during))

	born := f.createLog("born-encrypted", storage.LogOptions{EncryptionKey: h.EncryptionKey})
	if got := mustInfo(t, born).EncryptionKey; got != h.EncryptionKey {
		t.Fatalf("Info.EncryptionKey = %q for a log created encrypted, want %q", got, h.EncryptionKey)
	}
	bornRecs := mustAppend(t, born, batchOf("born", 3))
	checkEncrypted(t, "log created encrypted", readAll(t, born), bornRecs, 0, len(bornRecs))

	if !h.Durable {
		return
	}
	f.reopen()
	l, born = f.log("switched"), f.log("born-encrypted")
	checkEncrypted(t, "switched log after reopening", readAll(t, l), concat(before, during, after), len(before), len(before)+len(during))
	if got := mustInfo(t, born).EncryptionKey; got != h.EncryptionKey {
		t.Fatalf("Info.EncryptionKey = %q after reopening, want %q", got, h.EncryptionKey)
	}
	more := mustAppend(t, born, batchOf("more", 2))
	checkEncrypted(t, "log created encrypted, after reopening", readAll(t, born), concat(bornRecs, more), 0, len(bornRecs)+len(more))
}

// checkEncrypted checks got against want and that exactly the records
// with index in [from, to) are marked Encrypted.
func checkEncrypted(t testing.TB, what string, got, want []storage.StoredRecord, from, to int) {
	t.Helper()
	checkRecords(t, what, got, want)
	for i, r := range got {
		if w := i >= from && i < to; r.Encrypted != w {
			t.Errorf("%s: record %d (position %d) Encrypted = %v, want %v", what, i, r.Position, r.Encrypted, w)
		}
	}
}
