package jetstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Cluster makes an engine one node of a cluster: its embedded server
// routes to the other nodes' servers, and every stream and bucket is
// replicated by JetStream (Raft per stream) on Replicas nodes.
type Cluster struct {
	// Name is the cluster's name, the same on every node.
	Name string
	// Listen is the host:port this node accepts routes from its peers on.
	Listen string
	// Peers are the host:port route addresses of the nodes (this node's
	// own may be among them: the server ignores a route to itself).
	Peers []string
	// Replicas is how many nodes hold each stream and bucket (default 3).
	// A write is acknowledged once a majority of them have it on disk.
	Replicas int
	// ElectionTimeout is how long followers wait, at least, without
	// hearing from their leader before electing another (default
	// DefaultElectionTimeout); the rest of the Raft timing follows from it
	// (raft.go). It is one for the whole process.
	ElectionTimeout time.Duration
}

// The users of a cluster node's embedded server. The engine's connection
// is engineUser, in the global account where the streams live; sysConn
// is systemUser, in the system account, which alone may ask the
// metadata leader to step down or to remove a node from the metadata
// group (move.go). Both passwords are random per process.
const (
	engineUser = "engine"
	systemUser = "system"
	// systemAccount is nats-server's default system account's name:
	// naming it in the options changes nothing on the wire, and lets
	// systemUser belong to it.
	systemAccount = "$SYS"
)

// nodeCredentials are the passwords of the embedded server's two users.
type nodeCredentials struct{ engine, system string }

// clusterOptions fills the embedded server's options for c: the route
// listener and routes, and a client listener the routes need (the server
// starts routing only once it has one). That listener is on loopback and
// asks for passwords only this process knows: nothing but the engine's
// own connections may use it.
func clusterOptions(o *server.Options, c *Cluster) (nodeCredentials, error) {
	if c.Name == "" {
		return nodeCredentials{}, errors.New("jetstream: a cluster needs a name")
	}
	if err := setRaftTiming(c.ElectionTimeout); err != nil {
		return nodeCredentials{}, err
	}
	host, port, err := splitHostPort(c.Listen)
	if err != nil {
		return nodeCredentials{}, fmt.Errorf("jetstream: cluster listen address: %w", err)
	}
	routes := make([]*url.URL, 0, len(c.Peers))
	for _, p := range c.Peers {
		if _, _, err := splitHostPort(p); err != nil {
			return nodeCredentials{}, fmt.Errorf("jetstream: peer %q: %w", p, err)
		}
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: p})
	}
	creds := nodeCredentials{engine: randomToken(), system: randomToken()}

	o.DontListen = false
	o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
	// Only the system account is declared: the global account stays the
	// only one with JetStream, where the streams have always been.
	sys := server.NewAccount(systemAccount)
	o.Accounts = []*server.Account{sys}
	o.SystemAccount = systemAccount
	o.Users = []*server.User{
		{Username: engineUser, Password: creds.engine}, // no account: the global one
		{Username: systemUser, Password: creds.system, Account: sys},
	}
	o.Cluster = server.ClusterOpts{Name: c.Name, Host: host, Port: port}
	o.Routes = routes
	return creds, nil
}

func randomToken() string {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(raw[:])
}

func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", hp)
	}
	return host, port, nil
}

// Why reads confirm what they must find.
//
// A write is acknowledged once the stream's leader has applied it, which
// is after a majority of replicas stored it: a follower may not have
// applied it yet. Direct gets are answered by any replica (the server
// prefers one on the asking node), and nats-server 2.15.3 gives them no
// "at least this sequence" option. So a read through node C of a record
// acknowledged through node B could miss it, which Kinesis (and the
// history checker's stale-read rule) forbid.
//
// The engine therefore learns, before a read, the subject's last sequence
// as of a moment after the read began, and reads with direct gets that it
// repeats until the answering replica has reached that sequence (upTo). A
// replica's store is a prefix of the stream's committed log (Raft applies
// in order), so a message a lagging replica returns is the right one; only
// its "nothing more" can be wrong, and that is what is retried.
//
// Reads learn it after a barrier (refresh, barrier.go): asking the leader
// (lastFor: the stream message-get API, which only the leader answers) is
// not enough, since a leader cut off with a minority answers until it
// notices it lost its quorum, from a store that misses what the new
// leader acknowledged meanwhile. Writers load their tail from the leader
// (lastFor): a stale answer there only gets their write refused by the
// expected-sequence fence, which the real leader checks.

// lastFor returns the last message of subject in stream as its leader has
// it, or found false when the subject holds none. Single node, the one
// store is the leader.
func (e *Engine) lastFor(ctx context.Context, stream, subject string) (*nats.Msg, bool, error) {
	if e.cluster == nil {
		return e.getOne(ctx, stream, getRequest{LastFor: subject})
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	body, err := json.Marshal(getRequest{LastFor: subject})
	if err != nil {
		return nil, false, err
	}
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		// A request to a leader that is paused, or cut off, is never
		// answered: each attempt is bounded so that the next reaches the
		// leader elected meanwhile.
		actx, acancel := context.WithTimeout(ctx, leaderGetTimeout)
		msg, found, err := e.leaderGet(actx, stream, body)
		acancel()
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", nats.ErrTimeout, err)
		}
		if err == nil || !retryable(err) {
			return msg, found, err
		}
		if sleep(ctx, wait) != nil {
			return nil, false, fmt.Errorf("get last message of %s from the leader of %s: %w", subject, stream, err)
		}
	}
}

// leaderGet sends one message-get request to stream's leader.
func (e *Engine) leaderGet(ctx context.Context, stream string, body []byte) (*nats.Msg, bool, error) {
	reply, err := e.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, body)
	if err != nil {
		return nil, false, fmt.Errorf("message get from %s: %w", stream, err)
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Subject  string `json:"subject"`
			Sequence uint64 `json:"seq"`
			Header   []byte `json:"hdrs"`
			Data     []byte `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return nil, false, fmt.Errorf("message get from %s: %w", stream, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("message get from %s: %w", stream, resp.Error)
	}
	if resp.Message == nil {
		return nil, false, fmt.Errorf("message get from %s: an answer without a message", stream)
	}
	m := resp.Message
	hdr := nats.Header{}
	if len(m.Header) > 0 {
		if hdr, err = nats.DecodeHeadersMsg(m.Header); err != nil {
			return nil, false, fmt.Errorf("message get from %s: %w", stream, err)
		}
	}
	// As a direct get's answer would be, so that one decoder serves both.
	hdr.Set(hdrSequence, strconv.FormatUint(m.Sequence, 10))
	hdr.Set(hdrSubject, m.Subject)
	return &nats.Msg{Subject: m.Subject, Header: hdr, Data: m.Data}, true, nil
}

// leaderGetTimeout bounds one request to a leader: it reads one message.
const leaderGetTimeout = 2 * time.Second

// Retries wait from retryFirst, doubling up to retryMax, until the
// caller's context ends.
const (
	retryFirst = 2 * time.Millisecond
	retryMax   = 250 * time.Millisecond
)

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable tells whether err is one a cluster gives while a stream or the
// metadata has no leader (an election after a node died, or before a
// quorum first forms): nothing was decided, and the same request may be
// sent again. A publish is resent with its message id, which the stream
// deduplicates, so one that did land is stored once (log.go).
func retryable(err error) bool {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrTimeout) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jsErrCodeClusterNotAvail, jsErrCodeClusterNotLeader, jsErrCodeStreamOffline, jsErrCodeDuplicatePending:
			return true
		}
		return apiErr.Code == 503
	}
	return false
}

// Error codes of nats-server's JetStream API that nats.go does not name.
const (
	jsErrCodeClusterNotAvail  jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable (no meta leader)
	jsErrCodeClusterNotLeader jetstream.ErrorCode = 10009 // JetStream cluster can not handle request
	jsErrCodeStreamOffline    jetstream.ErrorCode = 10118 // stream is offline
	jsErrCodeDuplicatePending jetstream.ErrorCode = 10158 // a duplicate of a message still being proposed
	jsErrCodeClusterNoPeers   jetstream.ErrorCode = 10005 // no suitable peers for placement (too few nodes known up yet)
)

// noPeersYet tells whether err is a stream creation refused for want of
// --replicas nodes that the metadata leader knows up: at start, a node
// may have elected a leader with a majority before the last node joined,
// or heard from it (nodes started at once on a busy machine). Only
// creation waits for it; the streams exist later on.
func noPeersYet(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeClusterNoPeers
}

// Ready tells whether the engine can serve: always on a single node; in a
// cluster, while this node knows a metadata leader, which takes a majority
// of the nodes reachable (a node cut off from them cannot create logs or
// write the catalogue, and soon neither write nor read).
func (e *Engine) Ready(context.Context) error {
	if e.isClosed() {
		return errors.New("jetstream: closed")
	}
	if e.cluster != nil && e.metaLeader() == "" {
		return errors.New("jetstream: no metadata leader: fewer than a majority of the cluster's nodes reachable")
	}
	return nil
}

// leaderCollector exports, in a cluster, which of the engine's streams
// and buckets this node leads, and whether it is the metadata leader: the
// placements a node's death interrupts for an election.
type leaderCollector struct {
	e          *Engine
	meta, lead *prometheus.Desc
}

func newLeaderCollector(e *Engine) *leaderCollector {
	return &leaderCollector{
		e: e,
		meta: prometheus.NewDesc("tributary_cluster_meta_leader",
			"1 if this node is the cluster's metadata leader (which places streams), else 0.", nil, nil),
		lead: prometheus.NewDesc("tributary_cluster_stream_leader",
			"1 if this node leads the replicated JetStream stream (a placement of shards' logs, or a bucket of the catalogue), else 0.", []string{"stream"}, nil),
	}
}

func (c *leaderCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.meta
	ch <- c.lead
}

func (c *leaderCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	ch <- prometheus.MustNewConstMetric(c.meta, prometheus.GaugeValue, gauge(c.e.ns.JetStreamIsLeader()))
	for _, s := range c.e.streamNames() {
		ch <- prometheus.MustNewConstMetric(c.lead, prometheus.GaugeValue, gauge(c.e.ns.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, s)), s)
	}
}

// streamNames are the JetStream streams the engine uses.
func (e *Engine) streamNames() []string {
	names := []string{"KV_" + logsBucket, "KV_" + metaBucket}
	for p := range int(e.placementStreams.Load()) {
		names = append(names, streamName(p))
	}
	return names
}

// Status is a node's view of its cluster, for `tributary cluster status`.
type Status struct {
	Cluster string `json:"cluster"`
	// Node is the node asked; MetaLeader the metadata leader it knows
	// ("" while there is none).
	Node       string `json:"node"`
	MetaLeader string `json:"meta_leader"`
	// Peers are the other nodes as this node sees them.
	Peers []Peer `json:"peers"`
	// Streams are the engine's replicated streams (placements of logs and
	// the catalogue's buckets), as their leaders see them.
	Streams []StreamStatus `json:"streams"`
}

// Peer is one node as seen by another.
type Peer struct {
	Name string `json:"name"`
	// Current: seen recently and caught up; Offline: not seen recently.
	Current bool `json:"current"`
	Offline bool `json:"offline,omitempty"`
	// Lag is how many operations behind its leader the replica is.
	Lag uint64 `json:"lag,omitempty"`
	// SeenAgo is how long ago it was last heard from.
	SeenAgo time.Duration `json:"seen_ago_ns"`
}

// StreamStatus is one replicated stream: its leader and other replicas.
type StreamStatus struct {
	Name     string `json:"name"`
	Leader   string `json:"leader"`
	Replicas []Peer `json:"replicas"`
	Messages uint64 `json:"messages"`
	// Error is why the stream could not be described (no leader, say).
	Error string `json:"error,omitempty"`
}

// Status describes the cluster from this node. A stream whose leader does
// not answer is listed with the error.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	if e.cluster == nil {
		return Status{}, errors.New("jetstream: not a cluster")
	}
	st := Status{Cluster: e.cluster.Name, Node: e.ns.Name(), Peers: []Peer{}, Streams: []StreamStatus{}}
	// Best effort: the streams known already are listed anyway.
	fctx, cancel := context.WithTimeout(ctx, leaderGetTimeout)
	_ = e.findPlacements(fctx)
	cancel()
	if info, err := e.ns.Jsz(&server.JSzOptions{}); err == nil && info.Meta != nil {
		st.MetaLeader = info.Meta.Leader
		for _, p := range info.Meta.Replicas {
			st.Peers = append(st.Peers, Peer{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag, SeenAgo: p.Active})
		}
	}
	for _, name := range e.streamNames() {
		ss := StreamStatus{Name: name, Replicas: []Peer{}}
		actx, cancel := context.WithTimeout(ctx, leaderGetTimeout)
		s, err := e.js.Stream(actx, name)
		cancel()
		if err != nil {
			ss.Error = err.Error()
			st.Streams = append(st.Streams, ss)
			continue
		}
		info := s.CachedInfo()
		ss.Messages = info.State.Msgs
		if c := info.Cluster; c != nil {
			ss.Leader = c.Leader
			for _, p := range c.Replicas {
				ss.Replicas = append(ss.Replicas, Peer{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag, SeenAgo: p.Active})
			}
		}
		st.Streams = append(st.Streams, ss)
	}
	return st, nil
}
