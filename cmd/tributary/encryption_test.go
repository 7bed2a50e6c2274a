package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/keyring"
)

const encTestKey = "5d3c2b1a-0000-4000-8000-000000000001"

func writeTestKeyring(t *testing.T, path string, disabled bool, versions ...string) {
	t.Helper()
	doc := fmt.Sprintf("[[key]]\nid = %q\naliases = [\"alias/aws/kinesis\"]\ndisabled = %v\nversions = [\"%s\"]\n",
		encTestKey, disabled, strings.Join(versions, `", "`))
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

// reloadKeyring sends SIGHUP and waits for the server to log the reload
// (the n-th one).
func reloadKeyring(t *testing.T, p *serverProcess, n int) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(p.stderr.String(), "keyring reloaded") < n {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged after SIGHUP: %s", p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// secretPayloads returns n distinctive random payloads.
func secretPayloads(tag string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := make([]byte, 20)
		rand.Read(b)
		out[i] = []byte(tag + "-" + hex.EncodeToString(b))
	}
	return out
}

// plaintextIn lists the files under dir that hold any of payloads.
func plaintextIn(t *testing.T, dir string, payloads [][]byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, pl := range payloads {
			if bytes.Contains(b, pl) {
				found = append(found, fmt.Sprintf("%s holds %s", p, pl))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func putAll(t *testing.T, ctx context.Context, c *sdk.Client, payloads [][]byte, wantType types.EncryptionType) {
	t.Helper()
	for _, pl := range payloads {
		out, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: pl})
		if err != nil {
			t.Fatalf("PutRecord: %v", err)
		}
		if out.EncryptionType != wantType {
			t.Fatalf("PutRecord EncryptionType %s, want %s", out.EncryptionType, wantType)
		}
	}
}

// getAll reads shard 0 from TRIM_HORIZON in one call.
func getAll(ctx context.Context, c *sdk.Client) ([]types.Record, error) {
	it, err := c.GetShardIterator(ctx, &sdk.GetShardIteratorInput{StreamName: aws.String("s"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		return nil, err
	}
	out, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		return nil, err
	}
	return out.Records, nil
}

// checkEncRecords checks that shard 0 holds plain then encrypted payloads,
// each marked as it was stored.
func checkEncRecords(t *testing.T, ctx context.Context, c *sdk.Client, plain, encrypted [][]byte) {
	t.Helper()
	recs, err := getAll(ctx, c)
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	if len(recs) != len(plain)+len(encrypted) {
		t.Fatalf("read %d records, want %d", len(recs), len(plain)+len(encrypted))
	}
	for i, r := range recs {
		want, typ := types.EncryptionType(""), ""
		if i < len(plain) {
			want = types.EncryptionType("")
			if !bytes.Equal(r.Data, plain[i]) {
				t.Fatalf("record %d: %q, want %q", i, r.Data, plain[i])
			}
		} else {
			want, typ = types.EncryptionTypeKms, "KMS"
			if !bytes.Equal(r.Data, encrypted[i-len(plain)]) {
				t.Fatalf("record %d: %q, want %q", i, r.Data, encrypted[i-len(plain)])
			}
		}
		if r.EncryptionType != want {
			t.Fatalf("record %d: EncryptionType %q, want %q", i, r.EncryptionType, typ)
		}
	}
}

// startEncrypted starts the server on dir with args, creates the stream
// "s", writes plain records to it and starts its encryption under
// alias/aws/kinesis; it returns the records written.
func startEncrypted(t *testing.T, dir string, args ...string) (*serverProcess, *sdk.Client, [][]byte) {
	t.Helper()
	ctx := context.Background()
	p := startProcess(t, dir, args...)
	c := p.client()
	createActive(t, ctx, c, "s")
	plain := secretPayloads("plain", 5)
	putAll(t, ctx, c, plain, types.EncryptionTypeNone)
	if _, err := c.StartStreamEncryption(ctx, &sdk.StartStreamEncryptionInput{StreamName: aws.String("s"),
		EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
		t.Fatalf("StartStreamEncryption: %v", err)
	}
	return p, c, plain
}

// TestEncryptionAtRestProcess runs the real server with --keyring: after
// StartStreamEncryption the data directory holds no plaintext of the
// records written (in the journal before a checkpoint, in the segments
// after a restart); every record reads back, after a rotation by SIGHUP
// and after kill -9 and a restart; a disabled key answers
// KMSDisabledException to reads and writes.
func TestEncryptionAtRestProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keys := filepath.Join(t.TempDir(), "keyring.toml")
	v1, _ := keyring.NewMaterial()
	v2, _ := keyring.NewMaterial()
	writeTestKeyring(t, keys, false, v1)
	args := []string{"--keyring", keys, "--checkpoint-interval", "1h"}
	p, c, plain := startEncrypted(t, dir, args...)
	d, err := c.DescribeStream(ctx, &sdk.DescribeStreamInput{StreamName: aws.String("s")})
	if err != nil || d.StreamDescription.EncryptionType != types.EncryptionTypeKms || aws.ToString(d.StreamDescription.KeyId) != "alias/aws/kinesis" {
		t.Fatalf("DescribeStream: %+v, %v", d, err)
	}
	_, err = c.StartStreamEncryption(ctx, &sdk.StartStreamEncryptionInput{StreamName: aws.String("s"),
		EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/none")})
	wantAPIError(t, err, "KMSNotFoundException", "Key 'alias/none' does not exist")

	secret := secretPayloads("secret", 20)
	putAll(t, ctx, c, secret, types.EncryptionTypeKms)
	checkEncRecords(t, ctx, c, plain, secret)
	if found := plaintextIn(t, dir, secret); len(found) > 0 {
		t.Fatalf("plaintext of encrypted records on disk (journal): %v", found)
	}
	if found := plaintextIn(t, dir, plain); len(found) == 0 {
		t.Fatal("the plain records are not found on disk either: the scan misses the data")
	}

	// Rotate: a second version, loaded on SIGHUP. New data keys are made
	// per segment and per process, so restart to write under version 2.
	writeTestKeyring(t, keys, false, v1, v2)
	reloadKeyring(t, p, 1)
	p.kill() // kill -9: recovery replays the journal, which is encrypted too
	p = startProcess(t, dir, args...)
	c = p.client()
	checkEncRecords(t, ctx, c, plain, secret)
	secret2 := secretPayloads("rotated", 5)
	putAll(t, ctx, c, secret2, types.EncryptionTypeKms)
	all := append(append([][]byte{}, secret...), secret2...)
	checkEncRecords(t, ctx, c, plain, all)

	// A disabled key: reads and writes fail as on AWS.
	writeTestKeyring(t, keys, true, v1, v2)
	reloadKeyring(t, p, 1)
	keyARN := "arn:aws:kms:us-east-1:" + testAccount + ":key/" + encTestKey
	_, err = getAll(ctx, c)
	wantAPIError(t, err, "KMSDisabledException", keyARN+" is disabled.")
	_, err = c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("x")})
	wantAPIError(t, err, "KMSDisabledException", keyARN+" is disabled.")
	writeTestKeyring(t, keys, false, v1, v2)
	reloadKeyring(t, p, 2)

	// A graceful stop checkpoints: now the segments hold the records.
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if found := plaintextIn(t, dir, all); len(found) > 0 {
		t.Fatalf("plaintext of encrypted records on disk (segments): %v", found)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no segment files")
	}
	p = startProcess(t, dir, args...)
	checkEncRecords(t, ctx, p.client(), plain, all)
}

// TestEncryptionAtRestJetStream: the same with --storage jetstream: after
// StartStreamEncryption the data directory (stream store, Raft and
// metadata logs) holds no plaintext of the records written; they read
// back after kill -9 and a restart; a disabled key answers
// KMSDisabledException to reads.
func TestEncryptionAtRestJetStream(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keys := filepath.Join(t.TempDir(), "keyring.toml")
	v1, _ := keyring.NewMaterial()
	writeTestKeyring(t, keys, false, v1)
	args := []string{"--storage", "jetstream", "--keyring", keys}
	p, c, plain := startEncrypted(t, dir, args...)
	secret := secretPayloads("secret", 20)
	putAll(t, ctx, c, secret, types.EncryptionTypeKms)
	checkEncRecords(t, ctx, c, plain, secret)
	if found := plaintextIn(t, dir, secret); len(found) > 0 {
		t.Fatalf("plaintext of encrypted records on disk: %v", found)
	}
	if found := plaintextIn(t, dir, plain); len(found) == 0 {
		t.Fatal("the plain records are not found on disk either: the scan misses the data")
	}

	p.kill()
	p = startProcess(t, dir, args...)
	c = p.client()
	checkEncRecords(t, ctx, c, plain, secret)
	if found := plaintextIn(t, dir, secret); len(found) > 0 {
		t.Fatalf("plaintext of encrypted records on disk after a restart: %v", found)
	}

	writeTestKeyring(t, keys, true, v1)
	reloadKeyring(t, p, 1)
	keyARN := "arn:aws:kms:us-east-1:" + testAccount + ":key/" + encTestKey
	_, err := getAll(ctx, c)
	wantAPIError(t, err, "KMSDisabledException", keyARN+" is disabled.")
}
