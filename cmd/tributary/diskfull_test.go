package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/internal/tmpfs"
)

// TestServerDiskFull runs a real server on a small filesystem and writes
// until the disk is full: PutRecords entries and PutRecord calls then fail
// with InternalFailure. Once space is freed, writes must succeed again
// without a restart; after a kill -9 and a restart, every acknowledged
// record must be stored and no refused one.
func TestServerDiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const size = 8 << 20
	tmpfs.Mount(t, dir, size)
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, size/4), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const stream = "full"
	p := startProcess(t, dir)
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() }) // before the unmount
	c := p.client()
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, stream)

	var mu sync.Mutex
	acked := make(map[string]string) // data → sequence number
	refused := make(map[string]bool)
	record := func(data, seq string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			refused[data] = true
		} else {
			acked[data] = seq
		}
	}
	payload := strings.Repeat("x", 2<<10)
	var wg sync.WaitGroup
	// Three PutRecords writers and one PutRecord writer, until each has
	// been refused 20 times.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			failures := 0
			for n := 0; failures < 20 && n < 100_000; n++ {
				if w == 3 {
					data := fmt.Sprintf("w%d-%d %s", w, n, payload)
					out, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(data[:8]), Data: []byte(data)})
					if err != nil {
						var ae smithy.APIError
						if !errors.As(err, &ae) || ae.ErrorCode() != "InternalFailure" {
							t.Errorf("PutRecord on a full disk: %v, want InternalFailure", err)
							return
						}
						failures++
						record(data, "", err)
						continue
					}
					record(data, *out.SequenceNumber, nil)
					continue
				}
				entries := make([]types.PutRecordsRequestEntry, 50)
				for i := range entries {
					data := fmt.Sprintf("w%d-%d-%d %s", w, n, i, payload)
					entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("k%d", i)), Data: []byte(data)}
				}
				out, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
				if err != nil {
					t.Errorf("PutRecords on a full disk: %v, want entries failed one by one", err)
					return
				}
				for i, r := range out.Records {
					data := string(entries[i].Data)
					if r.ErrorCode != nil {
						if *r.ErrorCode != "InternalFailure" {
							t.Errorf("entry failed with %s, want InternalFailure", *r.ErrorCode)
							return
						}
						failures++
						record(data, "", errors.New(*r.ErrorCode))
						continue
					}
					record(data, *r.SequenceNumber, nil)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(refused) == 0 || len(acked) == 0 {
		t.Fatalf("%d acknowledged, %d refused: the disk did not fill as planned", len(acked), len(refused))
	}

	// Room again: writing resumes without a restart.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	out, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("after"), Data: []byte("after")})
	if err != nil {
		t.Errorf("PutRecord once there is room again: %v", err) // go on: what is stored is checked too
	} else {
		acked["after"] = *out.SequenceNumber
	}

	p.stop(t, syscall.SIGKILL)
	p = startProcess(t, dir)
	c = p.client()
	stored := readStream(t, ctx, c, stream)
	bySeq := make(map[string]string)
	for seq, r := range stored {
		if refused[r.data] {
			t.Fatalf("a refused record is stored after the restart, at %s: %.20q", seq, r.data)
		}
		bySeq[seq] = r.data
	}
	for data, seq := range acked {
		if bySeq[seq] != data {
			t.Fatalf("acknowledged record %.20q at %s is missing after the restart", data, seq)
		}
	}
	if len(stored) != len(acked) {
		t.Fatalf("%d records stored, %d acknowledged", len(stored), len(acked))
	}
	t.Logf("%d records acknowledged and stored, %d refused and absent", len(acked), len(refused))
}
