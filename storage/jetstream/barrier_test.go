package jetstream

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/storage"
)

// TestClusterLostAnswer appends through a node whose first attempt's
// answer is lost, as when the stream's leader is paused or cut off after
// taking the message, and whose resend is answered "wrong last sequence",
// as a node that still takes itself for the leader answers from its stale
// store (barrier.go). The first attempt may reach the stream late (still
// in a leader's queue when the resend is refused), be lost, or be lost
// while another node's writer moves the tail; or, with no answer lost,
// that node refuses every attempt until a barrier is acknowledged (the
// leader's word for the tail does not move meanwhile). Each append must end
// acknowledged, its record stored exactly once, at the position
// acknowledged, after the records before it; without the barrier such an
// append ended with an unknown outcome (errUnknownFate).
func TestClusterLostAnswer(t *testing.T) {
	es := openCluster(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cases := []struct {
		name string
		// lands: the first attempt reaches the stream, right before the
		// writer's next publish; other: another node appends while the
		// answer is being lost; stale: every attempt is refused until a
		// barrier is published, and no answer is lost.
		lands, other, stale bool
		want                []string
	}{
		{name: "first attempt lands late", lands: true, want: []string{"before", "once"}},
		{name: "first attempt lost", want: []string{"before", "once"}},
		{name: "first attempt lost, another writer", other: true, want: []string{"before", "other", "once"}},
		{name: "refused until a barrier", stale: true, want: []string{"before", "once"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("lost-%d", i)
			if _, err := es[0].CreateLog(ctx, name, storage.LogOptions{}); err != nil {
				t.Fatal(err)
			}
			w, err := es[1].Log(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Append(ctx, []storage.Record{{Data: []byte("before")}}); err != nil {
				t.Fatal(err)
			}
			other, err := es[0].Log(ctx, name)
			if err != nil {
				t.Fatal(err)
			}

			var (
				attempts int
				held     []*nats.Msg
				barrier  bool
			)
			subject := w.(*shardLog).st.subject
			refused := &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence, Description: "wrong last sequence"}
			es[1].faults = func(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error, bool) {
				barrier = barrier || msg.Subject == w.(*shardLog).st.barrier
				if msg.Subject == subject && tc.stale {
					attempts++
					if !barrier {
						return nil, refused, true
					}
				} else if msg.Subject == subject {
					attempts++
					switch attempts {
					case 1:
						if tc.lands {
							held = append(held, copyMsg(msg))
						}
						if tc.other {
							if _, err := other.Append(ctx, []storage.Record{{Data: []byte("other")}}); err != nil {
								t.Errorf("append through node 1: %v", err)
							}
						}
						return nil, fmt.Errorf("no answer: %w", context.DeadlineExceeded), true
					case 2:
						return nil, refused, true
					}
				}
				// What was held reaches the stream before anything sent
				// after it, as on the wire.
				for _, m := range held {
					if err := es[1].nc.PublishMsg(m); err != nil {
						t.Errorf("deliver the held attempt: %v", err)
					}
				}
				held = nil
				return nil, nil, false
			}
			app, err := w.Append(ctx, []storage.Record{{Data: []byte("once")}})
			es[1].faults = nil
			if err != nil {
				t.Fatalf("append: %v, want it acknowledged", err)
			}
			if attempts < 2 {
				t.Fatalf("%d attempts went through the faults, want at least 2", attempts)
			}

			r, err := es[2].Log(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Read(ctx, storage.Start{Kind: storage.FromOldest}, storage.ReadLimits{MaxRecords: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rec := range res.Records {
				got = append(got, string(rec.Data))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("node 3 reads %q, want %q", got, tc.want)
			}
			if last := res.Records[len(res.Records)-1]; last.Position != app[0].Position {
				t.Fatalf("the record is at %d, acknowledged at %d", last.Position, app[0].Position)
			}
		})
	}
}

func copyMsg(m *nats.Msg) *nats.Msg {
	c := nats.NewMsg(m.Subject)
	for k, v := range m.Header {
		c.Header[k] = append([]string(nil), v...)
	}
	c.Data = append([]byte(nil), m.Data...)
	return c
}

// TestClusterMinorityRead reads through the node leading a log's stream
// once the two other nodes are gone: that leader keeps taking itself for
// the leader for seconds, and asked for the subject's last message it
// would answer from its own store, which may miss writes a new majority
// acknowledged. A read must confirm with a barrier, which no quorum can
// acknowledge now: it fails rather than answer.
func TestClusterMinorityRead(t *testing.T) {
	es := openCluster(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := es[0].CreateLog(ctx, "l", storage.LogOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := es[0].Log(ctx, "l")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(ctx, []storage.Record{{Data: []byte("r")}}); err != nil {
		t.Fatal(err)
	}
	stream := w.(*shardLog).st.stream
	leader := -1
	for i, e := range es {
		if e.ns.JetStreamIsStreamLeader("$G", stream) {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatalf("no node leads %s", stream)
	}
	r, err := es[leader].Log(ctx, "l")
	if err != nil {
		t.Fatal(err)
	}
	// It reads while it has its quorum.
	res, err := r.Read(ctx, storage.Start{Kind: storage.FromOldest}, storage.ReadLimits{MaxRecords: 10})
	if err != nil || len(res.Records) != 1 {
		t.Fatalf("read through the leader: %d records, %v; want 1", len(res.Records), err)
	}
	for i, e := range es {
		if i != leader {
			e.Close()
		}
	}
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
	defer rcancel()
	res, err = r.Read(rctx, storage.Start{Kind: storage.FromOldest}, storage.ReadLimits{MaxRecords: 10})
	if err == nil {
		t.Fatalf("read through a leader without its quorum answered %d records, want an error", len(res.Records))
	}
}
