package kinesis

// UpdateAccountSettingsInput is the input of UpdateAccountSettings.
type UpdateAccountSettingsInput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentInput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

// UpdateAccountSettingsOutput is the output of UpdateAccountSettings.
type UpdateAccountSettingsOutput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentOutput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

// Validate checks the input against the service model.
func (in *UpdateAccountSettingsInput) Validate() *Error {
	var v validator
	c := in.MinimumThroughputBillingCommitment
	if v.checkPresent("minimumThroughputBillingCommitment", c != nil, true) {
		v.checkString("minimumThroughputBillingCommitment.status", c.Status, true, &shapeCommitment)
	}
	return v.err()
}
