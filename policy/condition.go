package policy

import (
	"encoding/json"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Condition is one operator applied to one key: true when the request's
// values for Key meet the operator against Values.
type Condition struct {
	// Operator is as written (e.g. "ForAnyValue:StringLikeIfExists").
	Operator string
	Key      string // lower-cased: IAM's condition keys are case-insensitive
	Values   []string

	op       opKind
	negated  bool
	ifExists bool
	set      setKind
}

type setKind int

const (
	setNone setKind = iota
	setAnyValue
	setAllValues
)

// opKind is the comparison an operator makes; negated operators share
// the kind of their positive form.
type opKind int

const (
	opStringEquals opKind = iota
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opIPAddress
	opArnLike
	opNull
)

type opInfo struct {
	kind    opKind
	negated bool
}

// operators are the condition operators supported, by name without the
// IfExists suffix and set prefix.
var operators = map[string]opInfo{
	"StringEquals":              {opStringEquals, false},
	"StringNotEquals":           {opStringEquals, true},
	"StringEqualsIgnoreCase":    {opStringEqualsIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringEqualsIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"NumericEquals":             {opNumericEquals, false},
	"NumericNotEquals":          {opNumericEquals, true},
	"NumericLessThan":           {opNumericLessThan, false},
	"NumericLessThanEquals":     {opNumericLessThanEquals, false},
	"NumericGreaterThan":        {opNumericGreaterThan, false},
	"NumericGreaterThanEquals":  {opNumericGreaterThanEquals, false},
	"DateEquals":                {opDateEquals, false},
	"DateNotEquals":             {opDateEquals, true},
	"DateLessThan":              {opDateLessThan, false},
	"DateLessThanEquals":        {opDateLessThanEquals, false},
	"DateGreaterThan":           {opDateGreaterThan, false},
	"DateGreaterThanEquals":     {opDateGreaterThanEquals, false},
	"Bool":                      {opBool, false},
	"IpAddress":                 {opIPAddress, false},
	"NotIpAddress":              {opIPAddress, true},
	// IAM gives ArnEquals the same meaning as ArnLike: both match each
	// of the six ARN components, wildcards allowed.
	"ArnEquals":    {opArnLike, false},
	"ArnLike":      {opArnLike, false},
	"ArnNotEquals": {opArnLike, true},
	"ArnNotLike":   {opArnLike, true},
	"Null":         {opNull, false},
}

// keyType is the type of a condition key's values, which decides the
// operators it may be used with.
type keyType int

const (
	typeString keyType = iota
	typeARN
	typeDate
	typeNumeric
	typeBool
	typeIP
)

// Condition keys Tributary fills in (see package api, authorize.go), by
// lower-cased name. Keys with a "/" take a tag key after it. Kinesis
// documents no condition keys of its own (its actions take only the aws:
// tag keys), so there are no kinesis: keys here.
var keys = map[string]keyType{
	"aws:principalaccount": typeString,
	"aws:principalarn":     typeARN,
	"aws:principaltype":    typeString,
	"aws:username":         typeString,
	"aws:resourceaccount":  typeString,
	"aws:sourceaccount":    typeString,
	"aws:sourcearn":        typeARN,
	"aws:currenttime":      typeDate,
	"aws:epochtime":        typeNumeric,
	"aws:securetransport":  typeBool,
	"aws:sourceip":         typeIP,
	"aws:requestedregion":  typeString,
	"aws:tagkeys":          typeString,
	"aws:resourcetag/":     typeString,
	"aws:requesttag/":      typeString,
}

// KeyResourceTagPrefix and KeyRequestTagPrefix start the tag condition
// keys, lower-cased; the tag key follows as written.
const (
	KeyResourceTagPrefix = "aws:resourcetag/"
	KeyRequestTagPrefix  = "aws:requesttag/"
)

func keyTypeOf(key string) (keyType, bool) {
	if t, ok := keys[key]; ok && !strings.HasSuffix(key, "/") {
		return t, true
	}
	for _, p := range []string{KeyResourceTagPrefix, KeyRequestTagPrefix} {
		if rest, ok := strings.CutPrefix(key, p); ok && rest != "" {
			return typeString, true
		}
	}
	return 0, false
}

// allowedTypes lists which key types each kind of operator compares.
func opAccepts(op opKind, t keyType) bool {
	switch op {
	case opStringEquals, opStringEqualsIgnoreCase, opStringLike:
		// IAM lets string operators compare ARNs too.
		return t == typeString || t == typeARN
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		return t == typeNumeric
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		return t == typeDate || t == typeNumeric
	case opBool:
		return t == typeBool
	case opIPAddress:
		return t == typeIP
	case opArnLike:
		return t == typeARN
	case opNull:
		return true
	}
	return false
}

// parseConditions reads a Condition element: operator → key → value(s).
func parseConditions(raw json.RawMessage) ([]Condition, error) {
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errorf("Condition must be an object of operators, each an object of keys.")
	}
	var out []Condition
	for opName, byKey := range m {
		c, err := parseOperator(opName)
		if err != nil {
			return nil, err
		}
		if len(byKey) == 0 {
			return nil, errorf("Condition operator %s has no keys.", opName)
		}
		for key, rawVals := range byKey {
			c := c
			c.Key = strings.ToLower(key)
			t, ok := keyTypeOf(c.Key)
			if !ok {
				return nil, errorf("Condition key %q is not supported by Tributary.", key)
			}
			if !opAccepts(c.op, t) {
				return nil, errorf("Condition operator %s cannot be used with key %s.", opName, key)
			}
			vals, err := conditionValues(rawVals, opName, key)
			if err != nil {
				return nil, err
			}
			for _, v := range vals {
				if err := checkValue(c.op, v); err != nil {
					return nil, errorf("Condition %s %s: %v", opName, key, err)
				}
			}
			c.Values = vals
			out = append(out, c)
		}
	}
	// Map order is random; a fixed order keeps evaluation reproducible.
	slices.SortFunc(out, func(a, b Condition) int {
		return strings.Compare(a.Operator+"\x00"+a.Key, b.Operator+"\x00"+b.Key)
	})
	return out, nil
}

func parseOperator(name string) (Condition, error) {
	c := Condition{Operator: name}
	base := name
	if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		c.set, base = setAnyValue, rest
	} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		c.set, base = setAllValues, rest
	}
	if rest, ok := strings.CutSuffix(base, "IfExists"); ok && rest != "Null" {
		c.ifExists, base = true, rest
	}
	info, ok := operators[base]
	if !ok || (info.kind == opNull && c.set != setNone) {
		return c, errorf("Condition operator %q is not supported by Tributary.", name)
	}
	c.op, c.negated = info.kind, info.negated
	return c, nil
}

// conditionValues decodes a condition's value or values; IAM allows
// strings, numbers and booleans and compares them as text.
func conditionValues(raw json.RawMessage, op, key string) ([]string, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		list = []json.RawMessage{raw}
	}
	if len(list) == 0 {
		return nil, errorf("Condition %s %s has no values.", op, key)
	}
	vals := make([]string, 0, len(list))
	for _, r := range list {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, errorf("Condition %s %s: a value must be a string, number or boolean.", op, key)
		}
		switch x := v.(type) {
		case string:
			vals = append(vals, x)
		case bool:
			vals = append(vals, strconv.FormatBool(x))
		case float64:
			vals = append(vals, strings.TrimSpace(string(r)))
		default:
			return nil, errorf("Condition %s %s: a value must be a string, number or boolean.", op, key)
		}
	}
	return vals, nil
}

// checkValue refuses a policy value the operator could never compare,
// which would otherwise make its condition silently false.
func checkValue(op opKind, v string) error {
	switch op {
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		if _, ok := parseNumber(v); !ok {
			return errorf("%q is not a number.", v)
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		if _, ok := parseDate(v); !ok {
			return errorf("%q is not a date (ISO 8601 or epoch seconds).", v)
		}
	case opBool, opNull:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return errorf("%q is not true or false.", v)
		}
	case opIPAddress:
		if _, ok := parsePrefix(v); !ok {
			return errorf("%q is not an IP address or CIDR block.", v)
		}
	}
	return nil
}

func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// parseDate reads the forms IAM accepts: ISO 8601 (date, or date and
// time with a zone) and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// holds evaluates the condition against the request context, whose keys
// are lower-cased and whose absent keys have no entry.
func (c *Condition) holds(ctx map[string][]string) bool {
	vals, present := ctx[c.Key]
	present = present && len(vals) > 0
	if c.op == opNull {
		wantAbsent := strings.EqualFold(c.Values[0], "true")
		return wantAbsent != present
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == setAllValues:
			// Every one of no values matches: IAM's documented pitfall.
			return true
		case c.set == setAnyValue:
			return false
		}
		// A missing key matches nothing, so a negated operator holds.
		return c.negated
	}
	one := func(v string) bool { return c.matchesAny(v) != c.negated }
	switch c.set {
	case setAnyValue:
		return slices.ContainsFunc(vals, one)
	case setAllValues:
		for _, v := range vals {
			if !one(v) {
				return false
			}
		}
		return true
	}
	// A single-valued key: the negated operators hold when no request
	// value matches any policy value.
	matched := slices.ContainsFunc(vals, c.matchesAny)
	return matched != c.negated
}

// matchesAny reports whether the request value v matches one of the
// policy's values under the positive form of the operator.
func (c *Condition) matchesAny(v string) bool {
	for _, pv := range c.Values {
		if c.match(v, pv) {
			return true
		}
	}
	return false
}

func (c *Condition) match(v, pv string) bool {
	switch c.op {
	case opStringEquals:
		return v == pv
	case opStringEqualsIgnoreCase:
		return strings.EqualFold(v, pv)
	case opStringLike:
		return wildcard(pv, v, false)
	case opBool:
		return strings.EqualFold(v, pv)
	case opArnLike:
		return arnLike(pv, v)
	case opIPAddress:
		p, ok := parsePrefix(pv)
		a, err := netip.ParseAddr(v)
		return ok && err == nil && p.Contains(a.Unmap())
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		x, ok1 := parseNumber(v)
		y, ok2 := parseNumber(pv)
		return ok1 && ok2 && compare(c.op-opNumericEquals, cmpFloat(x, y))
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		x, ok1 := parseDate(v)
		y, ok2 := parseDate(pv)
		return ok1 && ok2 && compare(c.op-opDateEquals, x.Compare(y))
	}
	return false
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// compare applies the nth of Equals, LessThan, LessThanEquals,
// GreaterThan, GreaterThanEquals (the order of the opKinds) to the
// result of comparing the request's value with the policy's.
func compare(n opKind, c int) bool {
	switch n {
	case 0:
		return c == 0
	case 1:
		return c < 0
	case 2:
		return c <= 0
	case 3:
		return c > 0
	case 4:
		return c >= 0
	}
	return false
}

// arnLike matches an ARN against a pattern component by component (the
// resource part, after the fifth colon, as one component), so that a
// wildcard does not run from one component into the next.
func arnLike(pattern, arn string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !wildcard(pp[i], ap[i], false) {
			return false
		}
	}
	return true
}
