package api

import (
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

// exceptions names each kind of failure of package stream with the
// exception it is answered as.
var exceptions = [...]string{
	stream.CodeNotFound:           kinesis.ErrResourceNotFound,
	stream.CodeInUse:              kinesis.ErrResourceInUse,
	stream.CodeInvalidArgument:    kinesis.ErrInvalidArgument,
	stream.CodeLimitExceeded:      kinesis.ErrLimitExceeded,
	stream.CodeExpiredIterator:    kinesis.ErrExpiredIterator,
	stream.CodeExpiredNextToken:   kinesis.ErrExpiredNextToken,
	stream.CodeValidation:         kinesis.ErrValidation,
	stream.CodeAccessDenied:       kinesis.ErrAccessDenied,
	stream.CodeInternalFailure:    kinesis.ErrInternalFailure,
	stream.CodeDryRun:             kinesis.ErrDryRunOperation,
	stream.CodeThrottling:         kinesis.ErrThrottling,
	stream.CodeThroughputExceeded: kinesis.ErrProvisionedThroughputExceeded,
	stream.CodeKMSNotFound:        kinesis.ErrKMSNotFound,
	stream.CodeKMSDisabled:        kinesis.ErrKMSDisabled,
	stream.CodeKMSInvalidState:    kinesis.ErrKMSInvalidState,
}

// exceptionOf is the exception for code; an unknown code (a bug) is an
// InternalFailure rather than an empty __type.
func exceptionOf(code stream.Code) string {
	if code > 0 && int(code) < len(exceptions) && exceptions[code] != "" {
		return exceptions[code]
	}
	return kinesis.ErrInternalFailure
}
