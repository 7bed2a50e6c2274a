package kinesis

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// emitter writes one encoding. The walker below drives it, so JSON and
// CBOR share every decision about which members appear; only the bytes
// differ. Objects and arrays are announced with their length because CBOR
// writes definite lengths (which every CBOR reader accepts) up front.
type emitter interface {
	beginObject(n int)
	key(name string)
	endObject()
	beginArray(n int)
	endArray()
	str(s string)
	blob(b []byte)
	integer(n int64)
	boolean(b bool)
	timestamp(t time.Time)
	null()
	bytes() []byte
}

// jsonEmitter writes AWS JSON 1.1: blobs as standard base64 strings and
// timestamps as epoch seconds with a millisecond fraction, which is what
// boto3, the CLI and every SDK parse.
type jsonEmitter struct {
	buf []byte
	// first[i] tells whether the container at depth i has had no element
	// yet, so the next one needs no comma.
	first []bool
	// afterKey is set between a key and its value, which takes no comma.
	afterKey bool
}

func (e *jsonEmitter) sep() {
	if e.afterKey {
		e.afterKey = false
		return
	}
	if n := len(e.first); n > 0 {
		if !e.first[n-1] {
			e.buf = append(e.buf, ',')
		}
		e.first[n-1] = false
	}
}

func (e *jsonEmitter) beginObject(int) {
	e.sep()
	e.buf = append(e.buf, '{')
	e.first = append(e.first, true)
}

func (e *jsonEmitter) key(name string) {
	e.sep()
	e.buf = appendJSONString(e.buf, name)
	e.buf = append(e.buf, ':')
	e.afterKey = true
}

func (e *jsonEmitter) endObject() {
	e.first = e.first[:len(e.first)-1]
	e.buf = append(e.buf, '}')
}

func (e *jsonEmitter) beginArray(int) {
	e.sep()
	e.buf = append(e.buf, '[')
	e.first = append(e.first, true)
}

func (e *jsonEmitter) endArray() {
	e.first = e.first[:len(e.first)-1]
	e.buf = append(e.buf, ']')
}

func (e *jsonEmitter) str(s string) {
	e.sep()
	e.buf = appendJSONString(e.buf, s)
}

func (e *jsonEmitter) blob(b []byte) {
	e.sep()
	e.buf = append(e.buf, '"')
	e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
	e.buf = append(e.buf, '"')
}

func (e *jsonEmitter) integer(n int64) {
	e.sep()
	e.buf = strconv.AppendInt(e.buf, n, 10)
}

func (e *jsonEmitter) boolean(b bool) {
	e.sep()
	e.buf = strconv.AppendBool(e.buf, b)
}

func (e *jsonEmitter) timestamp(t time.Time) {
	e.sep()
	e.buf = appendEpochSeconds(e.buf, t.UnixMilli())
}

func (e *jsonEmitter) null() {
	e.sep()
	e.buf = append(e.buf, "null"...)
}

func (e *jsonEmitter) bytes() []byte { return e.buf }

// appendEpochSeconds writes milliseconds since the epoch as decimal
// seconds, e.g. 1700000000.123, using integer arithmetic so no float
// rounding can move the value; whole seconds are written without a
// fraction.
func appendEpochSeconds(buf []byte, ms int64) []byte {
	// Sign and magnitude, so -1500 ms prints as -1.5; the magnitude is
	// unsigned so that even math.MinInt64 cannot overflow.
	u := uint64(ms)
	if ms < 0 {
		buf = append(buf, '-')
		u = -u
	}
	sec, frac := u/1000, u%1000
	buf = strconv.AppendUint(buf, sec, 10)
	if frac == 0 {
		return buf
	}
	digits := []byte{'0' + byte(frac/100), '0' + byte(frac/10%10), '0' + byte(frac%10)}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	buf = append(buf, '.')
	return append(buf, digits...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string. Invalid UTF-8 becomes
// U+FFFD so the output is always valid JSON.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	// Most strings (sequence numbers, shard ids, keys) have nothing to
	// escape: their plain prefix, usually all of them, is copied whole.
	plain := 0
	for plain < len(s) && byteClass[s[plain]] == 0 {
		plain++
	}
	buf = append(buf, s[:plain]...)
	for i := plain; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

// cborEmitter writes the AWS CBOR 1.1 encoding the Java SDK and KCL read:
// blobs as byte strings and timestamps as tag 1 holding integer epoch
// milliseconds (the SDK parses the number with Long.parseLong, so a float
// would break it).
type cborEmitter struct {
	buf []byte
}

const (
	cborUint   = 0
	cborNegInt = 1
	cborBytes  = 2
	cborText   = 3
	cborArray  = 4
	cborMap    = 5
	cborTag    = 6
)

func (e *cborEmitter) head(major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		e.buf = append(e.buf, m|byte(n))
	case n <= math.MaxUint8:
		e.buf = append(e.buf, m|24, byte(n))
	case n <= math.MaxUint16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, m|25), uint16(n))
	case n <= math.MaxUint32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, m|26), uint32(n))
	default:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, m|27), n)
	}
}

func (e *cborEmitter) beginObject(n int) { e.head(cborMap, uint64(n)) }
func (e *cborEmitter) key(name string)   { e.str(name) }
func (e *cborEmitter) endObject()        {}
func (e *cborEmitter) beginArray(n int)  { e.head(cborArray, uint64(n)) }
func (e *cborEmitter) endArray()         {}

func (e *cborEmitter) str(s string) {
	// CBOR text must be UTF-8; strict readers reject anything else.
	if !utf8.ValidString(s) {
		s = string([]rune(s))
	}
	e.head(cborText, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *cborEmitter) blob(b []byte) {
	e.head(cborBytes, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *cborEmitter) integer(n int64) {
	if n >= 0 {
		e.head(cborUint, uint64(n))
		return
	}
	e.head(cborNegInt, uint64(-(n + 1)))
}

func (e *cborEmitter) boolean(b bool) {
	if b {
		e.buf = append(e.buf, 0xf5)
		return
	}
	e.buf = append(e.buf, 0xf4)
}

func (e *cborEmitter) timestamp(t time.Time) {
	e.head(cborTag, 1)
	e.integer(t.UnixMilli())
}

func (e *cborEmitter) null() { e.buf = append(e.buf, 0xf6) }

func (e *cborEmitter) bytes() []byte { return e.buf }

var (
	timestampType = reflect.TypeFor[Timestamp]()
	bytesType     = reflect.TypeFor[[]byte]()
)

// encodeShape walks v (a shape struct or pointer to one) and writes it.
//
// Member rules, which are what makes the output match AWS: a nil pointer
// is an absent optional member and is left out; a slice or map tagged
// omitempty is left out when empty; any other slice or map is a required
// member and is written even when nil, as [] or {}; a string tagged
// omitempty is left out when empty.
func encodeShape(e emitter, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.null()
			return nil
		}
		return encodeShape(e, v.Elem())
	}
	switch v.Type() {
	case timestampType:
		// Through a pointer when possible: boxing the struct itself would
		// allocate for every record of a GetRecords response.
		if v.CanAddr() {
			e.timestamp(v.Addr().Interface().(*Timestamp).Time)
		} else {
			e.timestamp(v.Interface().(Timestamp).Time)
		}
		return nil
	case bytesType:
		e.blob(v.Bytes())
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return encodeStruct(e, v)
	case reflect.Slice:
		e.beginArray(v.Len())
		for i := range v.Len() {
			if err := encodeShape(e, v.Index(i)); err != nil {
				return err
			}
		}
		e.endArray()
		return nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("encode %s: map keys must be strings", v.Type())
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		// Sorted so responses are deterministic, which tests rely on.
		slices.Sort(keys)
		e.beginObject(len(keys))
		for _, k := range keys {
			e.key(k)
			if err := encodeShape(e, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))); err != nil {
				return err
			}
		}
		e.endObject()
		return nil
	case reflect.String:
		e.str(v.String())
		return nil
	case reflect.Bool:
		e.boolean(v.Bool())
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.integer(v.Int())
		return nil
	}
	return fmt.Errorf("encode: unsupported type %s", v.Type())
}

func encodeStruct(e emitter, v reflect.Value) error {
	t := v.Type()
	// Shapes have few members; fixed arrays keep the bookkeeping on the
	// stack for the common case.
	var fieldBuf [24]int
	var nameBuf [24]string
	fields, names := fieldBuf[:0], nameBuf[:0]
	for i := range t.NumField() {
		f := t.Field(i)
		name, omitEmpty, ok := memberTag(f)
		if !ok {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Pointer, reflect.Interface:
			if fv.IsNil() {
				continue
			}
		case reflect.Slice, reflect.Map, reflect.String:
			if omitEmpty && fv.Len() == 0 {
				continue
			}
		case reflect.Struct:
			if omitEmpty && fv.IsZero() {
				continue
			}
		}
		fields = append(fields, i)
		names = append(names, name)
	}
	e.beginObject(len(fields))
	for j, i := range fields {
		e.key(names[j])
		fv := v.Field(i)
		if fv.Kind() == reflect.Slice && fv.IsNil() && fv.Type() != bytesType {
			e.beginArray(0)
			e.endArray()
			continue
		}
		if fv.Kind() == reflect.Map && fv.IsNil() {
			e.beginObject(0)
			e.endObject()
			continue
		}
		if err := encodeShape(e, fv); err != nil {
			return fmt.Errorf("member %s: %w", names[j], err)
		}
	}
	e.endObject()
	return nil
}

// memberTag reads the wire name of a shape member from its json tag,
// which is kept in the standard form so the shapes also print sensibly
// with encoding/json.
func memberTag(f reflect.StructField) (name string, omitEmpty, ok bool) {
	if !f.IsExported() {
		return "", false, false
	}
	tag, found := f.Tag.Lookup("json")
	if !found || tag == "-" {
		return "", false, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var opt string
		opt, opts, _ = strings.Cut(opts, ",")
		if opt == "omitempty" {
			omitEmpty = true
		}
	}
	return name, omitEmpty, name != ""
}
