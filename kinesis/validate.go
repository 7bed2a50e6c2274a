package kinesis

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Validation reproduces the checks AWS's front end makes from the service
// model before an operation runs, in its words:
//
//	1 validation error detected: Value 'x y' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+
//	2 validation errors detected: Value null at 'records' failed to satisfy constraint: Member must not be null; Value null at 'streamName' ...
//
// What is known of AWS's format (from messages captured off the live
// service in kinesalite's tests; TestValidationAWS replays every one):
// every violated constraint is reported, required members that are null
// included, joined by "; "; at most ten are listed, and the count in front
// is the number listed; member paths are lower-camel-case, with list
// members as 'records.1.member.partitionKey' (1-based) and map values as
// 'tags.<key>.member'; a missing value prints as null, any other value
// in single quotes, a blob as java.nio.HeapByteBuffer[pos=0 lim=N cap=N],
// a list as [a, b], a map as {k=v}.
//
// AWS's order of the violations is not fixed: it was until 2015, and has
// varied between calls since (kinesalite compares them as sets from its
// commit 0c52a1e of January 2016, "Validation order has become
// non-deterministic"). Tributary's order is fixed, so that answers can be
// compared byte for byte: members in alphabetical order of their paths
// (a list's own constraints before its members'), and within a member
// enum, pattern, minimum, maximum. Which ten are listed when more fail
// follows from it; in the one capture with more than ten (PutRecords with
// 501 entries) AWS listed the same ten.
//
// Constraints come from the Kinesis service model (botocore's
// service-2.json for 2013-12-02 and the current API reference for the
// members added since), where they differ from the captures, which are
// older: StreamName is optional since StreamARN exists, RetentionPeriodHours
// has no range (the service checks 24 to 8760 hours), TagMap takes 200
// entries and TagKeyList 50. Data's maximum in the model is 10485760, the
// largest record any stream takes; a stream's own maximum record size
// (1 MiB unless raised with UpdateMaxRecordSize) is checked by package
// stream, which knows the stream.

// maxViolations is how many violations AWS lists at most.
const maxViolations = 10

// validator collects violations in AWS's format.
type validator struct {
	msgs []string
}

func (v *validator) fail(value, path, constraint string) {
	if len(v.msgs) >= maxViolations {
		return
	}
	v.msgs = append(v.msgs, "Value "+value+" at '"+path+"' failed to satisfy constraint: "+constraint)
}

func (v *validator) err() *Error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return ValidationError("1 validation error detected: " + v.msgs[0])
	}
	return ValidationError(strconv.Itoa(len(v.msgs)) + " validation errors detected: " + strings.Join(v.msgs, "; "))
}

// quoted renders a value in a message as the service does, at most
// maxEcho bytes of it.
func quoted(s string) string { return "'" + echo(s) + "'" }

// maxEcho bounds how much of a value a validation message repeats. AWS
// repeats a value whole; one longer than this, which only a broken or
// hostile request sends (a string member is at most a few KiB long, and
// the longest rendering of a list AWS words, 501 PutRecords entries, is
// 29 KiB), is cut and its length given, so that answering a body of tens
// of MiB does not cost several times its size in memory.
const maxEcho = 64 << 10

func echo(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	n := maxEcho
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // cut between characters, not inside one
	}
	return s[:n] + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// javaLen is a string's length as the service measures it: in UTF-16
// code units, since the service is written in Java.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		// Ranging over a string never yields a surrogate (invalid UTF-8
		// comes out as U+FFFD), so RuneLen is 1 or 2 here.
		n += utf16.RuneLen(r)
	}
	return n
}

// stringShape is a string shape of the model. The zero values of minLen
// and maxLen mean unconstrained (no string shape of Kinesis has a
// meaningful minimum of 0 or maximum of 0).
type stringShape struct {
	pattern string         // as the service prints it
	re      *regexp.Regexp // pattern, matched against the whole value
	minLen  int
	maxLen  int
	enum    []string // in the order the service prints them
}

// matchWhole compiles a model pattern with Java's matches() semantics:
// the whole value must match.
func matchWhole(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + pattern + `)$`)
}

// The string shapes of the model. Package-level because compiling the
// patterns once is the point; they are never modified.
var (
	shapeStreamName = stringShape{pattern: `[a-zA-Z0-9_.-]+`, re: matchWhole(`[a-zA-Z0-9_.-]+`), minLen: 1, maxLen: 128}
	shapeStreamARN  = stringShape{
		pattern: `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`,
		re:      matchWhole(`arn:aws.*:kinesis:.*:\d{12}:stream/\S+`),
		minLen:  1, maxLen: 2048,
	}
	shapeConsumerName = stringShape{pattern: `[a-zA-Z0-9_.-]+`, re: matchWhole(`[a-zA-Z0-9_.-]+`), minLen: 1, maxLen: 128}
	shapeConsumerARN  = stringShape{
		pattern: `^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`,
		re:      matchWhole(`^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`),
		minLen:  1, maxLen: 2048,
	}
	shapeResourceARN = stringShape{
		pattern: `arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`,
		re:      matchWhole(`arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`),
		minLen:  1, maxLen: 2048,
	}
	shapeShardID        = stringShape{pattern: `[a-zA-Z0-9_.-]+`, re: matchWhole(`[a-zA-Z0-9_.-]+`), minLen: 1, maxLen: 128}
	shapeShardIterator  = stringShape{minLen: 1, maxLen: 512}
	shapePartitionKey   = stringShape{minLen: 1, maxLen: 256}
	shapeHashKey        = stringShape{pattern: `0|([1-9]\d{0,38})`, re: matchWhole(`0|([1-9]\d{0,38})`)}
	shapeSequenceNumber = stringShape{pattern: `0|([1-9]\d{0,128})`, re: matchWhole(`0|([1-9]\d{0,128})`)}
	shapeNextToken      = stringShape{minLen: 1, maxLen: 1048576}
	shapeTagKey         = stringShape{minLen: 1, maxLen: 128}
	shapeKeyID          = stringShape{minLen: 1, maxLen: 2048}
	shapeUnconstrained  = stringShape{}
	// StreamId is "not implemented, reserved for future use" in AWS's API
	// reference (Tributary ignores its value too), but the model
	// constrains it like any member, so a malformed one is refused as on
	// AWS.
	shapeStreamID = stringShape{pattern: `[a-z0-9]{20}-[a-z0-9]{3}`, re: matchWhole(`[a-z0-9]{20}-[a-z0-9]{3}`), minLen: 1, maxLen: 24}

	// ShardIteratorType is printed in the order AWS prints it.
	shapeShardIteratorType = stringShape{enum: []string{
		ShardIteratorAfterSequenceNumber, ShardIteratorLatest, ShardIteratorAtTimestamp,
		ShardIteratorAtSequenceNumber, ShardIteratorTrimHorizon,
	}}
	shapeShardFilterType = stringShape{enum: []string{
		ShardFilterAfterShardID, ShardFilterAtTrimHorizon, ShardFilterFromTrimHorizon,
		ShardFilterAtLatest, ShardFilterAtTimestamp, ShardFilterFromTimestamp,
	}}
	shapeEncryptionType = stringShape{enum: []string{EncryptionTypeNone, EncryptionTypeKMS}}
	shapeScalingType    = stringShape{enum: []string{ScalingTypeUniformScaling}}
	shapeStreamMode     = stringShape{enum: []string{StreamModeProvisioned, StreamModeOnDemand}}
	shapeDistribution   = stringShape{enum: []string{RecordDistributionAuto, RecordDistributionUserPartitionKey}}
	shapeCommitment     = stringShape{enum: []string{CommitmentEnabled, CommitmentDisabled}}
	shapeMetricsName    = stringShape{enum: []string{
		MetricIncomingBytes, MetricIncomingRecords, MetricOutgoingBytes, MetricOutgoingRecords,
		MetricWriteProvisionedThroughputExceeded, MetricReadProvisionedThroughputExceeded,
		MetricIteratorAgeMilliseconds, MetricAll,
	}}
)

// intShape is an integer shape: a range, either end optional.
type intShape struct {
	min, max       int64
	hasMin, hasMax bool
}

var (
	shapeLimit10000    = intShape{min: 1, max: 10000, hasMin: true, hasMax: true}
	shapeTagLimit      = intShape{min: 1, max: 50, hasMin: true, hasMax: true}
	shapePositive      = intShape{min: 1, hasMin: true}
	shapeNatural       = intShape{min: 0, hasMin: true}
	shapeMaxRecordSize = intShape{min: 1024, max: 10240, hasMin: true, hasMax: true}
	// RetentionPeriodHours has no range in the model: out-of-range
	// values reach the service, which answers InvalidArgumentException
	// ("Minimum allowed retention period is 24 hours. ...").
	shapeRetention = intShape{}
)

// Collection sizes of the model.
const (
	minRecords, maxRecords       = 1, 500
	minTagKeys, maxTagKeys       = 1, 50
	minTags, maxTags             = 1, 200
	minMetrics, maxMetrics       = 1, 7
	maxTagValueLen, maxTagKeyLen = 256, 128
	maxDataLen                   = 10485760 // the Data shape's maximum, 10 MiB
	putRecordsEntryClass         = "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry"
)

func (v *validator) null(path string) {
	v.fail("null", path, "Member must not be null")
}

func (v *validator) checkString(path string, s *string, required bool, sh *stringShape) {
	if s == nil {
		if required {
			v.null(path)
		}
		return
	}
	// The value is rendered only for a message: most values pass.
	if sh.enum != nil && !slices.Contains(sh.enum, *s) {
		v.fail(quoted(*s), path, "Member must satisfy enum value set: ["+strings.Join(sh.enum, ", ")+"]")
	}
	if sh.re != nil && !sh.re.MatchString(*s) {
		v.fail(quoted(*s), path, "Member must satisfy regular expression pattern: "+sh.pattern)
	}
	n := javaLen(*s)
	if sh.minLen > 0 && n < sh.minLen {
		v.fail(quoted(*s), path, "Member must have length greater than or equal to "+strconv.Itoa(sh.minLen))
	}
	if sh.maxLen > 0 && n > sh.maxLen {
		v.fail(quoted(*s), path, "Member must have length less than or equal to "+strconv.Itoa(sh.maxLen))
	}
}

func (v *validator) checkInt(path string, n *int32, required bool, sh intShape) {
	if n == nil {
		if required {
			v.null(path)
		}
		return
	}
	val := quoted(strconv.FormatInt(int64(*n), 10))
	if sh.hasMin && int64(*n) < sh.min {
		v.fail(val, path, "Member must have value greater than or equal to "+strconv.FormatInt(sh.min, 10))
	}
	if sh.hasMax && int64(*n) > sh.max {
		v.fail(val, path, "Member must have value less than or equal to "+strconv.FormatInt(sh.max, 10))
	}
}

// checkData checks a record's Data against the model's Data shape: its
// length is counted in bytes, from 0 to maxDataLen.
func (v *validator) checkData(path string, b []byte, required bool) {
	if b == nil {
		if required {
			v.null(path)
		}
		return
	}
	if len(b) > maxDataLen {
		v.fail(blobValue(b), path, "Member must have length less than or equal to "+strconv.Itoa(maxDataLen))
	}
}

func (v *validator) checkPresent(path string, present, required bool) bool {
	if !present && required {
		v.null(path)
	}
	return present
}

// blobValue prints a blob as the service's Java code does.
func blobValue(b []byte) string {
	n := strconv.Itoa(len(b))
	return "'java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]'"
}

// checkStringList checks a list of strings. A violation by any element is
// reported once, on the list, as "Member must satisfy constraint: [...]"
// listing the element shape's constraints, which is how the service words
// it for TagKeys.
func (v *validator) checkStringList(path string, list []string, required bool, minLen, maxLen int, elem *stringShape) {
	if list == nil {
		if required {
			v.null(path)
		}
		return
	}
	val := quoted("[" + strings.Join(list, ", ") + "]")
	if len(list) < minLen {
		v.fail(val, path, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if len(list) > maxLen {
		v.fail(val, path, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	var each validator
	for i := range list {
		each.checkString(path, &list[i], true, elem)
	}
	if len(each.msgs) == 0 {
		return
	}
	var parts []string
	if elem.enum != nil {
		parts = append(parts, "Member must satisfy enum value set: ["+strings.Join(elem.enum, ", ")+"]")
	}
	if elem.re != nil {
		parts = append(parts, "Member must satisfy regular expression pattern: "+elem.pattern)
	}
	if elem.maxLen > 0 {
		parts = append(parts, "Member must have length less than or equal to "+strconv.Itoa(elem.maxLen))
	}
	if elem.minLen > 0 {
		parts = append(parts, "Member must have length greater than or equal to "+strconv.Itoa(elem.minLen))
	}
	v.fail(val, path, "Member must satisfy constraint: ["+strings.Join(parts, ", ")+"]")
}

// checkTags checks a TagMap: its size, then the key and value lengths,
// each reported once for the whole map as the service does.
func (v *validator) checkTags(path string, tags map[string]string, required bool) {
	if tags == nil {
		if required {
			v.null(path)
		}
		return
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	badKey, badValue := false, false
	for i, k := range keys {
		pairs[i] = k + "=" + tags[k]
		if n := javaLen(k); n < 1 || n > maxTagKeyLen {
			badKey = true
		}
		if javaLen(tags[k]) > maxTagValueLen {
			badValue = true
		}
	}
	val := quoted("{" + strings.Join(pairs, ", ") + "}")
	if len(tags) < minTags {
		v.fail(val, path, "Member must have length greater than or equal to "+strconv.Itoa(minTags))
	}
	if len(tags) > maxTags {
		v.fail(val, path, "Member must have length less than or equal to "+strconv.Itoa(maxTags))
	}
	if badKey {
		v.fail(val, path, "Map keys must satisfy constraint: [Member must have length less than or equal to "+
			strconv.Itoa(maxTagKeyLen)+", Member must have length greater than or equal to 1]")
	}
	if badValue {
		v.fail(val, path, "Map value must satisfy constraint: [Member must have length less than or equal to "+
			strconv.Itoa(maxTagValueLen)+", Member must have length greater than or equal to 0]")
	}
}

// checkStream checks the members most operations share to name a stream.
func (v *validator) checkStream(arn, id, name *string) {
	v.checkString("streamARN", arn, false, &shapeStreamARN)
	v.checkString("streamId", id, false, &shapeStreamID)
	v.checkString("streamName", name, false, &shapeStreamName)
}

// partitionKeyRequired is whether a record must carry a PartitionKey. The
// model makes it optional for streams whose RecordDistributionStrategy is
// AUTO; Tributary has none (CreateStream refuses AUTO), and every stream
// is USER_PARTITION_KEY, AWS's default, for which AWS requires the key.
// It answers its absence as the model did when the key was required.
const partitionKeyRequired = true
