package main

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestSDKEnhancedMonitoring drives EnableEnhancedMonitoring and
// DisableEnhancedMonitoring through aws-sdk-go-v2 against the real server:
// the answers, DescribeStream's and DescribeStreamSummary's
// EnhancedMonitoring, AWS's errors, and the set surviving a restart.
func TestSDKEnhancedMonitoring(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c, stop := startServer(t, dir)
	createActive(t, ctx, c, "mon")
	arn := "arn:aws:kinesis:us-east-1:" + testAccount + ":stream/mon"
	all := []types.MetricsName{
		types.MetricsNameIncomingBytes, types.MetricsNameOutgoingRecords, types.MetricsNameIteratorAgeMilliseconds,
		types.MetricsNameIncomingRecords, types.MetricsNameReadProvisionedThroughputExceeded,
		types.MetricsNameWriteProvisionedThroughputExceeded, types.MetricsNameOutgoingBytes,
	}
	allButIncomingBytes := all[1:]

	en, err := c.EnableEnhancedMonitoring(ctx, &sdk.EnableEnhancedMonitoringInput{StreamName: aws.String("mon"), ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(en.StreamName) != "mon" || aws.ToString(en.StreamARN) != arn ||
		en.CurrentShardLevelMetrics == nil || len(en.CurrentShardLevelMetrics) != 0 || !slices.Equal(en.DesiredShardLevelMetrics, all) {
		t.Fatalf("EnableEnhancedMonitoring(ALL) = %s %s current %v desired %v", aws.ToString(en.StreamName), aws.ToString(en.StreamARN),
			en.CurrentShardLevelMetrics, en.DesiredShardLevelMetrics)
	}
	waitActive(t, ctx, c, "mon")
	dis, err := c.DisableEnhancedMonitoring(ctx, &sdk.DisableEnhancedMonitoringInput{StreamARN: aws.String(arn), ShardLevelMetrics: []types.MetricsName{types.MetricsNameIncomingBytes}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dis.CurrentShardLevelMetrics, all) || !slices.Equal(dis.DesiredShardLevelMetrics, allButIncomingBytes) {
		t.Fatalf("DisableEnhancedMonitoring(IncomingBytes) current %v desired %v", dis.CurrentShardLevelMetrics, dis.DesiredShardLevelMetrics)
	}
	waitActive(t, ctx, c, "mon")

	check := func(c *sdk.Client, when string) {
		t.Helper()
		d, err := c.DescribeStream(ctx, &sdk.DescribeStreamInput{StreamName: aws.String("mon")})
		if err != nil {
			t.Fatal(err)
		}
		if em := d.StreamDescription.EnhancedMonitoring; len(em) != 1 || !slices.Equal(em[0].ShardLevelMetrics, allButIncomingBytes) {
			t.Errorf("%s: DescribeStream EnhancedMonitoring %+v, want %v", when, em, allButIncomingBytes)
		}
		s, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamARN: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if em := s.StreamDescriptionSummary.EnhancedMonitoring; len(em) != 1 || !slices.Equal(em[0].ShardLevelMetrics, allButIncomingBytes) {
			t.Errorf("%s: DescribeStreamSummary EnhancedMonitoring %+v, want %v", when, em, allButIncomingBytes)
		}
	}
	check(c, "before the restart")

	_, err = c.EnableEnhancedMonitoring(ctx, &sdk.EnableEnhancedMonitoringInput{StreamName: aws.String("nope"), ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}})
	wantAPIError(t, err, "ResourceNotFoundException", "Stream nope under account "+testAccount+" not found.")
	_, err = c.DisableEnhancedMonitoring(ctx, &sdk.DisableEnhancedMonitoringInput{StreamName: aws.String("mon"), ShardLevelMetrics: []types.MetricsName{"Bogus"}})
	var invalid *types.ValidationException
	if err == nil || !errors.As(err, &invalid) {
		t.Errorf("DisableEnhancedMonitoring(Bogus): %v, want ValidationException", err)
	}

	stop()
	c, _ = startServer(t, dir)
	check(c, "after the restart")
}
