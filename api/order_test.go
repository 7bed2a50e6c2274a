package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/kinesis"
)

// TestOrderOfChecks pins which error AWS gives a request that is wrong in
// more than one way: request syntax, then validation, then the stream's
// existence, then the shard's, then state and throughput (the answers
// captured from the live service in kinesalite's tests). Each request
// here names a stream that does not exist.
func TestOrderOfChecks(t *testing.T) {
	a, _ := newTestAPI(t)
	list := func(n int, format string) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(format, i)
		}
		return strings.Join(items, ",")
	}
	const notFound = `{"__type":"ResourceNotFoundException","message":"Stream nope under account 000000000000 not found."}`
	tests := []struct {
		op, body string
		want     string // the whole body, or a prefix ending in "..."
	}{
		{kinesis.OpSplitShard, `{"StreamName":"nope","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"5"}`, notFound},
		{kinesis.OpSplitShard, `{"StreamName":"nope","ShardToSplit":"xyz","NewStartingHashKey":"0"}`, notFound},
		{kinesis.OpMergeShards, `{"StreamName":"nope","ShardToMerge":"xyz","AdjacentShardToMerge":"abc-0"}`, notFound},
		{kinesis.OpGetShardIterator, `{"StreamName":"nope","ShardId":"abc-2147483647","ShardIteratorType":"LATEST"}`,
			`{"__type":"ResourceNotFoundException","message":"Shard shardId-002147483647 in stream nope under account 000000000000 does not exist"}`},
		// Oversized lists are the model's, checked before the stream is
		// looked for.
		{kinesis.OpAddTagsToStream, `{"StreamName":"nope","Tags":{` + list(201, `"k%d":"v"`) + `}}`,
			`{"__type":"ValidationException","message":"1 validation error detected: Value '{...`},
		{kinesis.OpRemoveTagsFromStream, `{"StreamName":"nope","TagKeys":[` + list(51, `"k%d"`) + `]}`,
			`{"__type":"ValidationException","message":"1 validation error detected: Value '[k0, k1...`},
		// Within the model's limits, the stream is looked for first.
		{kinesis.OpAddTagsToStream, `{"StreamName":"nope","Tags":{` + list(60, `"k%d":"v"`) + `}}`, notFound},
	}
	for _, tt := range tests {
		r := call(a, kinesis.ContentTypeJSON, tt.op, tt.body)
		got := string(r.Body)
		if prefix, ok := strings.CutSuffix(tt.want, "..."); ok {
			if r.Status != 400 || !strings.HasPrefix(got, prefix) {
				t.Errorf("%s %.80s: %d %.200s, want 400 %s...", tt.op, tt.body, r.Status, got, prefix)
			}
			continue
		}
		if r.Status != 400 || got != tt.want {
			t.Errorf("%s %.80s: %d %s, want 400 %s", tt.op, tt.body, r.Status, got, tt.want)
		}
	}
}
