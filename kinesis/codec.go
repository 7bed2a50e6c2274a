package kinesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/tributary-io/tributary/internal/bufpool"
)

// Encoding is one of the two wire encodings Kinesis speaks.
type Encoding int

// The encodings. AWS JSON 1.1 is what boto3, the CLI, aws-sdk-go-v2 and
// the JavaScript SDK send; CBOR 1.1 is the Java SDK's and the KCL's
// default.
const (
	EncodingJSON Encoding = iota + 1
	EncodingCBOR
)

// ContentType is the Content-Type of requests and responses in e.
func (e Encoding) ContentType() string {
	if e == EncodingCBOR {
		return ContentTypeCBOR
	}
	return ContentTypeJSON
}

// String names the encoding for logs.
func (e Encoding) String() string {
	switch e {
	case EncodingJSON:
		return "json"
	case EncodingCBOR:
		return "cbor"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// EncodingOf maps a request's Content-Type to its encoding; parameters
// such as "; charset=utf-8" and letter case are ignored. Only
// application/x-amz-json-1.1 and application/x-amz-cbor-1.1 are Kinesis
// encodings, so every other type reports false, and AWS never serves a
// call sent in one: with a body, application/json gets the legacy
// envelope of LegacyJSONResponse and any other type (or none) an XML
// error from the front end; without a body, each gets its error in CBOR
// (see ErrorResponse).
func EncodingOf(contentType string) (Encoding, bool) {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	switch mediaType {
	case ContentTypeJSON:
		return EncodingJSON, true
	case ContentTypeCBOR:
		return EncodingCBOR, true
	}
	return 0, false
}

// Timestamp is a timestamp member of a shape. It is a distinct type so
// the codec can give it each encoding's wire form: epoch seconds (a JSON
// number, fraction allowed) in JSON, and CBOR tag 1 holding epoch
// milliseconds in CBOR.
type Timestamp struct {
	time.Time
}

// NewTimestamp wraps t; the wire carries millisecond precision.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{Time: t} }

// TimestampOf returns a pointer to a Timestamp for t, for optional
// members.
func TimestampOf(t time.Time) *Timestamp { return &Timestamp{Time: t} }

// Input is a request shape: something DecodeRequest can fill and check.
type Input interface {
	// Validate checks the members against the service model's
	// constraints and returns AWS's ValidationException, or nil.
	Validate() *Error
}

// DecodeRequest decodes req's body into in according to req's content
// type and validates it. The error, if any, is what AWS answers; pass it
// to ErrorResponse.
func DecodeRequest(req *Request, in Input) *Error {
	enc, ok := EncodingOf(req.ContentType)
	if !ok {
		enc = EncodingJSON
	}
	if err := decodeAs(enc, req.Body, in, &req.scratch); err != nil {
		return err
	}
	return in.Validate()
}

// Decode fills the shape v (a pointer to a struct) from body. The
// encoding follows contentType; anything that is not CBOR is read as JSON.
// Members the shape does not know are ignored and null members count as
// absent, as in AWS. A body that does not parse, or a member of the wrong
// type, gives SerializationException; the texts of the latter are AWS's.
func Decode(contentType string, body []byte, v any) *Error {
	enc, ok := EncodingOf(contentType)
	if !ok {
		enc = EncodingJSON
	}
	return DecodeAs(enc, body, v)
}

// DecodeAs is Decode with the encoding given directly.
func DecodeAs(enc Encoding, body []byte, v any) *Error {
	return decodeAs(enc, body, v, nil)
}

// decodeAs is DecodeAs taking its buffers from the pools into sc, or
// allocating them when sc is nil.
func decodeAs(enc Encoding, body []byte, v any, sc *scratch) *Error {
	// PutRecords dominates ingest; its plain form has a fast path in each
	// encoding that either decodes exactly what the generic path would or
	// declines.
	if p, ok := v.(*PutRecordsInput); ok {
		if enc == EncodingJSON && decodePutRecordsJSON(body, p, sc) ||
			enc == EncodingCBOR && decodePutRecordsCBOR(body, p, sc) {
			return nil
		}
		*p = PutRecordsInput{}
	}
	return decodeGeneric(enc, body, v)
}

// encodeFast encodes the answers of the hot paths, GetRecords (the
// consumer's) and PutRecords (the producer's), without reflection, into a
// buffer from the pools (see pool.go); it reports false for anything
// else, or for a form of them it leaves to the generic encoder.
func encodeFast(enc Encoding, v any) ([]byte, bool) {
	var (
		b  []byte
		ok bool
	)
	switch o := v.(type) {
	case *GetRecordsOutput:
		if o == nil {
			return nil, false
		}
		// CBOR is smaller than JSON (no base64), so JSON's size bounds it.
		dst := bufpool.Get(getRecordsJSONSize(o))
		if enc == EncodingCBOR {
			b, ok = appendGetRecordsCBOR(dst, o)
		} else {
			b, ok = appendGetRecordsJSON(dst, o)
		}
		if !ok {
			bufpool.Put(dst)
		}
	case *PutRecordsOutput:
		if o == nil {
			return nil, false
		}
		dst := bufpool.Get(putRecordsJSONSize(o))
		if enc == EncodingCBOR {
			b, ok = appendPutRecordsCBOR(dst, o)
		} else {
			b, ok = appendPutRecordsJSON(dst, o)
		}
		if !ok {
			bufpool.Put(dst)
		}
	}
	return b, ok
}

// decodeGeneric parses body into generic values and binds them to v.
func decodeGeneric(enc Encoding, body []byte, v any) *Error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		// A programming error in the caller, not a client fault.
		return InternalFailure()
	}
	var root any
	var err error
	if enc == EncodingCBOR {
		root, err = parseCBOR(body)
	} else {
		root, err = parseJSON(body)
	}
	if err != nil {
		// AWS sends SerializationException without a message for a body
		// that is empty or does not parse.
		return SerializationError("")
	}
	obj, isMap := root.(map[string]any)
	if !isMap {
		return SerializationError("")
	}
	b := binder{enc: enc}
	if err := b.bindStruct(obj, rv.Elem()); err != nil {
		var se serializationErr
		if errors.As(err, &se) {
			return SerializationError(string(se))
		}
		return SerializationError("")
	}
	return nil
}

// parseJSON reads exactly one JSON value, keeping numbers as text so that
// integers and timestamps lose no precision before the binder sees them.
func parseJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("parse json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse json: data after the top-level value")
	}
	return v, nil
}

// parseCBOR reads exactly one CBOR data item into the same generic tree
// as parseJSON (maps with text keys, slices, strings, numbers, booleans,
// byte strings), except that tag 1, the epoch timestamp, comes out as
// epochTag with its content untouched: the binder reads it as AWS's
// milliseconds (where RFC 8949 puts seconds), and refuses NaN and ±Inf,
// which the CBOR library would turn into the zero time. Text must be
// UTF-8; nesting stays bounded (32 levels by default) so hostile input
// cannot exhaust the stack; trailing bytes are an error.
//
// The library decodes a whole body at once far faster than cborItem does
// member by member, and gives the same tree unless the body holds a
// timestamp; so a body is decoded whole first, and decoded again with
// cborItem only if it holds a time (tag 0 or 1, which the library turns
// into time.Time) or if the library refused it (it refuses a tag 1 too
// large for a time.Time, which the binder words as AWS does).
func parseCBOR(body []byte) (any, error) {
	var v any
	if err := cborDecMode.Unmarshal(body, &v); err == nil && !holdsTime(v) {
		return v, nil
	}
	var item cborItem
	if err := cborDecMode.Unmarshal(body, &item); err != nil {
		return nil, fmt.Errorf("parse cbor: %w", err)
	}
	return item.v, nil
}

// holdsTime reports whether a tree from the CBOR library holds a
// time.Time anywhere, a tag's content included.
func holdsTime(v any) bool {
	switch x := v.(type) {
	case time.Time:
		return true
	case map[string]any:
		for _, item := range x {
			if holdsTime(item) {
				return true
			}
		}
	case []any:
		for _, item := range x {
			if holdsTime(item) {
				return true
			}
		}
	case cbor.Tag:
		return holdsTime(x.Content)
	}
	return false
}

// cborDecMode is the CBOR decoding configuration; a DecMode is immutable.
var cborDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DefaultMapType: reflect.TypeFor[map[string]any](),
		UTF8:           cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic("kinesis: CBOR decode options: " + err.Error())
	}
	return dm
}()

// epochTag is a CBOR tag 1 (epoch-based date/time) as parseCBOR leaves
// it: its content, a number in any CBOR form, or whatever else was sent.
type epochTag struct {
	content any
}

// cborItem decodes one data item for parseCBOR. Maps and arrays are
// decoded member by member through cborItem again, so that a tag 1 at any
// depth reaches the binder as an epochTag; every other item is decoded by
// the library as it stands.
type cborItem struct {
	v any
}

// CBOR major types, the top three bits of an item's first byte.
const (
	cborMajorArray = 4
	cborMajorMap   = 5
	cborMajorTag   = 6
)

// tagSelfDescribed (55799) marks a body as CBOR and means nothing else.
const tagSelfDescribed = 55799

func (c *cborItem) UnmarshalCBOR(data []byte) error {
	switch data[0] >> 5 {
	case cborMajorMap:
		var m map[string]cborItem
		if err := cborDecMode.Unmarshal(data, &m); err != nil {
			return err
		}
		out := make(map[string]any, len(m))
		for k, item := range m {
			out[k] = item.v
		}
		c.v = out
		return nil
	case cborMajorArray:
		var list []cborItem
		if err := cborDecMode.Unmarshal(data, &list); err != nil {
			return err
		}
		out := make([]any, len(list))
		for i, item := range list {
			out[i] = item.v
		}
		c.v = out
		return nil
	case cborMajorTag:
		var tag cbor.RawTag
		if err := cborDecMode.Unmarshal(data, &tag); err != nil {
			return err
		}
		switch tag.Number {
		case 1:
			var content cborItem
			if err := content.UnmarshalCBOR(tag.Content); err != nil {
				return err
			}
			c.v = epochTag{content: content.v}
			return nil
		case tagSelfDescribed:
			return c.UnmarshalCBOR(tag.Content)
		}
	}
	return cborDecMode.Unmarshal(data, &c.v)
}

// Encode encodes the output shape v (a struct or pointer to one) in the
// encoding that contentType names (JSON unless it names CBOR). A nil v is
// the empty body AWS sends for operations without output.
func Encode(contentType string, v any) ([]byte, error) {
	enc, ok := EncodingOf(contentType)
	if !ok {
		enc = EncodingJSON
	}
	return EncodeAs(enc, v)
}

// EncodeAs is Encode with the encoding given directly.
func EncodeAs(enc Encoding, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := encodeFast(enc, v); ok {
		return b, nil
	}
	return encodeGeneric(enc, v)
}

// encodeGeneric encodes v by walking its fields.
func encodeGeneric(enc Encoding, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, nil
	}
	var e emitter
	if enc == EncodingCBOR {
		e = &cborEmitter{}
	} else {
		e = &jsonEmitter{}
	}
	if err := encodeShape(e, rv); err != nil {
		return nil, fmt.Errorf("encode %s response: %w", enc, err)
	}
	return e.bytes(), nil
}

// EncodeResponse is the 200 answer carrying the output shape out (nil for
// operations without output), in the encoding of the request's content
// type. Should encoding fail, which only a shape bug can cause, the
// answer is AWS's InternalFailure.
func EncodeResponse(contentType string, out any) *Response {
	enc, ok := EncodingOf(contentType)
	if !ok {
		enc = EncodingJSON
	}
	if body, ok := encodeFast(enc, out); ok {
		return &Response{Status: statusOK, ContentType: enc.ContentType(), Body: body, pooled: true}
	}
	body, err := EncodeAs(enc, out)
	if err != nil {
		return ErrorResponse(contentType, InternalFailure())
	}
	return &Response{Status: statusOK, ContentType: enc.ContentType(), Body: body}
}
