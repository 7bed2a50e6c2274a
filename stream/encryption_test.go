package stream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tributary-io/tributary/keyring"
	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/local"
)

const (
	encKeyA = "1a2b3c4d-0000-4000-8000-00000000000a" // alias/aws/kinesis, alias/orders
	encKeyB = "1a2b3c4d-0000-4000-8000-00000000000b" // disabled
)

type encFixture struct {
	*fixture
	keys   *keyring.File
	path   string
	matA   string
	matB   string
	engine *local.Engine
}

// writeKeys writes the keyring with key A enabled or not.
func (f *encFixture) writeKeys(t *testing.T, aEnabled bool) {
	t.Helper()
	doc := fmt.Sprintf(`[[key]]
id = %q
aliases = ["alias/aws/kinesis", "alias/orders"]
disabled = %v
versions = [%q]

[[key]]
id = %q
aliases = ["alias/off"]
disabled = true
versions = [%q]
`, encKeyA, !aEnabled, f.matA, encKeyB, f.matB)
	if err := os.WriteFile(f.path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if f.keys != nil {
		if err := f.keys.Reload(); err != nil {
			t.Fatal(err)
		}
	}
}

// newEncFixture is a service on the local engine (which encrypts) with a
// keyring; withKeys false gives it none.
func newEncFixture(t *testing.T, withKeys bool) *encFixture {
	t.Helper()
	ef := &encFixture{path: filepath.Join(t.TempDir(), "keyring.toml")}
	var err error
	if ef.matA, err = keyring.NewMaterial(); err != nil {
		t.Fatal(err)
	}
	ef.matB, _ = keyring.NewMaterial()
	ef.writeKeys(t, true)
	if ef.keys, err = keyring.Load(ef.path); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	opts := local.Options{Now: clock.Now, CheckpointInterval: time.Hour}
	sopts := Options{Now: clock.Now, Logger: quiet}
	if withKeys {
		opts.Keys, sopts.Keys = ef.keys, ef.keys
	}
	engine, err := local.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	svc, err := New(context.Background(), engine, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ef.engine = engine
	ef.fixture = &fixture{svc: svc, clock: clock, ctx: context.Background()}
	return ef
}

func (f *encFixture) describe(t *testing.T, name string) *StreamDescription {
	t.Helper()
	d, err := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: StreamRef{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// logKeys is the encryption key of every shard log of a stream, by shard.
func (f *encFixture) logKeys(t *testing.T, name string) map[uint32]string {
	t.Helper()
	rec := mustRecord(t, f.fixture, name)
	keys := make(map[uint32]string)
	for _, sh := range rec.Shards {
		l, err := f.engine.Log(f.ctx, logName(rec.ID, sh.Index))
		if err != nil {
			t.Fatal(err)
		}
		info, err := l.Info(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys[sh.Index] = info.EncryptionKey
	}
	return keys
}

func (f *encFixture) readShard0(t *testing.T, name string) ([]Record, error) {
	t.Helper()
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: name}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	out, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: it})
	if err != nil {
		return nil, err
	}
	return out.Records, nil
}

func TestStartStreamEncryptionErrors(t *testing.T) {
	f := newEncFixture(t, true)
	f.create(t, "s", 1)
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "creating", ShardCount: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	start := func(name, typ, key string) error {
		return f.svc.StartStreamEncryption(f.ctx, scope, EncryptionInput{Stream: StreamRef{Name: name}, EncryptionType: typ, KeyID: key})
	}
	cases := []struct {
		name, stream, typ, key string
		code                   Code
		msg                    string
	}{
		{"type NONE", "s", "NONE", "alias/aws/kinesis", CodeInvalidArgument, "EncryptionType NONE is not supported: the only valid value is KMS."},
		{"unknown alias", "s", "KMS", "alias/nope", CodeKMSNotFound, "Key 'alias/nope' does not exist"},
		{"unknown key", "s", "KMS", "1a2b3c4d-0000-4000-8000-0000000000ff", CodeKMSNotFound, "Key '1a2b3c4d-0000-4000-8000-0000000000ff' does not exist"},
		{"key ARN of another region", "s", "KMS", "arn:aws:kms:eu-west-1:" + acct + ":key/" + encKeyA, CodeKMSNotFound,
			"Key 'arn:aws:kms:eu-west-1:" + acct + ":key/" + encKeyA + "' does not exist"},
		{"disabled key", "s", "KMS", "alias/off", CodeKMSDisabled, "arn:aws:kms:us-east-1:" + acct + ":key/" + encKeyB + " is disabled."},
		{"no stream", "nope", "KMS", "alias/aws/kinesis", CodeNotFound, "Stream nope under account " + acct + " not found."},
		{"creating", "creating", "KMS", "alias/aws/kinesis", CodeInUse, "Stream creating under account " + acct + " not ACTIVE, instead in state CREATING"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, start(tc.stream, tc.typ, tc.key), tc.code, tc.msg)
		})
	}
	if got := f.describe(t, "s"); got.EncryptionType != EncryptionNone || got.KeyID != "" {
		t.Fatalf("after refused starts: %s %q, want NONE", got.EncryptionType, got.KeyID)
	}
	if k := f.logKeys(t, "s"); k[0] != "" {
		t.Fatalf("a refused start encrypted the log under %s", k[0])
	}

	// Without a keyring every key is unknown.
	g := newEncFixture(t, false)
	g.create(t, "s", 1)
	err := g.svc.StartStreamEncryption(g.ctx, scope, EncryptionInput{Stream: StreamRef{Name: "s"}, EncryptionType: "KMS", KeyID: "alias/aws/kinesis"})
	wantErr(t, err, CodeKMSNotFound, "Key 'alias/aws/kinesis (the server has no keyring: start it with --keyring)' does not exist")
}

// TestStreamEncryptionLifecycle: Start makes the stream UPDATING, then
// DescribeStream shows KMS and the KeyId as given; records written after
// are stored encrypted (the logs carry the key, GetRecords marks them
// KMS), those before stay plain and readable; children of a split are
// encrypted too; a disabled key fails writes and reads with
// KMSDisabledException; Stop makes new records plain again.
func TestStreamEncryptionLifecycle(t *testing.T) {
	f := newEncFixture(t, true)
	f.create(t, "s", 1)
	f.put(t, "s", "k", "before")
	arn := "arn:aws:kms:us-east-1:" + acct + ":alias/orders"
	if err := f.svc.StartStreamEncryption(f.ctx, scope, EncryptionInput{Stream: StreamRef{Name: "s"}, EncryptionType: "KMS", KeyID: arn}); err != nil {
		t.Fatal(err)
	}
	d := f.describe(t, "s")
	if d.StreamStatus != StatusUpdating || d.EncryptionType != "KMS" || d.KeyID != arn {
		t.Fatalf("after Start: %s %s %q, want UPDATING KMS %q", d.StreamStatus, d.EncryptionType, d.KeyID, arn)
	}
	err := f.svc.StartStreamEncryption(f.ctx, scope, EncryptionInput{Stream: StreamRef{Name: "s"}, EncryptionType: "KMS", KeyID: "alias/aws/kinesis"})
	wantErr(t, err, CodeInUse, "Stream s under account "+acct+" not ACTIVE, instead in state UPDATING")
	f.clock.Advance(defaultDelay)
	if d := f.describe(t, "s"); d.StreamStatus != StatusActive {
		t.Fatalf("status %s after the update delay", d.StreamStatus)
	}
	sum, err := f.svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "s"})
	if err != nil || sum.EncryptionType != "KMS" || sum.KeyID != arn {
		t.Fatalf("summary: %+v, %v", sum, err)
	}
	if k := f.logKeys(t, "s"); k[0] != encKeyA {
		t.Fatalf("log key %q, want %s", k[0], encKeyA)
	}
	if out := f.put(t, "s", "k", "after"); out.EncryptionType != "KMS" {
		t.Fatalf("PutRecord EncryptionType %s, want KMS", out.EncryptionType)
	}
	recs, err := f.readShard0(t, "s")
	if err != nil || len(recs) != 2 || string(recs[0].Data) != "before" || recs[0].EncryptionType != "" ||
		string(recs[1].Data) != "after" || recs[1].EncryptionType != "KMS" {
		t.Fatalf("GetRecords: %+v, %v", recs, err)
	}

	// Children of a split inherit the key.
	if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "s"}, ShardToSplit: "shardId-000000000000",
		NewStartingHashKey: "170141183460469231731687303715884105728"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	keys := f.logKeys(t, "s")
	if len(keys) != 3 {
		t.Fatalf("%d shards after the split, want 3", len(keys))
	}
	for sh, k := range keys {
		if sh > 0 && k != encKeyA {
			t.Errorf("child shard %d's log key %q, want %s", sh, k, encKeyA)
		}
	}

	// A disabled key: writes and reads fail as on AWS.
	f.writeKeys(t, false)
	keyARN := "arn:aws:kms:us-east-1:" + acct + ":key/" + encKeyA
	_, err = f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: []byte("x")})
	wantErr(t, err, CodeKMSDisabled, keyARN+" is disabled.")
	_, err = f.svc.PutRecords(f.ctx, scope, PutRecordsInput{Stream: StreamRef{Name: "s"}, Records: []PutRecordsEntry{{PartitionKey: "k", Data: []byte("x")}}})
	wantErr(t, err, CodeKMSDisabled, keyARN+" is disabled.")
	_, err = f.readShard0(t, "s")
	wantErr(t, err, CodeKMSDisabled, keyARN+" is disabled.")
	f.writeKeys(t, true)

	if err := f.svc.StopStreamEncryption(f.ctx, scope, EncryptionInput{Stream: StreamRef{Name: "s"}, EncryptionType: "KMS", KeyID: "alias/anything"}); err != nil {
		t.Fatal(err)
	}
	if d := f.describe(t, "s"); d.StreamStatus != StatusUpdating || d.EncryptionType != EncryptionNone || d.KeyID != "" {
		t.Fatalf("after Stop: %s %s %q", d.StreamStatus, d.EncryptionType, d.KeyID)
	}
	f.clock.Advance(defaultDelay)
	for sh, k := range f.logKeys(t, "s") {
		if k != "" && sh != 0 { // shard 0 is closed: its log takes no more records
			t.Errorf("shard %d's log still encrypted under %s after Stop", sh, k)
		}
	}
	if out := f.put(t, "s", "k", "plain again"); out.EncryptionType != EncryptionNone {
		t.Fatalf("PutRecord after Stop: EncryptionType %s", out.EncryptionType)
	}
}

// TestStreamEncryptionRate: AWS allows 25 starts (and 25 stops) in a
// rolling 24 hours; the 26th is LimitExceededException, and a day later
// it succeeds.
func TestStreamEncryptionRate(t *testing.T) {
	f := newEncFixture(t, true)
	f.create(t, "s", 1)
	in := EncryptionInput{Stream: StreamRef{Name: "s"}, EncryptionType: "KMS", KeyID: "alias/aws/kinesis"}
	for i := range maxEncryptionChanges {
		if err := f.svc.StartStreamEncryption(f.ctx, scope, in); err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		f.clock.Advance(defaultDelay)
	}
	wantErr(t, f.svc.StartStreamEncryption(f.ctx, scope, in), CodeLimitExceeded,
		"You can apply a new KMS key to stream s under account "+acct+" 25 times in a rolling 24-hour period.")
	f.clock.Advance(24 * time.Hour)
	if err := f.svc.StartStreamEncryption(f.ctx, scope, in); err != nil {
		t.Fatalf("start a day later: %v", err)
	}
}

var _ storage.KeyProvider = (*keyring.File)(nil)

// TestStreamEncryptionMemory: on the memory engine the setting is kept
// and shown, and records are marked KMS, though memory is not at rest and
// nothing is encrypted.
func TestStreamEncryptionMemory(t *testing.T) {
	keys := newEncFixture(t, true).keys
	f := newFixture(t, Options{Keys: keys})
	f.create(t, "s", 1)
	if err := f.svc.StartStreamEncryption(f.ctx, scope, EncryptionInput{Stream: StreamRef{Name: "s"}, EncryptionType: "KMS", KeyID: encKeyA}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	d, err := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: StreamRef{Name: "s"}})
	if err != nil || d.EncryptionType != "KMS" || d.KeyID != encKeyA || d.StreamStatus != StatusActive {
		t.Fatalf("DescribeStream: %+v, %v", d, err)
	}
	f.put(t, "s", "k", "x")
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	if recs := f.get(t, it, 10).Records; len(recs) != 1 || recs[0].EncryptionType != "KMS" {
		t.Fatalf("GetRecords: %+v", recs)
	}
}

// TestSubscribeEncrypted: SubscribeToShard delivers encrypted records
// marked KMS, and ends with KMSDisabledException when the key is disabled.
func TestSubscribeEncrypted(t *testing.T) {
	f := newEncFixture(t, true)
	f.create(t, "s", 1)
	if err := f.svc.StartStreamEncryption(f.ctx, scope, EncryptionInput{Stream: StreamRef{Name: "s"}, EncryptionType: "KMS", KeyID: "alias/aws/kinesis"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	c := f.register(t, "app")
	f.clock.Advance(defaultDelay)
	f.put(t, "s", "k", "secret")
	sub := f.subscribe(t, c.ConsumerARN, "shardId-000000000000", StartingPosition{Type: TrimHorizon})
	ev := next(t, sub)
	if len(ev.Records) != 1 || string(ev.Records[0].Data) != "secret" || ev.Records[0].EncryptionType != "KMS" {
		t.Fatalf("event: %+v", ev.Records)
	}
	f.writeKeys(t, false)
	// A second session reads from the start again, under the disabled key.
	f.clock.Advance(10 * time.Second) // past the takeover delay
	sub2, err := f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: c.ConsumerARN, ShardID: "shardId-000000000000",
		StartingPosition: StartingPosition{Type: TrimHorizon}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub2.Close)
	_, err = sub2.Next()
	wantErr(t, err, CodeKMSDisabled, "arn:aws:kms:us-east-1:"+acct+":key/"+encKeyA+" is disabled.")
}
