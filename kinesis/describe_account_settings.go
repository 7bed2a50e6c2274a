package kinesis

// DescribeAccountSettingsInput is the (empty) input of
// DescribeAccountSettings.
type DescribeAccountSettingsInput struct{}

// DescribeAccountSettingsOutput is the output of DescribeAccountSettings.
type DescribeAccountSettingsOutput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentOutput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

// Validate checks the input against the service model; it has no members.
func (in *DescribeAccountSettingsInput) Validate() *Error { return nil }
