package local

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/tributary-io/tributary/storage"
)

// realFiles writes a small engine directory and returns the bytes of its
// files by kind, so that every fuzz target starts from what the engine
// really writes.
func realFiles(f *testing.F) (segs, idxs, wals, metas [][]byte) {
	dir := f.TempDir()
	e, err := Open(dir, Options{SegmentBytes: 4096, IndexInterval: 256})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	l, _ := e.CreateLog(ctx, "seed", storage.LogOptions{})
	for i := 0; i < 60; i++ {
		batch := []storage.Record{
			{Key: fmt.Sprint(i), Data: bytes.Repeat([]byte{byte(i)}, i*7)},
			{Key: "p", Data: nil},
		}
		if _, err := l.Append(ctx, batch); err != nil {
			f.Fatal(err)
		}
	}
	e.Meta().CompareAndSwap(ctx, "streams/a", []byte(`{"name":"a"}`), 0)
	if err := e.checkpoint(); err != nil { // writes the closed segments' indexes
		f.Fatal(err)
	}
	if _, err := l.Append(ctx, []storage.Record{{Key: "after", Data: []byte("checkpoint")}}); err != nil {
		f.Fatal(err)
	}
	e.abandon() // keeps the journal
	read := func(glob string) (out [][]byte) {
		m, _ := filepath.Glob(filepath.Join(dir, glob))
		for _, p := range m {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
		if len(out) == 0 {
			f.Fatalf("no %s files", glob)
		}
		return out
	}
	return read("logs/*/*.seg"), read("logs/*/*.idx"), read("wal/*.wal"), read("meta.log")
}

// FuzzScanSegment feeds arbitrary bytes to the segment scanner (recovery's
// decoder) and to the reader (the read path's decoder). Neither may panic,
// and what the scanner accepts the reader must read back identically.
func FuzzScanSegment(f *testing.F) {
	segs, _, _, _ := realFiles(f)
	// The engine no longer writes a hash key into the spare slot; the
	// segments of release ff40391 hold some.
	old, _ := filepath.Glob(filepath.Join(releaseDir, "data", "logs", "*", "*.seg"))
	for _, p := range old {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		segs = append(segs, b)
	}
	for _, s := range segs {
		f.Add(s)
		f.Add(s[:len(s)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, segmentName(1))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := scanSegment(path, 1, 256)
		if err != nil {
			t.Fatal(err)
		}
		if res.badOffset < 0 && res.ix.size != int64(len(data)) {
			t.Fatalf("scan accepted all %d bytes but indexed %d", len(data), res.ix.size)
		}
		files := newFileCache(4)
		defer files.closeAll()
		var n uint64
		_, err = readFrames(files, path, 0, res.ix.size, 1, nil, nil, func(r storage.StoredRecord) bool {
			n++
			if r.Position != n {
				t.Fatalf("record %d has position %d", n, r.Position)
			}
			return true
		})
		if err != nil {
			t.Fatalf("reader failed on bytes the scanner accepted: %v", err)
		}
		if n != res.ix.lastPos {
			t.Fatalf("reader saw %d records, scanner %d", n, res.ix.lastPos)
		}
	})
}

// FuzzDecodeFrame checks that a frame that decodes re-encodes to the same
// bytes: the decoder accepts exactly the encoder's language, and that of
// release ff40391, whose frames re-encode with their spare slots emptied.
func FuzzDecodeFrame(f *testing.F) {
	segs, _, _, _ := realFiles(f)
	h, _ := decodeFrameHeader(segs[0])
	f.Add(segs[0][:h.size()])
	for _, s := range []string{releaseFrameHashKey, releaseFrameNoHashKey} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var recs []storage.Record
		h, err := decodeFrame(frame, 0, func(r storage.StoredRecord) bool {
			recs = append(recs, r.Record)
			return true
		})
		if err != nil {
			return
		}
		again := appendFrame(nil, h.firstPos, h.arrival, recs)
		if want := emptySpares(frame); !bytes.Equal(again, want) {
			t.Fatalf("re-encoding differs:\n%x\n%x", want, again)
		}
	})
}

// emptySpares returns a frame the decoder accepted with every non-empty
// spare slot emptied, as this engine would have written it, and otherwise
// byte for byte the same. It parses the body itself rather than trust the
// decoder under test.
func emptySpares(frame []byte) []byte {
	h, _ := decodeFrameHeader(frame)
	body := frame[frameHeaderSize:]
	var out []byte
	for range h.count {
		var lens [3]uint64
		var ends [3]int // of each length's bytes in body
		n := 0
		for j := range lens {
			v, k := binary.Uvarint(body[n:])
			lens[j], n = v, n+k
			ends[j] = n
		}
		key, spare, data := int(lens[0]), int(lens[1]), int(lens[2])
		if spare > 0 && ends[1]-ends[0] == uvarintLen(spare) {
			out = append(out, body[:ends[0]]...)
			out = append(out, 0)
			out = append(out, body[ends[1]:ends[2]]...)
			out = append(out, body[n:n+key]...)
			out = append(out, body[n+key+spare:n+key+spare+data]...)
		} else {
			// Nothing to empty, or a length no encoder writes: keep it, so
			// that the comparison reports it.
			out = append(out, body[:n+key+spare+data]...)
		}
		body = body[n+key+spare+data:]
	}
	canonical := binary.BigEndian.AppendUint32(nil, frameMagic)
	canonical = binary.BigEndian.AppendUint32(canonical, uint32(len(out)))
	canonical = binary.BigEndian.AppendUint32(canonical, crc32.Checksum(out, castagnoli))
	canonical = append(canonical, frame[12:frameHeaderSize]...)
	canonical = append(canonical, out...)
	finishFrame(canonical, h.firstPos, h.arrival)
	return canonical
}

func FuzzDecodeIndex(f *testing.F) {
	_, idxs, _, _ := realFiles(f)
	for _, b := range idxs {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := decodeIndex(b)
		if err != nil {
			return
		}
		if again := encodeIndex(ix); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs")
		}
		// Lookups on an accepted index stay within the segment.
		for _, p := range []uint64{0, 1, ix.lastPos, ix.lastPos + 1} {
			if off := ix.seekPos(p); off < 0 || (off > 0 && off >= ix.size) {
				t.Fatalf("seekPos(%d) = %d outside [0,%d)", p, off, ix.size)
			}
		}
	})
}

func FuzzReadJournal(f *testing.F) {
	_, _, wals, _ := realFiles(f)
	for _, b := range wals {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "x.wal")
		os.WriteFile(path, b, 0o644)
		recs, torn, err := readJournal(path)
		if err != nil {
			return
		}
		end := int64(len(b))
		if torn >= 0 {
			end = torn
		}
		var covered int64
		for _, r := range recs {
			if r.offset != covered {
				t.Fatalf("record at %d, expected %d", r.offset, covered)
			}
			covered += journalPrefix + r.header.size()
		}
		if covered != end {
			t.Fatalf("records cover %d bytes of %d", covered, end)
		}
	})
}

func FuzzOpenMeta(f *testing.F) {
	_, _, _, metas := realFiles(f)
	for _, b := range metas {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "meta.log")
		os.WriteFile(path, b, 0o644)
		m, err := openMeta(path, slog.New(slog.DiscardHandler))
		if err != nil {
			return
		}
		defer m.close()
		// Whatever was accepted must survive a compaction and reopen.
		m.mu.Lock()
		want := len(m.entries)
		err = m.compact()
		m.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := openMeta(path, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("reopen after compaction: %v", err)
		}
		defer m2.close()
		if len(m2.entries) != want {
			t.Fatalf("%d entries after compaction, want %d", len(m2.entries), want)
		}
	})
}
