// Package faults injects failures into Tributary's Kinesis operations so
// that clients can be tested against the errors, delays and partial
// failures the real service produces. An Injector holds rules; package
// kinesis asks it, for every call it is about to serve, which faults the
// call meets.
//
// Injection is deterministic: every rule draws from its own PCG generator,
// seeded from the rule's Seed or from the injector's seed and the rule's
// ordinal, and advanced exactly once per matching call. The same rules
// added in the same order therefore give the same sequence of requests
// the same faults. Concurrent requests are serialized by a mutex, so the
// order they reach Match in is the order that counts.
//
// Rules are checked against the wire's tables of operations and of
// exceptions (package kinesis): a rule may name any operation Tributary
// has the shapes of, and any exception a served call can end with.
package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tributary-io/tributary/kinesis"
)

// Effect is what a rule does to the calls it matches.
type Effect string

// Effects.
const (
	// EffectError answers the call with an AWS error instead of serving it.
	EffectError Effect = "error"
	// EffectLatency delays the call before it is served.
	EffectLatency Effect = "latency"
	// EffectPutRecordsFailures fails a fraction of a PutRecords call's
	// entries; the failed entries are not stored.
	EffectPutRecordsFailures Effect = "put_records_failures"
	// EffectExpireIterators makes GetRecords treat iterators older than
	// MaxAge as expired, as if their 5-minute lifetime were MaxAge.
	EffectExpireIterators Effect = "expire_iterators"
	// EffectDropSubscription ends a SubscribeToShard event stream right
	// after its initial-response, before any SubscribeToShardEvent, as a
	// connection dropped at once would; Count bounds how many calls meet
	// it.
	EffectDropSubscription Effect = "drop_subscription"
	// EffectLoseAnswer serves the call and then answers InternalFailure
	// (HTTP 500) instead of its result, as if the answer were lost on its
	// way: what the call did (records stored, a stream created) stands,
	// and the client cannot tell. For testing clients that must neither
	// lose nor duplicate what they send again.
	EffectLoseAnswer Effect = "lose_answer"
)

// AnyOperation in Rule.Operation matches every operation.
const AnyOperation = "*"

// maxLatency bounds a latency rule so that a typo (200s for 200ms) cannot
// hang a client forever.
const maxLatency = 5 * time.Minute

// Rule is one fault. Its JSON form is the rule format of the admin API and
// of --faults-file.
type Rule struct {
	// ID is assigned by Add; a value given to Add is ignored.
	ID string `json:"id,omitempty"`
	// Operation is the Kinesis operation the rule applies to, such as
	// "PutRecords", or "*" for all. Required.
	Operation string `json:"operation"`
	// Stream, when set, restricts the rule to calls on the stream of that
	// name (a call that names its stream by ARN matches on the name in
	// the ARN).
	Stream string `json:"stream,omitempty"`
	// Shard, when set, restricts the rule to calls whose shard is known
	// before they are served: GetShardIterator, SplitShard, MergeShards
	// and GetRecords on an iterator the injector saw handed out.
	Shard  string `json:"shard,omitempty"`
	Effect Effect `json:"effect"`
	// Probability is the chance, from 0 to 1, that a matching call meets
	// the fault. Zero or absent means 1.
	Probability float64 `json:"probability,omitempty"`
	// Count, when positive, makes the next Count matching calls meet the
	// fault, after which the rule is spent and removed. It excludes a
	// Probability below 1. List shows the calls left.
	Count int `json:"count,omitempty"`
	// Seed, when set, seeds this rule's generator instead of the
	// injector's seed.
	Seed *uint64 `json:"seed,omitempty"`

	// ErrorType is the exception of an error rule, e.g.
	// "ProvisionedThroughputExceededException".
	ErrorType string `json:"error_type,omitempty"`
	// ErrorMessage overrides AWS's standard message for ErrorType.
	ErrorMessage string `json:"error_message,omitempty"`
	// Latency is the delay of a latency rule.
	Latency Duration `json:"latency,omitempty"`
	// Fraction is the share, from 0 to 1, of a PutRecords call's entries a
	// put_records_failures rule fails; each entry fails independently
	// with this probability.
	Fraction float64 `json:"fraction,omitempty"`
	// ErrorCode is the ErrorCode of the failed entries:
	// ProvisionedThroughputExceededException (the default) or
	// InternalFailure.
	ErrorCode string `json:"error_code,omitempty"`
	// MaxAge is the iterator lifetime of an expire_iterators rule.
	MaxAge Duration `json:"max_age,omitempty"`
}

// Duration is a time.Duration written in JSON as a string like "200ms".
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler. It takes a duration string;
// a bare number is rejected because its unit would be a guess.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`duration must be a string such as "200ms" or "1s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: must be like 200ms or 1s", s)
	}
	*d = Duration(v)
	return nil
}

// Call describes a call about to be served, as far as package kinesis
// knows it before serving it.
type Call struct {
	Operation string
	Stream    string // stream name; empty if unknown
	Shard     string // shard id; empty if unknown
	Account   string
	// Entries is the number of records of a PutRecords call.
	Entries int
}

// Decision is one fault a call meets.
type Decision struct {
	RuleID string
	Effect Effect

	// EffectError: the exception and its message.
	ErrorType    string
	ErrorMessage string

	// EffectLatency: the delay.
	Latency time.Duration

	// EffectPutRecordsFailures: the indexes, in increasing order, of the
	// entries that fail, and the ErrorCode and ErrorMessage they get.
	FailedEntries []int
	ErrorCode     string

	// EffectExpireIterators: the iterator lifetime to enforce.
	MaxAge time.Duration
}

// maxTrackedIterators bounds the iterators remembered for
// expire_iterators; beyond it the oldest are forgotten and can no longer
// be expired early (they still expire after 5 minutes as usual).
const maxTrackedIterators = 10000

// IteratorInfo is what the injector remembers of an iterator it saw
// handed out.
type IteratorInfo struct {
	Issued time.Time
	Stream string
	Shard  string
}

// Injector holds fault rules and decides which faults each call meets. It
// is safe for concurrent use. The zero value is not usable; call New.
type Injector struct {
	mu    sync.Mutex
	seed  uint64
	added uint64 // rules ever added; numbers IDs and seeds generators
	rules []*rule

	// Iterators handed out, for expire_iterators. Package stream's
	// iterators carry their issue time, but only stream can read them,
	// so the injector records the times itself as responses go out.
	iters    map[string]IteratorInfo
	iterRing []string // insertion order, for eviction
	iterNext int
}

type rule struct {
	Rule
	rng     *rand.Rand
	counted bool // Count was set, so the rule is spent when it reaches 0
}

// New returns an injector without rules whose generators derive from
// seed.
func New(seed uint64) *Injector {
	return &Injector{seed: seed, iters: make(map[string]IteratorInfo)}
}

// Add validates r, assigns it an ID and adds it after the existing rules.
// It returns the rule as stored.
func (in *Injector) Add(r Rule) (Rule, error) {
	if err := Validate(&r); err != nil {
		return Rule{}, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.addLocked(r), nil
}

func (in *Injector) addLocked(r Rule) Rule {
	in.added++
	r.ID = "f" + strconv.FormatUint(in.added, 10)
	seed := in.seed
	if r.Seed != nil {
		seed = *r.Seed
	}
	// The ordinal as the PCG stream keeps rules that share a seed apart.
	in.rules = append(in.rules, &rule{Rule: r, rng: rand.New(rand.NewPCG(seed, in.added)), counted: r.Count > 0})
	return r
}

// List returns the rules in the order they apply.
func (in *Injector) List() []Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Rule, 0, len(in.rules))
	for _, r := range in.rules {
		out = append(out, r.Rule)
	}
	return out
}

// Clear removes the rule with the given ID, or all rules if id is empty.
// It reports whether anything was removed.
func (in *Injector) Clear(id string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if id == "" {
		n := len(in.rules)
		in.rules = nil
		return n > 0
	}
	n := len(in.rules)
	in.rules = slices.DeleteFunc(in.rules, func(r *rule) bool { return r.ID == id })
	return len(in.rules) < n
}

// File is the format of a rules file: a seed for the injector and rules.
type File struct {
	Seed  *uint64 `json:"seed,omitempty"`
	Rules []Rule  `json:"rules"`
}

// Load reads a rules file and adds its rules. Its seed, if given, replaces
// the injector's for the rules added from then on. Either all rules are
// added or, if one is invalid, none; it returns the number added.
func (in *Injector) Load(r io.Reader) (int, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return 0, fmt.Errorf("faults: decoding rules: %w", err)
	}
	for i := range f.Rules {
		if err := Validate(&f.Rules[i]); err != nil {
			return 0, fmt.Errorf("rule %d: %w", i+1, err)
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if f.Seed != nil {
		in.seed = *f.Seed
	}
	for _, r := range f.Rules {
		in.addLocked(r)
	}
	return len(f.Rules), nil
}

// Match returns the faults call meets, in the order of the rules. Every
// rule that matches the call's operation, stream and shard advances its
// generator once, whether or not the fault fires; a Count rule that fires
// is spent by one call and removed when none are left.
func (in *Injector) Match(call Call) []Decision {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Decision
	spent := false
	for _, r := range in.rules {
		if !r.matches(call) {
			continue
		}
		x := r.rng.Uint64()
		if r.Count > 0 {
			r.Count--
			spent = spent || r.Count == 0
		} else if p := r.Probability; p != 0 && p < 1 && unitFloat(x) >= p {
			continue
		}
		out = append(out, r.decide(call, x))
	}
	if spent {
		in.rules = slices.DeleteFunc(in.rules, func(r *rule) bool { return r.counted && r.Count == 0 })
	}
	return out
}

// unitFloat maps x to [0, 1) using its top 53 bits.
func unitFloat(x uint64) float64 { return float64(x>>11) / (1 << 53) }

func (r *rule) matches(c Call) bool {
	if r.Operation != AnyOperation && r.Operation != c.Operation {
		return false
	}
	if r.Stream != "" && r.Stream != c.Stream {
		return false
	}
	return r.Shard == "" || r.Shard == c.Shard
}

// decide builds the decision of a rule that fired; x is the call's draw,
// which also seeds the per-entry choices so that the rule's own generator
// advances once per call however many entries there are.
func (r *rule) decide(c Call, x uint64) Decision {
	d := Decision{RuleID: r.ID, Effect: r.Effect}
	switch r.Effect {
	case EffectError:
		d.ErrorType = r.ErrorType
		d.ErrorMessage = r.ErrorMessage
		if d.ErrorMessage == "" {
			d.ErrorMessage = DefaultMessage(r.ErrorType, c.Stream, firstNonEmpty(c.Shard, r.Shard), c.Account)
		}
	case EffectLatency:
		d.Latency = time.Duration(r.Latency)
	case EffectPutRecordsFailures:
		d.ErrorCode = r.ErrorCode
		d.ErrorMessage = EntryMessage(r.ErrorCode, c.Stream, r.Shard, c.Account)
		entries := rand.New(rand.NewPCG(x, x>>32|x<<32))
		for i := range c.Entries {
			if entries.Float64() < r.Fraction {
				d.FailedEntries = append(d.FailedEntries, i)
			}
		}
	case EffectExpireIterators:
		d.MaxAge = time.Duration(r.MaxAge)
	}
	return d
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// DefaultMessage is AWS's message for an exception of type typ raised for
// a call on stream and shard (either may be empty) in account. Types
// without a standard text get the empty message, which AWS also sends
// with InternalFailure and ServiceUnavailable.
func DefaultMessage(typ, stream, shard, account string) string {
	switch typ {
	case kinesis.ErrProvisionedThroughputExceeded:
		return rateExceeded(stream, shard, account)
	case kinesis.ErrLimitExceeded:
		return fmt.Sprintf("Rate exceeded for stream %s under account %s.", stream, account)
	case kinesis.ErrExpiredIterator:
		return "Iterator expired."
	}
	return ""
}

// rateExceeded is AWS's ProvisionedThroughputExceededException message.
// With the shard unknown (a PutRecord is routed by its hash key only in
// package stream) the stream-level form is used.
func rateExceeded(stream, shard, account string) string {
	if shard == "" {
		return fmt.Sprintf("Rate exceeded for stream %s under account %s.", stream, account)
	}
	return fmt.Sprintf("Rate exceeded for shard %s in stream %s under account %s.", shard, stream, account)
}

// EntryMessage is AWS's ErrorMessage for a failed PutRecords entry with
// the given ErrorCode.
func EntryMessage(code, stream, shard, account string) string {
	if code == kinesis.ErrInternalFailure {
		// As the service sends it (seen in amazon-kinesis-producer issue
		// 30); the API reference paraphrases it as "Internal Service
		// Failure".
		return "Internal service failure."
	}
	return rateExceeded(stream, shard, account)
}

// ExpiredMessage is AWS's ExpiredIteratorException message for an
// iterator issued at issued, presented at now, under a lifetime of
// maxAge; times are in the form of Java's Date.toString in UTC.
func ExpiredMessage(issued, now time.Time, maxAge time.Duration) string {
	const layout = "Mon Jan 02 15:04:05 MST 2006"
	return fmt.Sprintf("Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
		issued.UTC().Format(layout), now.UTC().Format(layout), maxAge.Milliseconds())
}

// RecordIterator remembers that iterator was handed out at issued for
// stream and shard, for expire_iterators and for matching GetRecords
// calls on their stream and shard.
func (in *Injector) RecordIterator(iterator string, info IteratorInfo) {
	if iterator == "" {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.iters[iterator]; ok {
		return
	}
	if len(in.iterRing) < maxTrackedIterators {
		in.iterRing = append(in.iterRing, iterator)
	} else {
		delete(in.iters, in.iterRing[in.iterNext])
		in.iterRing[in.iterNext] = iterator
		in.iterNext = (in.iterNext + 1) % maxTrackedIterators
	}
	in.iters[iterator] = info
}

// Iterator returns what was recorded of iterator.
func (in *Injector) Iterator(iterator string) (IteratorInfo, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	info, ok := in.iters[iterator]
	return info, ok
}

// Validate checks r and fills in its defaults. Add calls it; it is
// exported so that the CLI and the admin API can report errors early.
func Validate(r *Rule) error {
	if r.Operation == "" {
		return errors.New("operation is required")
	}
	if r.Operation != AnyOperation && !kinesis.HasShapes(r.Operation) {
		return fmt.Errorf("unknown operation %q", r.Operation)
	}
	if r.Probability < 0 || r.Probability > 1 {
		return fmt.Errorf("probability %v must be from 0 to 1", r.Probability)
	}
	if r.Count < 0 {
		return fmt.Errorf("count %d must not be negative", r.Count)
	}
	if r.Count > 0 && r.Probability != 0 && r.Probability != 1 {
		return errors.New("probability and count are exclusive")
	}
	if r.Probability == 0 {
		r.Probability = 1
	}
	only := func(op string) error {
		if r.Operation != op {
			return fmt.Errorf("effect %s applies only to operation %s", r.Effect, op)
		}
		return nil
	}
	switch r.Effect {
	case EffectError:
		if r.ErrorType == "" {
			return errors.New("effect error needs error_type")
		}
		if !kinesis.IsCallError(r.ErrorType) {
			return fmt.Errorf("unknown error_type %q", r.ErrorType)
		}
	case EffectLatency:
		if r.Latency <= 0 || time.Duration(r.Latency) > maxLatency {
			return fmt.Errorf("effect latency needs a latency above 0 and at most %v", maxLatency)
		}
	case EffectPutRecordsFailures:
		if err := only(kinesis.OpPutRecords); err != nil {
			return err
		}
		if r.Fraction <= 0 || r.Fraction > 1 {
			return fmt.Errorf("fraction %v must be above 0 and at most 1", r.Fraction)
		}
		switch r.ErrorCode {
		case "":
			r.ErrorCode = kinesis.ErrProvisionedThroughputExceeded
		case kinesis.ErrProvisionedThroughputExceeded, kinesis.ErrInternalFailure:
		default:
			return fmt.Errorf("error_code %q must be %s or %s", r.ErrorCode, kinesis.ErrProvisionedThroughputExceeded, kinesis.ErrInternalFailure)
		}
	case EffectExpireIterators:
		if err := only(kinesis.OpGetRecords); err != nil {
			return err
		}
		if r.MaxAge <= 0 {
			return errors.New("effect expire_iterators needs a max_age above 0")
		}
	case EffectDropSubscription:
		if err := only(kinesis.OpSubscribeToShard); err != nil {
			return err
		}
	case EffectLoseAnswer:
		if r.Operation == kinesis.OpSubscribeToShard {
			return errors.New("effect lose_answer does not apply to SubscribeToShard (use drop_subscription)")
		}
	case "":
		return errors.New("effect is required")
	default:
		return fmt.Errorf("unknown effect %q", r.Effect)
	}
	return nil
}
