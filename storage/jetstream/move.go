package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Moving replicas between nodes: what `tributary cluster add` and
// `tributary cluster drain` do.
//
// The engine's streams (the placements and the catalogue's two buckets)
// are the only JetStream assets of a cluster, and a node holds a replica
// of a stream or none. Nothing is copied by the engine: it asks
// nats-server, one stream at a time, to evacuate a peer
// ($JS.API.STREAM.PEER.EVACUATE.<stream>). The metadata leader then adds
// a replacement replica (the node with the fewest Raft groups, which is
// the newest node when one was just added), the stream's leader catches
// it up from its log or a snapshot, and only once the replacement is
// current is the evacuated peer dropped from the stream's group. A stream
// keeps its replica count throughout: R3 becomes R4 while the new replica
// catches up, then R3 again. Writes go on: they are ordered by the
// stream's leader, and a leader that is itself leaving is first asked to
// step down ($JS.API.STREAM.LEADER.STEPDOWN.<stream>), an election of a
// few hundred milliseconds during which appends are resent (log.go), as
// after any leader change.
//
// The engine waits for each stream to settle (waitSettled: a leader, the
// replica count, every replica current, the leaving node in none of it)
// before the next: one stream at a time, so that at most one stream is
// ever catching a replica up, and a failure leaves every other stream as
// it was.

// Move is one step of a drain or an add, reported as it ends.
type Move struct {
	// Stream is the replicated stream moved; "" for the metadata group.
	Stream string `json:"stream,omitempty"`
	// What moved: MoveReplica, MoveLeader, MoveJoined, MoveMetaLeader or
	// MoveMetaRemove.
	What string `json:"what"`
	// From and To are the nodes the replica or leadership left and
	// reached ("" when not known, or not relevant).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Took is how long the step took, waiting for the stream to settle
	// included.
	Took time.Duration `json:"took_ns"`
}

// The kinds of Move.
const (
	MoveReplica    = "replica"     // a replica left From for To and To is current
	MoveLeader     = "leader"      // the stream's leadership left From for To
	MoveJoined     = "joined"      // To is a member of the metadata group
	MoveMetaLeader = "meta-leader" // the metadata leadership left From
	MoveMetaRemove = "meta-remove" // From left the metadata group
)

// ErrTooFewNodes is returned by Drain when the other nodes could not hold
// every stream's replicas.
var ErrTooFewNodes = errors.New("too few nodes")

// ErrUnknownNode is returned when the node named is not a member of the
// cluster's metadata group.
var ErrUnknownNode = errors.New("no such node in the cluster")

// ErrSelf is returned by Drain when asked to drain the node it runs on.
var ErrSelf = errors.New("a node cannot drain itself")

// settlePoll is how often a move looks at the stream it waits for.
const settlePoll = 100 * time.Millisecond

// Drain moves every replica and every leadership of the engine's streams
// off node, one stream at a time, each onto another node and current
// there before the next, while writes go on; then it moves the metadata
// leadership off node if node holds it, and removes node from the
// metadata group, which disables JetStream on node if it still runs:
// node's process should then be stopped, and its directory not reused.
// progress, if not nil, is called after each step.
//
// Drain refuses, before moving anything, with ErrTooFewNodes when the
// nodes left, up and reachable, are fewer than a stream's replica count,
// with ErrUnknownNode when node is not in the metadata group, and with
// ErrSelf on node itself (its last step takes node's JetStream away, so
// another node must see it through). A drain cut short (ctx ended) leaves every
// stream settled except at most the one it was moving, which nats-server
// finishes moving on its own; running Drain again goes on from there.
func (e *Engine) Drain(ctx context.Context, node string, progress func(Move)) error {
	if e.cluster == nil {
		return errors.New("jetstream: not a cluster")
	}
	if node == e.ns.Name() {
		return fmt.Errorf("jetstream: drain %s: %w: ask another node (its last step removes this one from the cluster)", node, ErrSelf)
	}
	if progress == nil {
		progress = func(Move) {}
	}
	// Another node may have made placement streams this one never used.
	if err := e.findPlacements(ctx); err != nil {
		return fmt.Errorf("jetstream: drain %s: %w", node, err)
	}
	members, _ := e.members()
	if _, ok := members[node]; !ok {
		return fmt.Errorf("jetstream: drain %s: %w (members: %v)", node, ErrUnknownNode, sortedKeys(members))
	}
	var left int
	for name, up := range members {
		if name != node && up {
			left++
		}
	}
	for _, name := range e.streamNames() {
		info, err := e.streamInfo(ctx, name)
		if err != nil {
			return fmt.Errorf("jetstream: drain %s: %w", node, err)
		}
		if r := info.Config.Replicas; left < r {
			return fmt.Errorf("jetstream: drain %s: %w: %d other nodes are up and %s needs %d replicas; add a node first", node, ErrTooFewNodes, left, name, r)
		}
	}

	for _, name := range e.streamNames() {
		if err := e.moveOff(ctx, name, node, progress); err != nil {
			return fmt.Errorf("jetstream: drain %s: %w", node, err)
		}
	}
	if err := e.metaLeaderOff(ctx, node, progress); err != nil {
		return fmt.Errorf("jetstream: drain %s: %w", node, err)
	}
	if err := e.removeMember(ctx, node, progress); err != nil {
		return fmt.Errorf("jetstream: drain %s: %w", node, err)
	}
	return nil
}

// moveOff moves stream's leadership, then its replica, off node, if node
// holds them.
func (e *Engine) moveOff(ctx context.Context, stream, node string, progress func(Move)) error {
	info, err := e.streamInfo(ctx, stream)
	if err != nil {
		return err
	}
	leader, replicas := peersOf(info)
	if leader != node && !slices.Contains(replicas, node) {
		return nil
	}
	if leader == node {
		start := time.Now()
		if err := e.apiRequest(ctx, e.nc, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, struct{}{}); err != nil {
			return fmt.Errorf("ask the leader of %s to step down: %w", stream, err)
		}
		info, err := e.waitFor(ctx, stream, func(info *jetstream.StreamInfo) bool {
			l, _ := peersOf(info)
			return l != "" && l != node
		})
		if err != nil {
			return fmt.Errorf("wait for a leader of %s other than %s: %w", stream, node, err)
		}
		to, _ := peersOf(info)
		progress(Move{Stream: stream, What: MoveLeader, From: node, To: to, Took: time.Since(start)})
	}
	to, took, err := e.evacuate(ctx, stream, node)
	if err != nil {
		return err
	}
	progress(Move{Stream: stream, What: MoveReplica, From: node, To: to, Took: took})
	return nil
}

// evacuate asks for stream's replica on node to move elsewhere, and waits
// until it has: it returns the node that received it.
func (e *Engine) evacuate(ctx context.Context, stream, node string) (to string, took time.Duration, err error) {
	start := time.Now()
	before, err := e.streamInfo(ctx, stream)
	if err != nil {
		return "", 0, err
	}
	l, r := peersOf(before)
	had := append(r, l)
	var after *jetstream.StreamInfo
	for after == nil {
		// A request whose answer is lost may or may not have been
		// applied, and evacuating again a peer already on its way out
		// is refused: it is sent again only if, some time later, the
		// stream's group is still as it was.
		err := e.request(ctx, e.nc, "$JS.API.STREAM.PEER.EVACUATE."+stream, struct {
			Peer string `json:"peer"`
		}{node}, true)
		if err != nil && !errors.Is(err, nats.ErrTimeout) {
			return "", 0, fmt.Errorf("evacuate %s from %s: %w", node, stream, err)
		}
		actx, cancel := context.WithTimeout(ctx, unansweredMove)
		after, err = e.waitFor(actx, stream, func(info *jetstream.StreamInfo) bool {
			l, r := peersOf(info)
			return !unchanged(had, append(r, l))
		})
		cancel()
		if err != nil && ctx.Err() != nil {
			return "", 0, fmt.Errorf("wait for %s to leave %s: %w", node, stream, err)
		}
	}
	after, err = e.waitSettled(ctx, stream, node)
	if err != nil {
		return "", 0, fmt.Errorf("wait for %s to leave %s: %w", node, stream, err)
	}
	l, r = peersOf(after)
	for _, p := range append(r, l) {
		if !slices.Contains(had, p) {
			to = p
		}
	}
	if to != "" {
		if err := e.waitStored(ctx, to, stream, after.State.LastSeq); err != nil {
			return "", 0, err
		}
	}
	return to, time.Since(start), nil
}

// waitStored waits until node's own replica of stream holds every message
// up to lastSeq.
//
// A replica counts as current in the stream's info once it has caught up
// with the Raft log, and nats-server drops the evacuated peer then; but a
// new replica installs a snapshot first and fetches the messages it
// describes afterwards: BenchmarkClusterDrain saw one current with 24 of
// its stream's 198 messages. So the move is over only once the new
// replica's store (the node's own JetStream report, asked through the
// system account) has reached the last sequence the stream had when it
// settled.
func (e *Engine) waitStored(ctx context.Context, node, stream string, lastSeq uint64) error {
	var last error
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		got, err := e.storedOn(ctx, node, stream)
		if err == nil && got >= lastSeq {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("its last sequence is %d", got)
		}
		if sleep(ctx, wait) != nil {
			return fmt.Errorf("wait for %s's replica of %s to hold sequence %d: %w (%w)", node, stream, lastSeq, ctx.Err(), last)
		}
	}
}

// storedOn asks node for the last sequence of its own replica of stream.
func (e *Engine) storedOn(ctx context.Context, node, stream string) (uint64, error) {
	body, err := json.Marshal(server.JszEventOptions{
		JSzOptions:         server.JSzOptions{Account: server.DEFAULT_GLOBAL_ACCOUNT, Streams: true},
		EventFilterOptions: server.EventFilterOptions{Name: node, ExactMatch: true},
	})
	if err != nil {
		return 0, err
	}
	actx, cancel := context.WithTimeout(ctx, leaderGetTimeout)
	defer cancel()
	// Every server answers a ping but those the filter leaves out.
	reply, err := e.sysConn.RequestWithContext(actx, "$SYS.REQ.SERVER.PING.JSZ", body)
	if err != nil {
		return 0, fmt.Errorf("ask %s for its replica of %s: %w", node, stream, err)
	}
	var resp struct {
		Data  *server.JSInfo   `json:"data"`
		Error *server.ApiError `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return 0, fmt.Errorf("ask %s for its replica of %s: %w", node, stream, err)
	}
	if resp.Error != nil || resp.Data == nil {
		return 0, fmt.Errorf("ask %s for its replica of %s: %v", node, stream, resp.Error)
	}
	for _, ad := range resp.Data.AccountDetails {
		for _, sd := range ad.Streams {
			if sd.Name == stream {
				return sd.State.LastSeq, nil
			}
		}
	}
	return 0, fmt.Errorf("%s has no replica of %s yet", node, stream)
}

// unansweredMove is how long an evacuation whose answer was lost gets to
// show in the stream's group before it is sent again.
const unansweredMove = 5 * time.Second

// unchanged tells whether two lists of a group's peers hold the same
// names.
func unchanged(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, p := range a {
		if !slices.Contains(b, p) {
			return false
		}
	}
	return true
}

// waitSettled waits until stream has a leader, its full replica count,
// every replica current, and none of it on without.
func (e *Engine) waitSettled(ctx context.Context, stream, without string) (*jetstream.StreamInfo, error) {
	return e.waitFor(ctx, stream, func(info *jetstream.StreamInfo) bool {
		c := info.Cluster
		if c == nil || c.Leader == "" || c.Leader == without || 1+len(c.Replicas) != info.Config.Replicas {
			return false
		}
		for _, p := range c.Replicas {
			if p.Name == without || !p.Current || p.Offline {
				return false
			}
		}
		return true
	})
}

// waitFor polls stream's info until done says so or ctx ends.
func (e *Engine) waitFor(ctx context.Context, stream string, done func(*jetstream.StreamInfo) bool) (*jetstream.StreamInfo, error) {
	var last error
	for {
		info, err := e.streamInfo(ctx, stream)
		if err == nil && done(info) {
			return info, nil
		}
		if err != nil {
			last = err
		}
		if err := sleep(ctx, settlePoll); err != nil {
			if last != nil {
				return nil, fmt.Errorf("%w (last: %w)", err, last)
			}
			return nil, err
		}
	}
}

// streamInfo asks stream's leader for its info, retrying while there is
// none (an election).
func (e *Engine) streamInfo(ctx context.Context, stream string) (*jetstream.StreamInfo, error) {
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		actx, cancel := context.WithTimeout(ctx, leaderGetTimeout)
		s, err := e.js.Stream(actx, stream)
		cancel()
		if err == nil {
			return s.CachedInfo(), nil
		}
		if !retryable(err) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("info of %s: %w", stream, err)
		}
		if sleep(ctx, wait) != nil {
			return nil, fmt.Errorf("info of %s: %w (%w)", stream, err, ctx.Err())
		}
	}
}

// peersOf returns the names of stream's leader and other replicas.
func peersOf(info *jetstream.StreamInfo) (leader string, replicas []string) {
	if info.Cluster == nil {
		return "", nil
	}
	for _, p := range info.Cluster.Replicas {
		replicas = append(replicas, p.Name)
	}
	return info.Cluster.Leader, replicas
}

// members returns the metadata group's members as this node sees them,
// each with whether it is up (not offline), and the metadata leader.
func (e *Engine) members() (map[string]bool, string) {
	out := map[string]bool{e.ns.Name(): true}
	info, err := e.ns.Jsz(&server.JSzOptions{})
	if err != nil || info.Meta == nil {
		return out, ""
	}
	for _, p := range info.Meta.Replicas {
		out[p.Name] = !p.Offline
	}
	return out, info.Meta.Leader
}

// metaLeaderOff moves the metadata leadership off node if node holds it.
func (e *Engine) metaLeaderOff(ctx context.Context, node string, progress func(Move)) error {
	if e.metaLeader() != node {
		return nil
	}
	start := time.Now()
	if err := e.apiRequest(ctx, e.sysConn, "$JS.API.META.LEADER.STEPDOWN", struct{}{}); err != nil {
		return fmt.Errorf("ask the metadata leader to step down: %w", err)
	}
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		if l := e.metaLeader(); l != "" && l != node {
			progress(Move{What: MoveMetaLeader, From: node, To: l, Took: time.Since(start)})
			return nil
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("wait for a metadata leader other than %s: %w", node, err)
		}
	}
}

// removeMember removes node from the metadata group and waits until this
// node no longer counts it.
func (e *Engine) removeMember(ctx context.Context, node string, progress func(Move)) error {
	remove := func() error {
		return e.request(ctx, e.sysConn, "$JS.API.SERVER.REMOVE", struct {
			Server string `json:"peer"`
		}{node}, true)
	}
	return e.awaitRemoval(ctx, node, progress, remove, removeResend)
}

// awaitRemoval is removeMember with its request (remove) and the time
// between its resends (resend) given, for tests that lose a request.
func (e *Engine) awaitRemoval(ctx context.Context, node string, progress func(Move), remove func() error, resend time.Duration) error {
	start := time.Now()
	// The answer comes once the removal is applied; a lost one is not
	// resent at once (a second removal is refused while the first is in
	// flight), the wait below tells. But the request itself can be lost:
	// only the metadata leader answers it, and one elected a moment ago
	// (metaLeaderOff) may not yet listen. So while node stays a member
	// the request is sent again now and then; a refusal of it as in
	// flight, or of node as no member, means the first was taken.
	if err := remove(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return fmt.Errorf("remove %s from the metadata group: %w", node, err)
	}
	sent := time.Now()
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		if members, _ := e.members(); !memberNamed(members, node) {
			progress(Move{What: MoveMetaRemove, From: node, Took: time.Since(start)})
			return nil
		}
		if time.Since(sent) >= resend {
			_ = remove() // whatever it says, the members tell
			sent = time.Now()
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("wait for %s to leave the metadata group: %w", node, err)
		}
	}
}

// removeResend is how long removeMember waits for a removal to show
// before it sends the request again.
const removeResend = 5 * time.Second

func memberNamed(members map[string]bool, node string) bool {
	_, ok := members[node]
	return ok
}

// Add waits until node is a member of the metadata group (it was started
// with --peers naming the cluster's nodes), then moves replicas onto it
// until it holds its share of them (their total over the nodes up,
// rounded down), one at a time, each taken from the node holding the
// most, and current on node before the next; then it moves to node the
// leadership of the streams it holds a replica of, as long as node leads
// fewer than its share of them and the leader leads more. progress, if
// not nil, is called after each step.
//
// A node that joins holds no replica until Add: the streams are created
// once, when the cluster first starts, and nats-server does not move
// them by itself. Add is idempotent: run again, it moves nothing that is
// already even.
func (e *Engine) Add(ctx context.Context, node string, progress func(Move)) error {
	if e.cluster == nil {
		return errors.New("jetstream: not a cluster")
	}
	if progress == nil {
		progress = func(Move) {}
	}
	if err := e.findPlacements(ctx); err != nil {
		return fmt.Errorf("jetstream: add %s: %w", node, err)
	}
	start := time.Now()
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		members, _ := e.members()
		if up, ok := members[node]; ok && up {
			break
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("jetstream: add %s: %w: it has not joined (started with --cluster %s and --peers naming this cluster's nodes?): %w", node, ErrUnknownNode, e.cluster.Name, err)
		}
	}
	progress(Move{What: MoveJoined, To: node, Took: time.Since(start)})

	// Each pass moves one replica; a pass that cannot is the last. The
	// bound stops a placement that keeps choosing another node than
	// node for the replacement.
	for range 4 * len(e.streamNames()) * e.replicas {
		moved, err := e.moveOneOnto(ctx, node, progress)
		if err != nil {
			return fmt.Errorf("jetstream: add %s: %w", node, err)
		}
		if !moved {
			break
		}
	}
	for range len(e.streamNames()) {
		moved, err := e.leadOneOnto(ctx, node, progress)
		if err != nil {
			return fmt.Errorf("jetstream: add %s: %w", node, err)
		}
		if !moved {
			break
		}
	}
	return nil
}

// layout is where the engine's streams are: each stream's leader and
// other replicas, by stream.
type layout struct {
	nodes   []string // the members up, sorted
	leaders map[string]string
	holders map[string][]string // stream -> every node with a replica
}

func (e *Engine) layout(ctx context.Context) (layout, error) {
	members, _ := e.members()
	l := layout{leaders: map[string]string{}, holders: map[string][]string{}}
	for name, up := range members {
		if up {
			l.nodes = append(l.nodes, name)
		}
	}
	sort.Strings(l.nodes)
	for _, name := range e.streamNames() {
		info, err := e.streamInfo(ctx, name)
		if err != nil {
			return layout{}, err
		}
		leader, replicas := peersOf(info)
		l.leaders[name] = leader
		l.holders[name] = append(replicas, leader)
	}
	return l, nil
}

// counts returns how many replicas, and how many leaderships, each node
// of l holds.
func (l layout) counts() (replicas, leads map[string]int, total int) {
	replicas, leads = map[string]int{}, map[string]int{}
	for _, n := range l.nodes {
		replicas[n], leads[n] = 0, 0
	}
	for s, hs := range l.holders {
		for _, h := range hs {
			replicas[h]++
			total++
		}
		leads[l.leaders[s]]++
	}
	return replicas, leads, total
}

// moveOneOnto moves one replica from the node holding the most onto
// node, if node holds fewer than its share; it reports whether it moved
// one.
func (e *Engine) moveOneOnto(ctx context.Context, node string, progress func(Move)) (bool, error) {
	l, err := e.layout(ctx)
	if err != nil {
		return false, err
	}
	count, _, total := l.counts()
	if count[node] >= total/len(l.nodes) {
		return false, nil
	}
	// The donor: the node holding the most replicas, by name on a tie;
	// the stream: one it holds and node does not, preferably one it does
	// not lead (no election).
	donors := slices.Clone(l.nodes)
	slices.SortStableFunc(donors, func(a, b string) int { return count[b] - count[a] })
	for _, donor := range donors {
		if donor == node || count[donor] <= count[node]+1 {
			continue
		}
		var pick string
		for _, s := range e.streamNames() {
			if !slices.Contains(l.holders[s], donor) || slices.Contains(l.holders[s], node) {
				continue
			}
			if pick == "" || l.leaders[pick] == donor && l.leaders[s] != donor {
				pick = s
			}
		}
		if pick == "" {
			continue
		}
		if err := e.moveOff(ctx, pick, donor, progress); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// leadOneOnto moves to node the leadership of one stream it holds a
// replica of, from a leader that leads more than node's share would
// leave it; it reports whether it moved one.
func (e *Engine) leadOneOnto(ctx context.Context, node string, progress func(Move)) (bool, error) {
	l, err := e.layout(ctx)
	if err != nil {
		return false, err
	}
	_, leads, _ := l.counts()
	share := len(l.leaders) / len(l.nodes)
	if leads[node] >= share {
		return false, nil
	}
	for _, s := range e.streamNames() {
		from := l.leaders[s]
		if from == node || !slices.Contains(l.holders[s], node) || leads[from] <= share {
			continue
		}
		start := time.Now()
		err := e.apiRequest(ctx, e.nc, "$JS.API.STREAM.LEADER.STEPDOWN."+s, struct {
			Placement struct {
				Preferred string `json:"preferred"`
			} `json:"placement"`
		}{Placement: struct {
			Preferred string `json:"preferred"`
		}{node}})
		if err != nil {
			return false, fmt.Errorf("move the leadership of %s to %s: %w", s, node, err)
		}
		info, err := e.waitSettled(ctx, s, "")
		if err != nil {
			return false, fmt.Errorf("wait for a leader of %s: %w", s, err)
		}
		to, _ := peersOf(info)
		progress(Move{Stream: s, What: MoveLeader, From: from, To: to, Took: time.Since(start)})
		// Another node than the one preferred may have won the
		// election: the next pass looks again, within Add's bound.
		return true, nil
	}
	return false, nil
}

// apiRequest sends a JetStream API request through nc and returns the
// error it answers, retrying while the cluster has no leader to answer.
// nc is the engine's connection for the account's streams, sysConn for
// the metadata group. A request that went unanswered is sent again too,
// unless once, for a request that must not be applied twice: then the
// timeout is returned.
func (e *Engine) apiRequest(ctx context.Context, nc *nats.Conn, subject string, req any) error {
	return e.request(ctx, nc, subject, req, false)
}

func (e *Engine) request(ctx context.Context, nc *nats.Conn, subject string, req any, once bool) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		actx, cancel := context.WithTimeout(ctx, leaderGetTimeout)
		reply, err := nc.RequestWithContext(actx, subject, body)
		cancel()
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", nats.ErrTimeout, err)
		}
		if err == nil {
			var resp struct {
				Error *jetstream.APIError `json:"error"`
			}
			if uerr := json.Unmarshal(reply.Data, &resp); uerr != nil {
				return fmt.Errorf("%s: %w", subject, uerr)
			}
			if resp.Error == nil {
				return nil
			}
			err = resp.Error
		}
		if !retryable(err) || once && errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("%s: %w", subject, err)
		}
		if sleep(ctx, wait) != nil {
			return fmt.Errorf("%s: %w (%w)", subject, err, ctx.Err())
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
