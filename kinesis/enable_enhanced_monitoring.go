package kinesis

// EnableEnhancedMonitoringInput is the input of EnableEnhancedMonitoring.
type EnableEnhancedMonitoringInput struct {
	StreamName        *string  `json:"StreamName,omitempty"`
	ShardLevelMetrics []string `json:"ShardLevelMetrics,omitempty"`
	StreamARN         *string  `json:"StreamARN,omitempty"`
	StreamID          *string  `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *EnableEnhancedMonitoringInput) Validate() *Error {
	var v validator
	v.checkStringList("shardLevelMetrics", in.ShardLevelMetrics, true, minMetrics, maxMetrics, &shapeMetricsName)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
