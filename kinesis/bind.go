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
	case time.Time:
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

// integerOf converts a number member the way the service does: a
// fraction is truncated toward negative infinity and a value beyond the
// type's range is clamped to it (kinesalite, matching AWS, turns
// 1e20 into 2147483647 for an Integer member). NaN is refused.
func integerOf(raw any, lo, hi int64) (int64, bool) {
	var f float64
	switch x := raw.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return min(max(n, lo), hi), true
		}
		parsed, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !isRangeErr(err) {
			return 0, false
		}
		f = parsed
	case uint64:
		if x > uint64(hi) {
			return hi, true
		}
		return max(int64(x), lo), true
	case int64:
		return min(max(x, lo), hi), true
	case float64:
		f = x
	case float32:
		f = float64(x)
	case big.Int:
		f, _ = new(big.Float).SetInt(&x).Float64()
	case *big.Int:
		f, _ = new(big.Float).SetInt(x).Float64()
	default:
		return 0, false
	}
	if math.IsNaN(f) {
		return 0, false
	}
	f = math.Floor(f)
	switch {
	case f <= float64(lo):
		return lo, true
	case f >= float64(hi):
		return hi, true
	}
	return int64(f), true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func numberText(raw any) string {
	switch x := raw.(type) {
	case json.Number:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return "?"
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
// a plain number.
func (b *binder) timestamp(raw any) (time.Time, error) {
	var ms float64
	switch x := raw.(type) {
	case time.Time:
		// Only CBOR yields time.Time: the decoder read tag 1's content
		// as seconds, so its "seconds" are really AWS's milliseconds.
		// (Tag 0, an RFC 3339 string, would be misread the same way; no
		// AWS client sends it.)
		ms = float64(x.Unix()) + float64(x.Nanosecond())/1e9
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
	if math.IsNaN(ms) || ms < minEpochMillis || ms > maxEpochMillis {
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
