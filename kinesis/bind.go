package kinesis

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// serializationErr carries the message of a SerializationException out of
// the binder.
type serializationErr string

func (e serializationErr) Error() string { return string(e) }

// The texts below are those AWS answers when a member has the wrong JSON
// type (captured from the live service in kinesalite's validations). The
// Java class names are the service's, not ours.
const (
	msgNumberClass  = "class com.amazon.coral.value.json.numbers.TruncatingBigNumber"
	msgBooleanClass = "class java.lang.Boolean"
	msgStringClass  = "class java.lang.String"
	msgBytesClass   = "class [B"
	msgDateClass    = "class java.util.Date"
	msgListFound    = "Start of list found where not expected"
	msgMapFound     = "Start of structure or map found where not expected."
	msgEpochMillis  = " can not be converted to milliseconds since epoch"
)

// binder copies a parsed body (maps, slices, strings, numbers, ...) into a
// shape struct, checking each member's type as the service does.
type binder struct {
	enc Encoding
}

// valueKind classifies a parsed value for type checks.
type valueKind int

const (
	kindNull valueKind = iota
	kindString
	kindNumber
	kindBool
	kindList
	kindMap
	kindBytes
	kindTime
	kindOther
)

func kindOf(v any) valueKind {
	switch v.(type) {
	case nil:
		return kindNull
	case string:
		return kindString
	case json.Number, uint64, int64, float64, float32, big.Int, *big.Int:
		return kindNumber
	case bool:
		return kindBool
	case []any:
		return kindList
	case map[string]any:
		return kindMap
	case []byte:
		return kindBytes
	case time.Time, epochTag:
		return kindTime
	}
	return kindOther
}

// classOf names a value as the service's error texts do.
func classOf(v any) string {
	switch kindOf(v) {
	case kindString:
		return msgStringClass
	case kindNumber:
		return msgNumberClass
	case kindBool:
		return msgBooleanClass
	case kindBytes:
		return msgBytesClass
	case kindTime:
		return msgDateClass
	}
	return "class java.lang.Object"
}

// containerMismatch gives AWS's text for a list or map where a scalar was
// expected, or "" when v is not a container.
func containerMismatch(v any) string {
	switch kindOf(v) {
	case kindList:
		return msgListFound
	case kindMap:
		return msgMapFound
	}
	return ""
}

func (b *binder) bindStruct(obj map[string]any, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		name, _, ok := memberTag(t.Field(i))
		if !ok {
			continue
		}
		raw, present := obj[name]
		if !present || raw == nil {
			continue
		}
		if err := b.bind(raw, v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

// bind stores raw into v, which is settable. A null raw leaves v at its
// zero value, which for the pointer, slice and map members of input
// shapes means "absent".
func (b *binder) bind(raw any, v reflect.Value) error {
	if raw == nil {
		return nil
	}
	switch v.Type() {
	case timestampType:
		t, err := b.timestamp(raw)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(Timestamp{Time: t}))
		return nil
	case bytesType:
		data, err := blob(raw)
		if err != nil {
			return err
		}
		v.SetBytes(data)
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if err := b.bind(raw, elem.Elem()); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			if kindOf(raw) == kindList {
				return serializationErr(msgListFound)
			}
			return serializationErr("Expected null")
		}
		return b.bindStruct(obj, v)
	case reflect.Slice:
		list, ok := raw.([]any)
		if !ok {
			if kindOf(raw) == kindMap {
				return serializationErr(msgMapFound)
			}
			return serializationErr("Expected list or null")
		}
		s := reflect.MakeSlice(v.Type(), len(list), len(list))
		for i, item := range list {
			if err := b.bind(item, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			if kindOf(raw) == kindList {
				return serializationErr(msgListFound)
			}
			return serializationErr("Expected map or null")
		}
		m := reflect.MakeMapWithSize(v.Type(), len(obj))
		for k, item := range obj {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := b.bind(item, elem); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), elem)
		}
		v.Set(m)
		return nil
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			if msg := containerMismatch(raw); msg != "" {
				return serializationErr(msg)
			}
			return serializationErr(classOf(raw) + " can not be converted to an String")
		}
		v.SetString(s)
		return nil
	case reflect.Bool:
		switch x := raw.(type) {
		case bool:
			v.SetBool(x)
			return nil
		case string:
			return serializationErr("'" + strings.ToUpper(x) + "' can not be converted to an Boolean")
		}
		if msg := containerMismatch(raw); msg != "" {
			return serializationErr(msg)
		}
		return serializationErr(classOf(raw) + " can not be converted to an Boolean")
	case reflect.Int32, reflect.Int64:
		javaType := "Integer"
		lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
		if v.Kind() == reflect.Int64 {
			javaType = "Long"
			lo, hi = math.MinInt64, math.MaxInt64
		}
		if kindOf(raw) != kindNumber {
			if msg := containerMismatch(raw); msg != "" {
				return serializationErr(msg)
			}
			return serializationErr(classOf(raw) + " can not be converted to an " + javaType)
		}
		n, ok := integerOf(raw, lo, hi)
		if !ok {
			return serializationErr("'" + numberText(raw) + "' can not be converted to an " + javaType)
		}
		v.SetInt(n)
		return nil
	}
	// Only a shape with an unsupported member type gets here.
	return serializationErr("unsupported member type " + v.Type().String())
}

// integerOf converts a number member to an integer of the member's type,
// [lo, hi], or reports that it is not an integer.
//
// An integer beyond the type's range is clamped to it, as AWS's JSON
// reader (com.amazon.coral.value.json.numbers.TruncatingBigNumber) does:
// AWS answered CreateStream with ShardCount 100000000000 by validating the
// value 2147483647 ("Value '2147483647' at 'shardCount' failed to satisfy
// constraint: ...", kinesalite's test/createStream.js, captured from the
// live service). The clamped value then meets the model's range like any
// other. CBOR members are read the same way. (Smithy's MalformedInteger
// protocol tests, which want such values refused, are written for
// restJson1 services, not for Kinesis's awsJson1_1 front end.)
//
// A fraction (1.5), NaN and ±Infinity are not integers, and are refused
// with SerializationException; no answer of AWS to them is on record. A
// number written with a fraction or an exponent that is still an integer
// (1.0, 1e2, a CBOR float 2.0, -0.0) is that integer. JSON text is read
// digit by digit (decimalIntegerOf), not through float64, so a fraction
// below float64's precision (1.0000000000000001, 1e16+0.1) is still a
// fraction.
func integerOf(raw any, lo, hi int64) (int64, bool) {
	clamp := func(n int64) (int64, bool) { return min(max(n, lo), hi), true }
	var f float64
	switch x := raw.(type) {
	case json.Number:
		return decimalIntegerOf(string(x), lo, hi)
	case uint64:
		if x > uint64(hi) {
			return hi, true
		}
		return clamp(int64(x))
	case int64:
		return clamp(x)
	case float64:
		f = x
	case float32:
		f = float64(x)
	case big.Int:
		return bigIntegerOf(&x, lo, hi)
	case *big.Int:
		return bigIntegerOf(x, lo, hi)
	default:
		return 0, false
	}
	// NaN and ±Inf are no integers (NaN is not equal to itself, and
	// Trunc(±Inf) is ±Inf, so they are caught apart from fractions).
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, false
	}
	// float64(math.MaxInt64) rounds up to 2^63, which does not fit in an
	// int64: compare as floats before converting.
	switch {
	case f >= float64(hi):
		return hi, true
	case f <= float64(lo):
		return lo, true
	}
	return int64(f), true
}

// decimalIntegerOf is integerOf for JSON number text, read exactly: the
// number is an integer when every digit after its decimal point, once the
// exponent has moved the point, is zero. Going through float64 instead
// would take 10000000000000000.1 for the integer 10^16. The exponent is
// never expanded into digits, so 1e999999999 costs no more than 1e9.
func decimalIntegerOf(text string, lo, hi int64) (int64, bool) {
	s, negative := strings.CutPrefix(text, "-")
	mantissa, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	whole, frac, _ := strings.Cut(mantissa, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, false
	}
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, true // 0, -0.0, 0e7
	}
	// point: where the decimal point falls in digits, counted from its
	// first (non-zero) digit.
	point := int64(len(whole)) - int64(len(whole+frac)-len(digits))
	if hasExp {
		e, err := strconv.ParseInt(strings.TrimPrefix(expText, "+"), 10, 64)
		if err != nil && !isRangeErr(err) {
			return 0, false
		}
		// Clamped exponents keep their meaning: any exponent beyond
		// ±2^40 puts the point far outside every digit a body can hold.
		point += min(max(e, -1<<40), 1<<40)
	}
	if point <= 0 || strings.TrimRight(digits[min(point, int64(len(digits))):], "0") != "" {
		return 0, false // a non-zero digit after the point
	}
	beyond := func() (int64, bool) {
		if negative {
			return lo, true
		}
		return hi, true
	}
	if point > 19 { // at least 10^19, beyond any int64
		return beyond()
	}
	intText := digits[:min(point, int64(len(digits)))] + strings.Repeat("0", int(point)-min(int(point), len(digits)))
	n, err := strconv.ParseInt(intText, 10, 64)
	if err != nil {
		return beyond()
	}
	if negative {
		n = -n
	}
	return min(max(n, lo), hi), true
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// bigIntegerOf is integerOf for a CBOR bignum (tags 2 and 3).
func bigIntegerOf(x *big.Int, lo, hi int64) (int64, bool) {
	switch {
	case x.Cmp(big.NewInt(hi)) > 0:
		return hi, true
	case x.Cmp(big.NewInt(lo)) < 0:
		return lo, true
	}
	return x.Int64(), true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// numberText prints a number member for an error message: JSON numbers
// as sent, others as the service's Java would print them.
func numberText(raw any) string {
	switch x := raw.(type) {
	case json.Number:
		return string(x)
	case float64:
		return javaDouble(x)
	case float32:
		return javaDouble(float64(x))
	case uint64:
		return strconv.FormatUint(x, 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case big.Int:
		return x.String()
	case *big.Int:
		return x.String()
	}
	return "?"
}

// javaDouble spells the non-finite doubles as Java does; finite ones in
// Go's shortest form.
func javaDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Accepted timestamps run from year 1 through 9999, which covers every
// real instant and keeps the arithmetic below exact.
const (
	minEpochMillis = -62135596800000
	maxEpochMillis = 253402300799999
)

// timestamp reads a timestamp member. JSON carries epoch seconds, with a
// fraction for milliseconds (clients send e.g. 1.700000000123E9); CBOR
// carries epoch milliseconds, inside tag 1 as the Java SDK sends them or as
// a plain number. NaN and ±Inf are no instant and are refused like any
// other value out of range.
func (b *binder) timestamp(raw any) (time.Time, error) {
	var ms float64
	switch x := raw.(type) {
	case epochTag:
		// Tag 1 holds AWS's milliseconds where RFC 8949 puts seconds.
		if kindOf(x.content) != kindNumber {
			return time.Time{}, serializationErr(classOf(x.content) + msgEpochMillis)
		}
		f, ok := floatOf(x.content)
		if !ok {
			return time.Time{}, serializationErr("'" + numberText(x.content) + "'" + msgEpochMillis)
		}
		ms = f
		raw = x.content
	case time.Time:
		// Tag 0, an RFC 3339 date and time, which no AWS client sends but
		// which names an instant all the same.
		ms = float64(x.UnixMilli())
	case string:
		return time.Time{}, serializationErr(msgStringClass + msgEpochMillis)
	case bool:
		return time.Time{}, serializationErr(msgBooleanClass + msgEpochMillis)
	default:
		if kindOf(raw) != kindNumber {
			if msg := containerMismatch(raw); msg != "" {
				return time.Time{}, serializationErr(msg)
			}
			return time.Time{}, serializationErr(classOf(raw) + msgEpochMillis)
		}
		f, ok := floatOf(raw)
		if !ok {
			return time.Time{}, serializationErr("'" + numberText(raw) + "'" + msgEpochMillis)
		}
		if b.enc == EncodingCBOR {
			ms = f
		} else {
			ms = f * 1000
		}
	}
	// NaN fails both comparisons, and ±Inf one of them.
	if !(ms >= minEpochMillis && ms <= maxEpochMillis) {
		return time.Time{}, serializationErr("'" + numberText(raw) + "'" + msgEpochMillis)
	}
	// Rounding to whole milliseconds undoes the binary error in values
	// like 1.700000000123E9 * 1000; AWS keeps millisecond precision only.
	return time.UnixMilli(int64(math.Round(ms))).UTC(), nil
}

func floatOf(raw any) (float64, bool) {
	switch x := raw.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !isRangeErr(err) {
			return 0, false
		}
		return f, true
	case uint64:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case big.Int:
		f, _ := new(big.Float).SetInt(&x).Float64()
		return f, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	}
	return 0, false
}

// blob reads a blob member: a CBOR byte string as is, or base64 text (the
// JSON form, also accepted in CBOR). The checks and texts follow AWS,
// including its misspelling "dectected".
func blob(raw any) ([]byte, error) {
	switch x := raw.(type) {
	case []byte:
		return x, nil
	case string:
		return decodeBase64(x)
	}
	if msg := containerMismatch(raw); msg != "" {
		return nil, serializationErr(msg)
	}
	return nil, serializationErr(classOf(raw) + " can not be converted to a Blob")
}

func decodeBase64(s string) ([]byte, error) {
	// Built only on failure: this runs for every record of every put.
	fail := func(why string) error {
		return serializationErr("'" + s + "' can not be converted to a Blob: " + why)
	}
	if len(s)%4 != 0 {
		return nil, fail("Base64 encoded length is expected a multiple of 4 bytes but found: " + strconv.Itoa(len(s)))
	}
	for i := range len(s) {
		c := s[i]
		validChar := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
		if !validChar {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, fail("Invalid Base64 character: '" + string(r) + "'")
		}
		if c == '=' && i+1 < len(s) && s[i+1] != '=' {
			return nil, fail("Invalid Base64 character: '='")
		}
	}
	data, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fail("Invalid last non-pad Base64 character dectected")
	}
	return data, nil
}
