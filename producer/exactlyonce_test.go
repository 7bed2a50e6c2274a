package producer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/faults"
)

// TestExactlyOnceUnderLostAnswers: a third of the PutRecords answers are
// lost after the records were stored (faults' lose_answer) and 30 % of
// the entries of the others refused. With IDs, every record is stored
// once, in order; without, the resent copies are stored again, which
// shows the test can fail.
func TestExactlyOnceUnderLostAnswers(t *testing.T) {
	const keys, perKey, shards = 200, 50, 8
	run := func(t *testing.T, disableIDs bool) (lost float64, outOfOrder, dups, missing int) {
		ctx := context.Background()
		kc := newFaultyTributary(t, 0.3, shards, faults.Rule{Operation: "PutRecords", Effect: faults.EffectLoseAnswer, Probability: 0.3})
		p, err := New(ctx, Config{Stream: "s", Client: kc, RetryDelay: time.Millisecond, Linger: 5 * time.Millisecond, DisableIDs: disableIDs})
		if err != nil {
			t.Fatal(err)
		}
		var futures []*Future
		for n := range perKey {
			for k := range keys {
				f, err := p.Put(ctx, Record{PartitionKey: fmt.Sprint("key-", k), Data: []byte(record(k, n))})
				if err != nil {
					t.Fatal(err)
				}
				futures = append(futures, f)
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := p.Close(cctx); err != nil {
			t.Fatal(err)
		}
		for i, f := range futures {
			if res, _ := f.Wait(ctx); res.Err != nil {
				t.Fatalf("record %d: %v", i, res.Err)
			}
		}
		lost = testutil.ToFloat64(p.cfg.Metrics.errorsByCode.WithLabelValues("s", "InternalFailure"))
		outOfOrder, dups, missing = checkOrder(readAll(t, kc), keys, perKey)
		return lost, outOfOrder, dups, missing
	}

	lost, outOfOrder, dups, missing := run(t, false)
	t.Logf("with IDs: %.0f InternalFailure answers (lost or refused); %d keys out of order, %d duplicates, %d missing", lost, outOfOrder, dups, missing)
	if lost == 0 {
		t.Fatal("no answer was lost: the fault rules did not act")
	}
	if outOfOrder != 0 || dups != 0 || missing != 0 {
		t.Errorf("with IDs: %d keys out of order, %d duplicates, %d missing; want none", outOfOrder, dups, missing)
	}

	_, outOfOrder, dups, missing = run(t, true)
	t.Logf("without IDs: %d keys out of order, %d duplicates, %d missing", outOfOrder, dups, missing)
	if dups == 0 {
		t.Errorf("without IDs no record was stored twice: the lost answers did not make the producer resend")
	}
	if outOfOrder != 0 || missing != 0 {
		t.Errorf("without IDs: %d keys out of order (first copies), %d missing; want none", outOfOrder, missing)
	}
}
