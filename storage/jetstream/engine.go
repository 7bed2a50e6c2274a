package jetstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/storage"
)

// Options configure an engine.
type Options struct {
	// Dir holds the JetStream store (Dir/jetstream); created if missing.
	Dir string
	// Now is the clock for arrival times and retention; nil means time.Now.
	Now func() time.Time
	// Placements is how many JetStream streams new logs are spread over
	// (default: DefaultPlacements on one node, clusterPlacements in a
	// cluster). Each is a Raft group with a leader that orders its
	// writes: more spread the leaders, and in a cluster larger than the
	// replica count the data, over more nodes; fewer put more writes in
	// each Raft round (docs/benchmarks.md, "Stalls, and one placement
	// per replica set"). A log stays in
	// the stream it was created in, so the number can change between
	// runs, and the nodes of a cluster may differ.
	Placements int
	// ServerName names the embedded server (default "tributary").
	ServerName string
	// Logger receives the embedded server's warnings and errors (and, at
	// debug level, its notices); nil discards them.
	Logger *slog.Logger
	// TrimInterval is how often the space of records past their log's
	// retention is reclaimed (default a minute; negative: never, for
	// tests that trim by hand).
	TrimInterval time.Duration
	// Cluster, when not nil, makes the engine a node of a cluster
	// (cluster.go); ServerName is then the node's name, unique in it.
	// Open returns once the cluster has a metadata leader and the
	// engine's streams and buckets exist with their replicas.
	Cluster *Cluster
	// GroupWait is the longest an append to a log waits for the others
	// its log's last message suggests are coming, so that they share a
	// message (groupcommit.go, "Lingering"); 0 means DefaultGroupWait,
	// negative never.
	GroupWait time.Duration
	// Metrics, when not nil, receives the engine's metrics (metrics.go)
	// and, in a cluster, which streams this node leads (cluster.go).
	Metrics prometheus.Registerer
	// Keys wraps and unwraps the data keys of encrypted logs (crypt.go);
	// nil refuses encryption with storage.ErrNoKeys. In a cluster every
	// node needs the same keys: a record is read through any of them.
	Keys storage.KeyProvider
}

// DefaultGroupWait is Options.GroupWait's default: long enough for a
// group of producers to come back on a busy machine, where a replicated
// write takes 10 to 20 ms (docs/benchmarks.md, "Lingering"); the waits
// adapt below it (groupcommit.go).
const DefaultGroupWait = 20 * time.Millisecond

// DefaultPlacements is Options.Placements' default on one node, where
// each stream fsyncs its own messages: more streams fsync in parallel.
const DefaultPlacements = 4

// clusterPlacements is Options.Placements' default in a cluster: one for
// every replicas nodes that c names (its peers and its own route
// address), at least one. There a stream's messages are made durable by
// its Raft log, one fsync on each replica per round for all the messages
// the round carries, and with as many nodes as replicas every placement
// lives on the same nodes: more placements only make more rounds (3
// nodes, R3, on one machine: 1 placement ingests 1.15 times what 4 do,
// docs/benchmarks.md, "Stalls, and one placement per replica set").
// With more nodes than replicas, more placements spread the data and the
// leaders over them.
func clusterPlacements(c *Cluster, replicas int) int {
	nodes := map[string]bool{c.Listen: true}
	for _, p := range c.Peers {
		nodes[p] = true
	}
	return max(1, len(nodes)/replicas)
}

// Names in the JetStream account. Log subjects are
// "trib.log.<placement>.<id>", the id being random per CreateLog, so that a
// log re-created under a deleted name never meets the old one's messages.
const (
	logStreamPrefix = "TRIBUTARY_LOGS_"
	logSubjectRoot  = "trib.log."
	logsBucket      = "tributary_logs" // log name (hex) -> logEntry
	metaBucket      = "tributary_meta" // MetaStore key (hex) -> value
)

// maxPayload is the largest message the embedded server takes: one
// Append's batch must fit, and a record alone may hold MaxRecordData. A
// larger batch fails with ErrTooLarge.
const maxPayload = 64 << 20

// maxPending bounds what the server queues for the engine's connection.
const maxPending = 512 << 20

// msgOverhead is room in maxPayload for the headers of a message and the
// envelope of an encrypted batch (at most 1 KiB and 31 bytes, crypt.go).
const msgOverhead = 4 << 10

// logEntry is a log's entry in the logs bucket.
type logEntry struct {
	ID            string        `json:"id"`
	Placement     int           `json:"placement"`
	Created       int64         `json:"created"` // Unix ms, the engine's clock
	Retention     time.Duration `json:"retention"`
	EncryptionKey string        `json:"encryptionKey,omitempty"`
}

// decodeEntry decodes the entry of log name as the logs bucket holds it.
func decodeEntry(name string, value []byte) (logEntry, error) {
	var entry logEntry
	if err := json.Unmarshal(value, &entry); err != nil {
		return logEntry{}, fmt.Errorf("%w: entry of log %q in bucket %s: %v", storage.ErrCorrupt, name, logsBucket, err)
	}
	return entry, nil
}

func (le logEntry) subject() string {
	return fmt.Sprintf("%s%d.%s", logSubjectRoot, le.Placement, le.ID)
}

func streamName(placement int) string { return fmt.Sprintf("%s%d", logStreamPrefix, placement) }

// seePlacement notes that placement stream p exists.
func (e *Engine) seePlacement(p int) {
	for {
		n := e.placementStreams.Load()
		if int64(p) < n || e.placementStreams.CompareAndSwap(n, int64(p)+1) {
			return
		}
	}
}

// findPlacements lists the account's streams and notes every placement
// stream among them (seePlacement).
func (e *Engine) findPlacements(ctx context.Context) error {
	names := e.js.StreamNames(ctx)
	for name := range names.Name() {
		rest, ok := strings.CutPrefix(name, logStreamPrefix)
		if p, err := strconv.Atoi(rest); ok && err == nil && p >= 0 {
			e.seePlacement(p)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("jetstream: list streams: %w", err)
	}
	return nil
}

// Engine is a storage.Engine on an embedded NATS server with JetStream.
type Engine struct {
	now        func() time.Time
	placements int
	groupWait  time.Duration
	keys       storage.KeyProvider // Options.Keys
	// nextPlacement counts the logs this engine created, to spread them.
	nextPlacement atomic.Uint64
	// placementStreams is how many placement streams streamNames names:
	// at least placements, and past every placement stream found at Open
	// or since (an earlier run, or another node, with more), so that a
	// drain moves every stream that holds logs (seePlacement).
	placementStreams atomic.Int64
	// cluster is nil on a single node; replicas is 1 there.
	cluster  *Cluster
	replicas int
	ns       *server.Server
	nc       *nats.Conn
	// sysConn is in the server's system account (cluster only, else
	// nil): the metadata group's changes go through it (move.go).
	sysConn *nats.Conn
	js      jetstream.JetStream
	logsKV  jetstream.KeyValue
	replies *replies // routes batched direct gets' answers
	meta    *metaStore
	lock    *os.File // Dir/LOCK, flocked

	closed    chan struct{}
	closeOnce sync.Once
	trimDone  chan struct{} // closed when the trimmer has stopped
	// stopWatch ends the watch of the logs bucket and waits for its
	// goroutine (cluster only, watch.go); nil on a single node.
	stopWatch func()

	mu sync.Mutex
	// logs are the logs this engine has loaded, by name, and bySubject
	// the same by subject, for the republished messages. DeleteLog, and
	// a tombstone republished from another writer, remove a state; a
	// state found deleted there all the same is replaced when next asked
	// for. The tails are kept current by the republished messages
	// (subscribe.go).
	logs      map[string]*logState
	bySubject map[string]*logState
	// barriers coalesce the reads' barriers, by stream (barrier.go).
	barriers map[string]*barrierGroup

	metrics *engineMetrics
	// stalls finds lingers that wait on each other (stall.go).
	stalls *stallWatch

	// faults, set by tests only before the engine is used, may answer a
	// publish in the server's place (publishMsg).
	faults func(ctx context.Context, msg *nats.Msg) (ack *jetstream.PubAck, err error, handled bool)
}

var _ storage.Engine = (*Engine)(nil)

// Open starts the embedded server on opts.Dir and opens the engine. A
// single node's server listens on no port: the engine talks to it in
// process. A cluster node's listens for routes (cluster.go).
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Dir == "" {
		return nil, errors.New("jetstream: Options.Dir is empty")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.GroupWait == 0 {
		opts.GroupWait = DefaultGroupWait
	}
	if opts.ServerName == "" {
		opts.ServerName = "tributary"
	}
	if opts.TrimInterval == 0 {
		opts.TrimInterval = time.Minute
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	// The server does not lock its store directory, and two servers on
	// one store would corrupt it: the engine holds Dir/LOCK while open.
	// The kernel drops the lock when the process dies, even by kill -9.
	lock, err := os.OpenFile(filepath.Join(opts.Dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("jetstream: %s is in use by another engine: %w", opts.Dir, err)
	}
	sopts := &server.Options{
		ServerName: opts.ServerName,
		DontListen: true,
		JetStream:  true,
		StoreDir:   opts.Dir, // the server keeps its store in Dir/jetstream
		// Every write is fsynced before it is acknowledged: with the
		// default (a sync every two minutes) Jepsen's 2025 report saw
		// NATS lose acknowledged writes on a crash.
		SyncAlways: true,
		MaxPayload: maxPayload,
		// What the server may queue for the engine's one connection
		// before it calls it a slow consumer and closes it: reads ask
		// for up to 4 MiB a page, many at once, and one message may be
		// 64 MiB. A cap, not an allocation.
		MaxPending: maxPending,
		NoSigs:     true,
		NoLog:      true,
	}
	replicas, creds := 1, nodeCredentials{}
	if c := opts.Cluster; c != nil {
		if creds, err = clusterOptions(sopts, c); err != nil {
			_ = lock.Close()
			return nil, err
		}
		replicas = c.Replicas
		if replicas <= 0 {
			replicas = 3
		}
	}
	if opts.Placements <= 0 {
		opts.Placements = DefaultPlacements
		if opts.Cluster != nil {
			opts.Placements = clusterPlacements(opts.Cluster, replicas)
		}
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("jetstream: configure the embedded server: %w", err)
	}
	if opts.Logger != nil {
		ns.SetLoggerV2(serverLog{opts.Logger}, true, false, false)
	}
	ns.Start()
	e := &Engine{now: opts.Now, placements: opts.Placements, groupWait: opts.GroupWait, keys: opts.Keys, cluster: opts.Cluster, replicas: replicas, ns: ns, lock: lock, closed: make(chan struct{}), trimDone: make(chan struct{}), logs: map[string]*logState{}, bySubject: map[string]*logState{}, barriers: map[string]*barrierGroup{}, metrics: newEngineMetrics(), stalls: newStallWatch(peakWindow)}
	e.placementStreams.Store(int64(e.placements))
	if err := e.connect(ctx, creds); err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		_ = lock.Close()
		return nil, err
	}
	if opts.TrimInterval > 0 {
		go e.trimLoop(opts.TrimInterval)
	} else {
		close(e.trimDone)
	}
	if opts.Metrics != nil {
		collectors := e.metrics.collectors()
		if opts.Cluster != nil {
			collectors = append(collectors, newLeaderCollector(e))
		}
		for _, c := range collectors {
			if err := opts.Metrics.Register(c); err != nil {
				e.Close()
				return nil, fmt.Errorf("jetstream: register metrics: %w", err)
			}
		}
	}
	return e, nil
}

func (e *Engine) connect(ctx context.Context, creds nodeCredentials) error {
	if !e.ns.ReadyForConnections(time.Minute) {
		return errors.New("jetstream: the embedded server did not start within a minute")
	}
	connOpts := []nats.Option{nats.InProcessServer(e.ns), nats.Name("tributary-storage"), nats.MaxReconnects(-1)}
	if creds.engine != "" {
		connOpts = append(connOpts, nats.UserInfo(engineUser, creds.engine))
	}
	nc, err := nats.Connect("", connOpts...)
	if err != nil {
		return fmt.Errorf("jetstream: connect in process: %w", err)
	}
	e.nc = nc
	if creds.system != "" {
		e.sysConn, err = nats.Connect("", nats.InProcessServer(e.ns), nats.Name("tributary-cluster-admin"), nats.MaxReconnects(-1), nats.UserInfo(systemUser, creds.system))
		if err != nil {
			nc.Close()
			return fmt.Errorf("jetstream: connect in process to the system account: %w", err)
		}
	}
	fail := func(err error) error {
		nc.Close()
		if e.sysConn != nil {
			e.sysConn.Close()
		}
		return err
	}
	if e.replies, err = newReplies(nc); err != nil {
		return fail(fmt.Errorf("jetstream: subscribe for replies: %w", err))
	}
	// Before any stream can republish to it: no stored message is missed.
	stored, err := nc.Subscribe(storedRoot+">", e.onStored)
	if err != nil {
		return fail(fmt.Errorf("jetstream: subscribe to stored messages: %w", err))
	}
	// onStored never blocks for long; a queue without limit rather than
	// a dropped message and a waiter left behind.
	if err := stored.SetPendingLimits(-1, -1); err != nil {
		return fail(fmt.Errorf("jetstream: subscribe to stored messages: %w", err))
	}
	// A publish waits for its fsync; a 10 MiB record on a busy disk can
	// take longer than the client's default five seconds.
	e.js, err = jetstream.New(nc, jetstream.WithDefaultTimeout(time.Minute))
	if err != nil {
		return fail(fmt.Errorf("jetstream: %w", err))
	}
	if err := e.waitMetaLeader(ctx); err != nil {
		return fail(err)
	}
	for p := range e.placements {
		cfg := jetstream.StreamConfig{
			Name:     streamName(p),
			Subjects: []string{fmt.Sprintf("%s%d.*", logSubjectRoot, p)},
			Storage:  jetstream.FileStorage,
			Replicas: e.replicas,
			// Retention is the engine's (arrival times come from its
			// clock): it purges subjects itself, so the stream keeps
			// everything until told.
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxMsgSize:  maxPayload,
			AllowDirect: true,
			// See subscribe.go.
			RePublish: &jetstream.RePublish{
				Source:      fmt.Sprintf("%s%d.*", logSubjectRoot, p),
				Destination: fmt.Sprintf("%s%d.{{wildcard(1)}}", storedRoot, p),
				HeadersOnly: true,
			},
			// Appends resend a message whose fate they did not learn
			// (an election) with its id: the stream stores it once.
			Duplicates: dedupWindow,
			// A barrier (barrier.go) rolls up the placement's earlier
			// ones: the stream keeps one.
			AllowRollup: true,
		}
		if err := e.untilUp(ctx, func(ctx context.Context) error {
			_, err := e.js.CreateOrUpdateStream(ctx, cfg)
			return err
		}); err != nil {
			return fail(fmt.Errorf("jetstream: create stream %s: %w", streamName(p), err))
		}
	}
	if err := e.findPlacements(ctx); err != nil {
		return fail(err)
	}
	if e.logsKV, err = e.bucket(ctx, logsBucket, "the logs of Tributary's shards"); err != nil {
		return fail(err)
	}
	kv, err := e.bucket(ctx, metaBucket, "Tributary's catalogue")
	if err != nil {
		return fail(err)
	}
	e.meta = &metaStore{e: e, kv: kv}
	if e.cluster != nil {
		if err := e.watchEntries(ctx); err != nil {
			return fail(err)
		}
	}
	return nil
}

func (e *Engine) bucket(ctx context.Context, name, what string) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := e.untilUp(ctx, func(ctx context.Context) (err error) {
		kv, err = e.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: what,
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    e.replicas,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: open bucket %s: %w", name, err)
	}
	return kv, nil
}

// dedupWindow is how long a stream remembers message ids: longer than
// any resend of an append (an election takes seconds).
const dedupWindow = time.Minute

// createAttemptTimeout bounds one attempt to create a stream or bucket.
const createAttemptTimeout = 2 * time.Second

// waitMetaLeader returns once this node knows the cluster's metadata
// leader, which takes a majority of the nodes up: until then the
// JetStream API leaves requests unanswered, or answers that it is not
// available.
func (e *Engine) waitMetaLeader(ctx context.Context) error {
	if e.cluster == nil {
		return nil
	}
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		if e.metaLeader() != "" {
			return nil
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("jetstream: no metadata leader (fewer than a majority of the nodes are up?): %w", err)
		}
	}
}

// metaLeader is the name of the cluster's metadata leader as this node
// knows it, or "" when it knows none.
func (e *Engine) metaLeader() string {
	info, err := e.ns.Jsz(&server.JSzOptions{})
	if err != nil || info.Meta == nil {
		return ""
	}
	return info.Meta.Leader
}

// untilUp runs create until it succeeds, retrying while the cluster has no
// metadata leader yet (nodes starting, or fewer than a majority up), knows
// fewer nodes up than the replicas asked for (noPeersYet), or nodes
// racing to create the same stream disagree for a moment; a single
// node's server is up at once. Creating with the same configuration is
// idempotent, so every node does it.
func (e *Engine) untilUp(ctx context.Context, create func(context.Context) error) error {
	for wait := retryFirst; ; wait = min(2*wait, time.Second) {
		// A request may go unanswered (it reached a metadata leader that
		// lost its place, or raced another node's for the same stream):
		// each attempt is bounded, and a short bound costs only a retry.
		actx, cancel := context.WithTimeout(ctx, createAttemptTimeout)
		err := create(actx)
		cancel()
		if err == nil || e.cluster == nil || !(retryable(err) || noPeersYet(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || errors.Is(err, jetstream.ErrStreamNotFound)) {
			return err
		}
		if sleep(ctx, wait) != nil {
			return fmt.Errorf("%w (waiting for the cluster: %w)", err, ctx.Err())
		}
	}
}

func (e *Engine) isClosed() bool {
	select {
	case <-e.closed:
		return true
	default:
		return false
	}
}

// fail wraps err for op, as ErrClosed when the engine closed under it.
func (e *Engine) fail(op string, err error) error {
	if e.isClosed() {
		return fmt.Errorf("jetstream: %s: %w", op, storage.ErrClosed)
	}
	return fmt.Errorf("jetstream: %s: %w", op, err)
}

// Close closes the connection and shuts the embedded server down; waiters
// are woken with ErrClosed.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.closed)
		<-e.trimDone
		if e.stopWatch != nil {
			e.stopWatch()
		}
		e.nc.Close()
		if e.sysConn != nil {
			e.sysConn.Close()
		}
		e.ns.Shutdown()
		e.ns.WaitForShutdown()
		_ = e.lock.Close() // releases the flock
	})
	return nil
}

// Meta returns the catalogue.
func (e *Engine) Meta() storage.MetaStore { return e.meta }

var _ storage.Announcer = (*Engine)(nil)

// Announce counts n appends as one request from now (see
// storage.Announcer): the engine then tells a stall, where every linger
// waits for writers blocked on another (stall.go), from a linger for
// writers that can still come back.
func (e *Engine) Announce(ctx context.Context, n int) (context.Context, func()) {
	return e.stalls.announce(ctx, n)
}

// logKey is a log's key in the logs bucket: hex, because log names may
// hold characters KV keys may not ('*', '>', ' ' is excluded but '?' is
// not). Hex keeps byte order, so sorted keys are sorted names.
func logKey(name string) string { return hex.EncodeToString([]byte(name)) }

// CreateLog creates an empty log.
func (e *Engine) CreateLog(ctx context.Context, name string, opts storage.LogOptions) (storage.ShardLog, error) {
	op := fmt.Sprintf("create log %q", name)
	if e.isClosed() {
		return nil, e.fail(op, storage.ErrClosed)
	}
	if !storage.ValidLogName(name) {
		return nil, fmt.Errorf("jetstream: %s: invalid name", op)
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("jetstream: %s: negative retention %v", op, opts.Retention)
	}
	if opts.EncryptionKey != "" && e.keys == nil {
		return nil, fmt.Errorf("jetstream: %s: %w", op, storage.ErrNoKeys)
	}
	var id [12]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	entry := logEntry{
		ID: hex.EncodeToString(id[:]),
		// Round robin: the shards of a stream, created together, land on
		// different placements, whose writes and fsyncs run in parallel
		// (a stream's store takes one write at a time).
		Placement:     int(e.nextPlacement.Add(1) % uint64(e.placements)),
		Created:       e.now().UnixMilli(),
		Retention:     opts.Retention,
		EncryptionKey: opts.EncryptionKey,
	}
	value, err := json.Marshal(entry)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %s: %w", op, err)
	}
	// The bucket is the arbiter: Create fails if the key exists, whoever
	// created it.
	rev, err := e.logsKV.Create(ctx, logKey(name), value)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("jetstream: %s: %w", op, storage.ErrExists)
	}
	if err != nil {
		return nil, e.fail(op, err)
	}
	st := newLogState(e, name, entry, rev)
	st.loaded = true // a new subject holds nothing
	e.remember(st, true)
	return &shardLog{st: st}, nil
}

// Log returns an existing log.
func (e *Engine) Log(ctx context.Context, name string) (storage.ShardLog, error) {
	st, err := e.state(ctx, name)
	if err != nil {
		return nil, e.fail(fmt.Sprintf("log %q", name), err)
	}
	return &shardLog{st: st}, nil
}

// state returns the loaded state of the log name, loading it from the
// logs bucket and the tail of its subject if need be.
func (e *Engine) state(ctx context.Context, name string) (*logState, error) {
	if e.isClosed() {
		return nil, storage.ErrClosed
	}
	e.mu.Lock()
	st := e.logs[name]
	e.mu.Unlock()
	if st != nil && !st.snapshot().deleted {
		return st, nil
	}
	if !storage.ValidLogName(name) {
		return nil, storage.ErrNotFound
	}
	value, rev, err := e.kvGet(ctx, e.logsKV, logsBucket, logKey(name))
	if err != nil {
		return nil, err
	}
	entry, err := decodeEntry(name, value)
	if err != nil {
		return nil, err
	}
	st = newLogState(e, name, entry, rev)
	st.mu.Lock()
	err = st.loadTail(ctx)
	st.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if st.snapshot().deleted {
		// A DeleteLog that wrote its tombstone but stopped before
		// removing the entry; the tombstone decides.
		return nil, storage.ErrNotFound
	}
	// Another caller may have loaded it meanwhile: theirs wins.
	if winner := e.remember(st, false); winner != st {
		return winner, nil
	}
	// A message stored between the load and remember was republished to
	// no one: read the tail once more now that republications reach st.
	st.mu.Lock()
	err = st.loadTail(ctx)
	st.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return st, nil
}

// ListLogs returns the names of all logs, sorted.
func (e *Engine) ListLogs(ctx context.Context) ([]string, error) {
	if e.isClosed() {
		return nil, e.fail("list logs", storage.ErrClosed)
	}
	var names []string
	if err := e.scanBucket(ctx, logsBucket, func(name string, _ []byte, _ uint64) { names = append(names, name) }); err != nil {
		return nil, e.fail("list logs", err)
	}
	return names, nil
}

// DeleteLog removes a log: its entry first (the commit point: from then on
// the name is free), then a tombstone on its subject (the fence for handles
// that still hold it), then a purge of everything before the tombstone.
// A crash between the steps leaves at worst an orphaned subject, never a
// log that comes back.
func (e *Engine) DeleteLog(ctx context.Context, name string) error {
	op := fmt.Sprintf("delete log %q", name)
	for {
		st, err := e.state(ctx, name)
		if err != nil {
			return e.fail(op, err)
		}
		err = e.deleteLog(ctx, st)
		if errors.Is(err, errOtherLog) {
			// The state held names a log deleted through another node,
			// whose name is another log's now: that one is to go.
			e.forget(st)
			continue
		}
		if err != nil {
			return e.fail(op, err)
		}
		return nil
	}
}

// deleteLog is DeleteLog's work on the log's state.
func (e *Engine) deleteLog(ctx context.Context, st *logState) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.snapshot().deleted {
		return storage.ErrNotFound
	}
	for {
		// In a cluster the entry's revision held may be old: changed
		// through another node (loadEntry).
		if e.cluster != nil {
			if err := st.loadEntry(ctx); err != nil {
				return err
			}
		}
		st.tmu.Lock()
		rev := st.rev
		st.tmu.Unlock()
		err := e.logsKV.Delete(ctx, logKey(st.name), jetstream.LastRevision(rev))
		if isWrongLast(err) && e.cluster != nil {
			continue // changed through another node since the load
		}
		if err != nil {
			return err
		}
		break
	}
	if err := st.writeTombstone(ctx); err != nil {
		return err
	}
	e.forget(st)
	// The tombstone is the subject's last message; keeping one keeps it.
	return e.purge(ctx, st, jetstream.WithPurgeKeep(1))
}

func (e *Engine) purge(ctx context.Context, st *logState, opt jetstream.StreamPurgeOpt) error {
	s, err := e.js.Stream(ctx, st.stream)
	if err != nil {
		return err
	}
	return s.Purge(ctx, jetstream.WithPurgeSubject(st.subject), opt)
}

// logBytesTimeout bounds LogBytes, which is asked at a metrics scrape.
const logBytesTimeout = 5 * time.Second

// LogBytes estimates the bytes each log takes in the store: its message
// count times the mean message size of its placement's stream (JetStream
// counts messages per subject, not bytes). Logs of a placement it cannot
// read are left out.
func (e *Engine) LogBytes() map[string]int64 {
	ctx, cancel := context.WithTimeout(context.Background(), logBytesTimeout)
	defer cancel()
	out := map[string]int64{}
	bySubject := map[string]string{} // subject -> log name
	placements := map[int]bool{}
	err := e.scanBucket(ctx, logsBucket, func(name string, value []byte, _ uint64) {
		var le logEntry
		if json.Unmarshal(value, &le) == nil {
			bySubject[le.subject()] = name
			placements[le.Placement] = true
		}
	})
	if err != nil {
		return out
	}
	for p := range placements {
		s, err := e.js.Stream(ctx, streamName(p))
		if err != nil {
			continue
		}
		si, err := s.Info(ctx, jetstream.WithSubjectFilter(fmt.Sprintf("%s%d.*", logSubjectRoot, p)))
		if err != nil || si.State.Msgs == 0 {
			continue
		}
		for subject, n := range si.State.Subjects {
			if name, ok := bySubject[subject]; ok {
				out[name] = int64(n * si.State.Bytes / si.State.Msgs)
			}
		}
	}
	return out
}
