package producer

import (
	"math"
	"time"
)

// AWS's write limits per shard: Kinesis refuses writes beyond them with
// ProvisionedThroughputExceededException.
const (
	shardRecordsPerSec = 1000
	shardBytesPerSec   = 1 << 20
)

// shardLimiter keeps the producer's writes to one shard under a rate, so
// that it does not spend requests on writes Kinesis will refuse. The rate
// starts at ceiling (a fraction of AWS's limits: KPL's default is 1.5,
// because a shard's limits are enforced over a second with some burst)
// and adapts: a throttled write cuts it by half, down to floor; each
// second without one brings back a tenth of the ceiling. Not safe for
// concurrent use; each shard's sender owns its own.
type shardLimiter struct {
	ceiling, floor float64 // fractions of AWS's limits
	factor         float64 // the current fraction
	records, bytes bucket
	lastCut        time.Time
	lastGrow       time.Time
	// lastStep is the growth made at lastGrow, taken back by a throttle
	// that comes within the second after it.
	lastStep float64
}

// bucket is a token bucket holding at most one second's worth.
type bucket struct {
	tokens float64
	at     time.Time
}

func newShardLimiter(ceiling float64, now time.Time) *shardLimiter {
	l := &shardLimiter{ceiling: ceiling, floor: min(0.1, ceiling), factor: ceiling, lastGrow: now}
	l.records = bucket{tokens: l.rate(shardRecordsPerSec), at: now}
	l.bytes = bucket{tokens: l.rate(shardBytesPerSec), at: now}
	return l
}

func (l *shardLimiter) rate(limit float64) float64 { return limit * l.factor }

func (b *bucket) refill(rate float64, now time.Time) {
	if now.After(b.at) {
		b.tokens = math.Min(rate, b.tokens+rate*now.Sub(b.at).Seconds())
		b.at = now
	}
}

// wait returns how long to wait before records records of bytes bytes
// may be sent to the shard; zero means now, and the tokens are then
// taken. A write larger than a second's worth waits for a full bucket and
// takes it all, so that a single record of the stream's maximum size can
// always go.
func (l *shardLimiter) wait(records, bytes int, now time.Time) time.Duration {
	l.grow(now)
	rr, br := l.rate(shardRecordsPerSec), l.rate(shardBytesPerSec)
	l.records.refill(rr, now)
	l.bytes.refill(br, now)
	needR, needB := math.Min(float64(records), rr), math.Min(float64(bytes), br)
	d := max(shortfall(l.records.tokens, needR, rr), shortfall(l.bytes.tokens, needB, br))
	if d > 0 {
		return d
	}
	l.records.tokens -= needR
	l.bytes.tokens -= needB
	return 0
}

// shortfall is how long until a bucket at rate holds need tokens.
func shortfall(have, need, rate float64) time.Duration {
	if have >= need {
		return 0
	}
	return time.Duration((need - have) / rate * float64(time.Second))
}

// throttled records that the shard refused a write for its rate: the
// rate is cut by half, at most once a second (one refused request often
// comes with several). A growth of the rate in the second before does
// not count: the second was not one without a throttle, and under a
// lasting throttle the rate halves every second down to the floor.
func (l *shardLimiter) throttled(now time.Time) {
	if now.Sub(l.lastCut) < time.Second {
		return
	}
	if now.Sub(l.lastGrow) < time.Second {
		l.factor -= l.lastStep
	}
	l.lastCut, l.lastGrow, l.lastStep = now, now, 0
	l.factor = math.Max(l.floor, l.factor/2)
}

// grow brings the rate back towards the ceiling: a tenth of it per second
// since the last change.
func (l *shardLimiter) grow(now time.Time) {
	if l.factor >= l.ceiling {
		l.lastGrow = now
		return
	}
	if s := now.Sub(l.lastGrow).Seconds(); s >= 1 {
		grown := math.Min(l.ceiling, l.factor+l.ceiling/10*math.Floor(s))
		l.lastStep, l.factor, l.lastGrow = grown-l.factor, grown, now
	}
}
