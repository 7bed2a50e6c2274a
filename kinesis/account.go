package kinesis

// Shapes of the account-level operations: limits, account settings and
// resource policies.

// Statuses of the minimum throughput billing commitment.
const (
	CommitmentEnabled                        = "ENABLED"
	CommitmentDisabled                       = "DISABLED"
	CommitmentEnabledUntilEarliestAllowedEnd = "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
)

// DescribeLimitsInput is the (empty) input of DescribeLimits.
type DescribeLimitsInput struct{}

// DescribeLimitsOutput is the output of DescribeLimits.
type DescribeLimitsOutput struct {
	ShardLimit               int32 `json:"ShardLimit"`
	OpenShardCount           int32 `json:"OpenShardCount"`
	OnDemandStreamCount      int32 `json:"OnDemandStreamCount"`
	OnDemandStreamCountLimit int32 `json:"OnDemandStreamCountLimit"`
}

// MinimumThroughputBillingCommitmentInput is the commitment setting of
// UpdateAccountSettings.
type MinimumThroughputBillingCommitmentInput struct {
	Status *string `json:"Status,omitempty"`
}

// MinimumThroughputBillingCommitmentOutput is the commitment as the
// account settings operations report it.
type MinimumThroughputBillingCommitmentOutput struct {
	Status               string     `json:"Status"`
	StartedAt            *Timestamp `json:"StartedAt,omitempty"`
	EndedAt              *Timestamp `json:"EndedAt,omitempty"`
	EarliestAllowedEndAt *Timestamp `json:"EarliestAllowedEndAt,omitempty"`
}

// DescribeAccountSettingsInput is the (empty) input of
// DescribeAccountSettings.
type DescribeAccountSettingsInput struct{}

// DescribeAccountSettingsOutput is the output of DescribeAccountSettings.
type DescribeAccountSettingsOutput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentOutput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

// UpdateAccountSettingsInput is the input of UpdateAccountSettings.
type UpdateAccountSettingsInput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentInput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

// UpdateAccountSettingsOutput is the output of UpdateAccountSettings.
type UpdateAccountSettingsOutput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentOutput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

// GetResourcePolicyInput is the input of GetResourcePolicy.
type GetResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamID    *string `json:"StreamId,omitempty"`
}

// GetResourcePolicyOutput is the output of GetResourcePolicy: the policy
// document as a JSON string.
type GetResourcePolicyOutput struct {
	Policy string `json:"Policy"`
}

// PutResourcePolicyInput is the input of PutResourcePolicy; no output.
type PutResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	Policy      *string `json:"Policy,omitempty"`
	StreamID    *string `json:"StreamId,omitempty"`
}

// DeleteResourcePolicyInput is the input of DeleteResourcePolicy; no
// output.
type DeleteResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamID    *string `json:"StreamId,omitempty"`
}
