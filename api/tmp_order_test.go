package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/kinesis"
)

func TestTmpOrder(t *testing.T) {
	a, _ := newTestAPI(t)
	var tags []string
	for i := range 201 {
		tags = append(tags, fmt.Sprintf(`"k%d":"v"`, i))
	}
	var keys []string
	for i := range 201 {
		keys = append(keys, fmt.Sprintf(`"k%d"`, i))
	}
	for _, c := range []struct{ op, body string }{
		{kinesis.OpSplitShard, `{"StreamName":"nope","ShardToSplit":"shardId-0","NewStartingHashKey":"5"}`},
		{kinesis.OpMergeShards, `{"StreamName":"nope","ShardToMerge":"shardId-0","AdjacentShardToMerge":"shardId-1"}`},
		{kinesis.OpAddTagsToStream, `{"StreamName":"nope","Tags":{` + strings.Join(tags, ",") + `}}`},
		{kinesis.OpRemoveTagsFromStream, `{"StreamName":"nope","TagKeys":[` + strings.Join(keys, ",") + `]}`},
		{kinesis.OpIncreaseStreamRetentionPeriod, `{"StreamName":"nope","RetentionPeriodHours":9000}`},
		{kinesis.OpDecreaseStreamRetentionPeriod, `{"StreamName":"nope","RetentionPeriodHours":1}`},
		{kinesis.OpGetShardIterator, `{"StreamName":"nope","ShardId":"shardId-0","ShardIteratorType":"AT_TIMESTAMP"}`},
	} {
		r := call(a, kinesis.ContentTypeJSON, c.op, c.body)
		t.Logf("%s: %d %.300s", c.op, r.Status, r.Body)
	}
}
