package api

import (
	"testing"

	"github.com/tributary-io/tributary/kinesis"
)

// TestEnhancedMonitoringWire checks the answers of EnableEnhancedMonitoring
// and DisableEnhancedMonitoring as they go on the wire: both lists always
// present, ALL shown as the seven metrics in AWS's order, and the stream's
// DescribeStreamSummary showing the set.
func TestEnhancedMonitoringWire(t *testing.T) {
	a, _ := newTestAPI(t)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), 200, ``)
	all := `["IncomingBytes","OutgoingRecords","IteratorAgeMilliseconds","IncomingRecords","ReadProvisionedThroughputExceeded","WriteProvisionedThroughputExceeded","OutgoingBytes"]`
	steps := []struct {
		op, body string
		status   int
		want     string
	}{
		{kinesis.OpEnableEnhancedMonitoring, `{"StreamName":"s","ShardLevelMetrics":["OutgoingBytes","IncomingBytes"]}`, 200,
			`{"StreamName":"s","CurrentShardLevelMetrics":[],"DesiredShardLevelMetrics":["IncomingBytes","OutgoingBytes"],"StreamARN":"` + testARN + `"}`},
		{kinesis.OpEnableEnhancedMonitoring, `{"StreamARN":"` + testARN + `","ShardLevelMetrics":["ALL"]}`, 200,
			`{"StreamName":"s","CurrentShardLevelMetrics":["IncomingBytes","OutgoingBytes"],"DesiredShardLevelMetrics":` + all + `,"StreamARN":"` + testARN + `"}`},
		{kinesis.OpDisableEnhancedMonitoring, `{"StreamName":"s","ShardLevelMetrics":["IteratorAgeMilliseconds","IncomingRecords"]}`, 200,
			`{"StreamName":"s","CurrentShardLevelMetrics":` + all + `,"DesiredShardLevelMetrics":["IncomingBytes","OutgoingRecords","ReadProvisionedThroughputExceeded","WriteProvisionedThroughputExceeded","OutgoingBytes"],"StreamARN":"` + testARN + `"}`},
		{kinesis.OpDisableEnhancedMonitoring, `{"StreamName":"s","ShardLevelMetrics":["ALL"]}`, 200,
			`{"StreamName":"s","CurrentShardLevelMetrics":["IncomingBytes","OutgoingRecords","ReadProvisionedThroughputExceeded","WriteProvisionedThroughputExceeded","OutgoingBytes"],"DesiredShardLevelMetrics":[],"StreamARN":"` + testARN + `"}`},
		{kinesis.OpEnableEnhancedMonitoring, `{"StreamName":"nope","ShardLevelMetrics":["ALL"]}`, 400,
			`{"__type":"ResourceNotFoundException","message":"Stream nope under account 000000000000 not found."}`},
	}
	for _, st := range steps {
		wantResponse(t, call(a, kinesis.ContentTypeJSON, st.op, st.body), st.status, st.want)
	}
}
