package bench

import (
	"math/big"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestSplitShards(t *testing.T) {
	tests := []struct {
		total, per int
		want       []int
	}{
		{1, 10000, []int{1}},
		{10000, 10000, []int{10000}},
		{10001, 10000, []int{5001, 5000}},
		{20000, 10000, []int{10000, 10000}},
		{25000, 10000, []int{8334, 8333, 8333}},
	}
	for _, tt := range tests {
		got := splitShards(tt.total, tt.per)
		if len(got) != len(tt.want) {
			t.Errorf("splitShards(%d, %d) = %v, want %v", tt.total, tt.per, got, tt.want)
			continue
		}
		for i := range got {
			if got[i].shards != tt.want[i] {
				t.Errorf("splitShards(%d, %d)[%d] = %d shards, want %d", tt.total, tt.per, i, got[i].shards, tt.want[i])
			}
		}
	}
}

// TestScaleBatches checks the write phase's requests: within Kinesis's
// bounds, to the right stream, and every shard's key exactly records
// times.
func TestScaleBatches(t *testing.T) {
	tests := []struct {
		name            string
		shards          []int
		records, size   int
		wantPerBatchMax int
	}{
		{"1 KiB records: 500 a call", []int{1000}, 3, 1024, 500},
		{"1 MiB records: 4 a call, under 5 MiB", []int{7}, 5, 1 << 20, 4},
		{"two streams", []int{10, 3}, 2, 100, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var streams []scaleStream
			for i, n := range tt.shards {
				streams = append(streams, scaleStream{name: string(rune('a' + i)), shards: n})
			}
			perKey := map[string]map[string]int{} // stream → hash key → records
			for _, b := range scaleBatches(streams, tt.records, tt.size) {
				if n := len(b.entries); n == 0 || n > tt.wantPerBatchMax {
					t.Fatalf("a batch of %d records, want 1 to %d", n, tt.wantPerBatchMax)
				}
				bytes := 0
				for _, e := range b.entries {
					bytes += len(e.Data) + len(aws.ToString(e.PartitionKey))
					if perKey[b.stream] == nil {
						perKey[b.stream] = map[string]int{}
					}
					perKey[b.stream][aws.ToString(e.ExplicitHashKey)]++
				}
				if bytes > scaleBatchBytes {
					t.Fatalf("a batch of %d bytes, over %d", bytes, scaleBatchBytes)
				}
			}
			for _, s := range streams {
				keys := perKey[s.name]
				if len(keys) != s.shards {
					t.Errorf("stream %s: %d hash keys, want one a shard (%d)", s.name, len(keys), s.shards)
				}
				for k, n := range keys {
					if n != tt.records {
						t.Errorf("stream %s: key %s has %d records, want %d", s.name, k, n, tt.records)
					}
					if _, ok := new(big.Int).SetString(k, 10); !ok {
						t.Errorf("key %q is not a decimal hash key", k)
					}
				}
			}
		})
	}
}
