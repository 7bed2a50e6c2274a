package stream

import (
	"fmt"
	"strconv"
	"time"
)

// AWS's messages, in one place so that their wording can be checked against
// AWS in one read. Where a message is known from AWS (or from kinesalite,
// whose tests ran against AWS) it is reproduced exactly, including AWS's
// inconsistent final periods.

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func errStreamNotFound(name, account string) *Error {
	return newError(CodeNotFound, "Stream %s under account %s not found.", name, account)
}

func errStreamExists(name, account string) *Error {
	return newError(CodeInUse, "Stream %s under account %s already exists.", name, account)
}

func errNotActive(name, account string, status StreamStatus) *Error {
	return newError(CodeInUse, "Stream %s under account %s not ACTIVE, instead in state %s", name, account, status)
}

// errShardNotFound is for a shard id that names a shard index the stream
// does not have (or a stream that does not exist).
func errShardNotFound(shardID, name, account string) *Error {
	return newError(CodeNotFound, "Shard %s in stream %s under account %s does not exist", shardID, name, account)
}

// errBadShardID is for a shard id from which no shard index can be read.
func errBadShardID(shardID, name, account string) *Error {
	return newError(CodeNotFound, "Could not find shard %s in stream %s under account %s.", shardID, name, account)
}

func errInvalidIterator() *Error {
	return newError(CodeInvalidArgument, "Invalid ShardIterator.")
}

// amzTime formats a time as Java's Date.toString does in UTC, the form of
// the times in AWS's ExpiredIteratorException message.
func amzTime(t time.Time) string {
	return t.UTC().Format("Mon Jan 02 15:04:05 MST 2006")
}

func errIteratorExpired(issued, now time.Time, lifetime time.Duration) *Error {
	return newError(CodeExpiredIterator,
		"Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
		amzTime(issued), amzTime(now), lifetime.Milliseconds())
}

func errIteratorArgs(typ ShardIteratorType, withSeq bool) *Error {
	also := "no StartingSequenceNumber"
	if withSeq {
		also = "also a StartingSequenceNumber"
	}
	return newError(CodeInvalidArgument,
		"Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and %s.",
		typ, also)
}

func errNoTimestamp() *Error {
	return newError(CodeInvalidArgument,
		"Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
}

func errFutureTimestamp(ts, now int64) *Error {
	return newError(CodeInvalidArgument,
		"The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d", ts, now)
}

func errSeqInvalid(seq, shardID, name, account string) *Error {
	return newError(CodeInvalidArgument,
		"StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.", seq, shardID, name, account)
}

func errSeqOtherStream(seq, shardID, name, account string) *Error {
	return newError(CodeInvalidArgument,
		"StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid because it did not come from this stream.", seq, shardID, name, account)
}

func errSeqOtherShard(encoded, used string) *Error {
	return newError(CodeInvalidArgument,
		"Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s", encoded, used)
}

func errOrderingSeq(seq, name, account string) *Error {
	return newError(CodeInvalidArgument,
		"ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s is invalid.", seq, name, account)
}

func errExplicitHashKey(key string) *Error {
	return newError(CodeInvalidArgument,
		"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", key)
}

func errRetentionTooShort(hours int) *Error {
	return newError(CodeInvalidArgument,
		"Minimum allowed retention period is %d hours. Requested retention period (%d hours) is too short.", minRetentionHours, hours)
}

func errRetentionTooLong(hours int) *Error {
	return newError(CodeInvalidArgument,
		"Maximum allowed retention period is %d hours. Requested retention period (%d hours) is too long.", maxRetentionHours, hours)
}

func errRetentionNotLonger(hours int, name string, current int) *Error {
	return newError(CodeInvalidArgument,
		"Requested retention period (%d hours) for stream %s can not be shorter than existing retention period (%d hours). Use DecreaseRetentionPeriod API.", hours, name, current)
}

func errRetentionNotShorter(hours int, name string, current int) *Error {
	return newError(CodeInvalidArgument,
		"Requested retention period (%d hours) for stream %s can not be longer than existing retention period (%d hours). Use IncreaseRetentionPeriod API.", hours, name, current)
}

func errShardLimit(account, region string, current, limit, adding int) *Error {
	return newError(CodeLimitExceeded,
		"This request would exceed the shard limit for the account %s in %s. Current shard count for the account: %d. Limit: %d. Number of additional shards that would have resulted from this request: %d. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.",
		account, region, current, limit, adding)
}

// errShardRate is AWS's ProvisionedThroughputExceededException message
// for a shard over its write or read rate, the same for PutRecord, a
// PutRecords entry's ErrorMessage and GetRecords.
func errShardRate(shardID, name, account string) *Error {
	return newError(CodeThroughputExceeded,
		"Rate exceeded for shard %s in stream %s under account %s.", shardID, name, account)
}

// errDryRun is the answer to a request with DryRun set that would have
// succeeded. AWS documents the exception and its HTTP status (400) but no
// message, so the message is ours: the developer guide's description of
// the exception.
func errDryRun() *Error {
	return newError(CodeDryRun, "The request would have succeeded without the DryRun parameter.")
}

// errDryRunRate is the ThrottlingException for dry runs beyond their rate.
// AWS documents the exception, not its message; this one is ours.
func errDryRunRate(name, account string) *Error {
	return newError(CodeThrottling, "Rate exceeded for DryRun requests to stream %s under account %s.", name, account)
}

// errControlRate is AWS's LimitExceededException message for a
// control-plane call over its rate. Calls that name no stream (ListStreams,
// DescribeLimits) get the account-level form, which is not confirmed
// against AWS.
func errControlRate(name, account string) *Error {
	if name == "" {
		return newError(CodeLimitExceeded, "Rate exceeded for account %s.", account)
	}
	return newError(CodeLimitExceeded, "Rate exceeded for stream %s under account %s.", name, account)
}

// The encryption errors. AWS documents the exceptions but not Kinesis's
// messages for them; these follow KMS's own messages ("Key '…' does not
// exist", "… is disabled.") and are not confirmed against Kinesis.

func errEncryptionType(t string) *Error {
	return newError(CodeInvalidArgument, "EncryptionType %s is not supported: the only valid value is KMS.", t)
}

func errKMSNotFound(keyID string) *Error {
	return newError(CodeKMSNotFound, "Key '%s' does not exist", keyID)
}

func errKMSDisabled(keyARN string) *Error {
	return newError(CodeKMSDisabled, "%s is disabled.", keyARN)
}

// errKMSInvalidState is for stored records whose data key does not unwrap
// or that do not authenticate: the key material changed (a keyring edited
// by hand) or the data was damaged. The cause is in the message, so that
// the operator sees which file and key.
func errKMSInvalidState(cause error) *Error {
	return newError(CodeKMSInvalidState, "The stored records cannot be decrypted with the stream's key: %v", cause)
}

func errEncryptionRate(what, name, account string) *Error {
	return newError(CodeLimitExceeded,
		"You can %s stream %s under account %s %d times in a rolling 24-hour period.", what, name, account, maxEncryptionChanges)
}

// Code is the kind of failure an Error reports. Each is one exception of
// the Kinesis API, whose name package api gives it (the wire's table of
// exceptions is the one place those names are written); the domain only
// needs to tell the kinds apart.
type Code int

// Codes, each with the exception it is answered as.
const (
	_                      Code = iota
	CodeNotFound                // ResourceNotFoundException
	CodeInUse                   // ResourceInUseException
	CodeInvalidArgument         // InvalidArgumentException
	CodeLimitExceeded           // LimitExceededException
	CodeExpiredIterator         // ExpiredIteratorException
	CodeExpiredNextToken        // ExpiredNextTokenException
	CodeValidation              // ValidationException
	CodeAccessDenied            // AccessDeniedException
	CodeInternalFailure         // InternalFailure
	CodeDryRun                  // DryRunOperationException
	CodeThrottling              // ThrottlingException
	CodeThroughputExceeded      // ProvisionedThroughputExceededException
	CodeKMSNotFound             // KMSNotFoundException
	CodeKMSDisabled             // KMSDisabledException
	CodeKMSInvalidState         // KMSInvalidStateException
)

var codeNames = [...]string{
	CodeNotFound:           "not found",
	CodeInUse:              "in use",
	CodeInvalidArgument:    "invalid argument",
	CodeLimitExceeded:      "limit exceeded",
	CodeExpiredIterator:    "expired iterator",
	CodeExpiredNextToken:   "expired next token",
	CodeValidation:         "validation",
	CodeAccessDenied:       "access denied",
	CodeInternalFailure:    "internal failure",
	CodeDryRun:             "dry run",
	CodeThrottling:         "throttling",
	CodeThroughputExceeded: "throughput exceeded",
	CodeKMSNotFound:        "kms key not found",
	CodeKMSDisabled:        "kms key disabled",
	CodeKMSInvalidState:    "kms key invalid state",
}

// String names the code for logs and test failures.
func (c Code) String() string {
	if c > 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "code " + strconv.Itoa(int(c))
}

// Error is a failure the client should see: Code says which exception it
// is and Message is AWS's message for it. Errors of other types returned
// by Service are internal failures (storage errors, a cancelled context)
// and should be reported as InternalFailure, or as the context's error
// when the request was cancelled.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }
