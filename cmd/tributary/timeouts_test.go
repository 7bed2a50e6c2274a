package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestSubscribeToShardOutlivesReadTimeout checks that --read-timeout
// limits request bodies only: a SubscribeToShard session, a response that
// lasts minutes, goes on delivering records well past it, over HTTP/1.1
// and HTTP/2. (A timeout applied to the whole request, as a context
// deadline or a write deadline would be, fails it.)
func TestSubscribeToShardOutlivesReadTimeout(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			addr := startServerAddr(t, func(c *serveConfig) { c.ReadTimeout = readTimeout })
			hc := tr.client()
			// Before the server stops: it would wait for the connection.
			t.Cleanup(hc.CloseIdleConnections)
			c := newClient(addr, hc)
			createActive(t, ctx, c, "s")
			cons := aws.ToString(registerActive(t, ctx, c, streamARN("s"), "app").ConsumerARN)
			s := subscribe(t, ctx, c, cons, &types.StartingPosition{Type: types.ShardIteratorTypeLatest})

			// Well past the read timeout, and before the first heartbeat
			// (5 s) could mask a session that ended.
			time.Sleep(4 * readTimeout)
			if _, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("late")}); err != nil {
				t.Fatalf("PutRecord: %v", err)
			}
			got, _ := s.collect(t, ctx, 1)
			if fmt.Sprint(got) != "[late]" {
				t.Fatalf("records %v, want [late]", got)
			}
		})
	}
}
