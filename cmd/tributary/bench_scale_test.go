package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/stream"
)

// TestBenchScale runs the scale workload small against the real server
// and checks its figures by field name, as a script would: every record
// written is read back, the phases' RSS and the idle CPU are reported,
// and the streams are deleted at the end, or kept with --scale-keep.
func TestBenchScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and runs for a few seconds")
	}
	client, _ := startServerLimits(t, t.TempDir(), stream.LimitsOff)
	endpoint := aws.ToString(client.Options().BaseEndpoint)
	for _, keep := range []bool{false, true} {
		t.Run("keep="+strconv.FormatBool(keep), func(t *testing.T) {
			jsonPath := filepath.Join(t.TempDir(), "result.json")
			args := []string{
				"bench", "--endpoint", endpoint, "--json", jsonPath, "--workload", "scale",
				// The server runs in this process, so its RSS and CPU are ours.
				"--pid", strconv.Itoa(os.Getpid()),
				"--scale-shards", "40", "--scale-records", "3", "--scale-record-size", "100",
				"--scale-settle", "0s", "--scale-idle", "100ms", "--create-timeout", "10s",
			}
			if keep {
				args = append(args, "--scale-keep")
			}
			var stdout, stderr bytes.Buffer
			if status := runMain(context.Background(), args, nil, &stdout, &stderr, env(nil)); status != 0 {
				t.Fatalf("status = %d, want 0; stderr:\n%s", status, stderr.String())
			}
			data, err := os.ReadFile(jsonPath)
			if err != nil {
				t.Fatal(err)
			}
			var result struct {
				Workloads []struct {
					Name          string  `json:"name"`
					Shards        int     `json:"shards"`
					Records       int64   `json:"records"`
					FailedRecords int64   `json:"failed_records"`
					Bytes         int64   `json:"bytes"`
					RecordsPerSec float64 `json:"records_per_sec"`
					Error         string  `json:"error"`
					Scale         *struct {
						Streams        []string `json:"streams"`
						Kept           bool     `json:"kept"`
						CreateS        float64  `json:"create_s"`
						ReadRecords    int64    `json:"read_records"`
						ReadCalls      int64    `json:"read_calls"`
						RSSAfterCreate *int64   `json:"rss_after_create_bytes"`
						RSSAfterWrite  *int64   `json:"rss_after_write_bytes"`
						RSSAfterRead   *int64   `json:"rss_after_read_bytes"`
						IdleCPUPercent *float64 `json:"idle_cpu_percent"`
					} `json:"scale"`
				} `json:"workloads"`
			}
			if err := json.Unmarshal(data, &result); err != nil {
				t.Fatalf("result is not JSON: %v\n%s", err, data)
			}
			if len(result.Workloads) != 1 || result.Workloads[0].Scale == nil {
				t.Fatalf("want one scale workload with its figures in\n%s", data)
			}
			w, s := result.Workloads[0], result.Workloads[0].Scale
			if w.Name != "scale" || w.Shards != 40 || w.Records != 120 || w.FailedRecords != 0 || w.Bytes != 12000 || w.RecordsPerSec <= 0 || w.Error != "" {
				t.Errorf("write figures: %+v, want 120 records of 100 B to 40 shards", w)
			}
			if s.ReadRecords != 120 || s.ReadCalls < 80 || s.CreateS <= 0 || s.Kept != keep || len(s.Streams) != 1 {
				t.Errorf("scale figures: %+v", s)
			}
			for name, v := range map[string]*int64{"after create": s.RSSAfterCreate, "after write": s.RSSAfterWrite, "after read": s.RSSAfterRead} {
				if v == nil || *v <= 0 {
					t.Errorf("RSS %s = %v, want a size", name, v)
				}
			}
			if s.IdleCPUPercent == nil || *s.IdleCPUPercent < 0 {
				t.Errorf("idle_cpu_percent = %v, want a measure", s.IdleCPUPercent)
			}
			_, err = client.DescribeStreamSummary(context.Background(), &sdk.DescribeStreamSummaryInput{StreamName: aws.String(s.Streams[0])})
			var notFound *types.ResourceNotFoundException
			if keep && err != nil {
				t.Errorf("the kept stream: %v", err)
			}
			if !keep && err == nil {
				// Deleting: DELETING until the server's delay passes.
				out, _ := client.DescribeStreamSummary(context.Background(), &sdk.DescribeStreamSummaryInput{StreamName: aws.String(s.Streams[0])})
				if st := out.StreamDescriptionSummary.StreamStatus; st != types.StreamStatusDeleting {
					t.Errorf("the stream after the run is %s, want deleted", st)
				}
			} else if !keep && !errors.As(err, &notFound) {
				t.Errorf("the stream after the run: %v, want ResourceNotFoundException", err)
			}
		})
	}
}
