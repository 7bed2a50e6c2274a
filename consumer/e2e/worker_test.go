package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/consumer/dynamolease"
	"github.com/tributary-io/tributary/consumer/pglease"
	"github.com/tributary-io/tributary/sdkhttp"
)

// workerEnv, when set, makes the test binary a worker process (TestMain):
// its value is a workerSpec in JSON.
const workerEnv = "TRIBUTARY_E2E_WORKER"

// workerSpec is what a worker process is told.
type workerSpec struct {
	ID      string
	Kinesis string // Tributary's endpoint
	Stream  string
	Store   string // "dynamodb" or "postgres"
	// StoreAddr is dynalite's endpoint or PostgreSQL's DSN; Table the
	// lease table.
	StoreAddr, Table string
	// Out is the file the processors append to (see the line kinds on
	// appOutput).
	Out string

	FailoverTime, ShardSync, Idle, Retry time.Duration
	MaxRecords                           int32
	// Hold is a file which, once it exists, stops the processors half-way
	// through their next batch, after a P line, until the process is
	// killed: so the test kills a worker within a batch.
	Hold string
	// FanOut, when set, reads by enhanced fan-out as that consumer.
	FanOut string
}

// runWorker is a worker process: it runs a consumer.Worker until SIGTERM,
// then returns 0 once Run has given every lease up.
func runWorker(specJSON string) int {
	var spec workerSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "worker spec:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()

	out, err := os.OpenFile(spec.Out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		log.Error("output", "err", err)
		return 1
	}
	store, closeStore, err := openStore(context.Background(), spec.Store, spec.StoreAddr, spec.Table)
	if err != nil {
		log.Error("lease store", "err", err)
		return 1
	}
	defer closeStore()
	app := &appOutput{f: out}
	w, err := consumer.NewWorker(consumer.Config{
		Stream: spec.Stream, Client: kinesisClient(spec.Kinesis), Leases: store, WorkerID: spec.ID,
		NewProcessor: func(shard string) consumer.Processor {
			return &appProcessor{out: app, shard: shard, hold: spec.Hold}
		},
		FailoverTime: spec.FailoverTime, ShardSyncInterval: spec.ShardSync, IdleTime: spec.Idle,
		RetryDelay: spec.Retry, MaxRecords: spec.MaxRecords, ShutdownTimeout: 10 * time.Second, FanOut: spec.FanOut,
		Logger: log,
	})
	if err != nil {
		log.Error("worker", "err", err)
		return 1
	}
	if err := w.Run(ctx); err != nil {
		log.Error("worker", "err", err)
		return 1
	}
	if err := errors.Join(out.Sync(), out.Close()); err != nil {
		log.Error("output", "err", err)
		return 1
	}
	return 0
}

func kinesisClient(endpoint string) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(endpoint), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		HTTPClient:  sdkhttp.New(),
	})
}

// openStore opens the lease store of kind ("dynamodb" on dynalite's
// endpoint addr, or "postgres" on the DSN addr), on table, and Inits it.
func openStore(ctx context.Context, kind, addr, table string) (consumer.LeaseStore, func(), error) {
	var s consumer.LeaseStore
	closeFn := func() {}
	switch kind {
	case "dynamodb":
		c := dynamodb.New(dynamodb.Options{
			BaseEndpoint: aws.String(addr), Region: "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
			HTTPClient:  sdkhttp.New(),
		})
		s = dynamolease.New(c, table, dynamolease.Options{PollInterval: 20 * time.Millisecond})
	case "postgres":
		p, err := pgxpool.New(ctx, addr)
		if err != nil {
			return nil, nil, err
		}
		s, closeFn = pglease.New(p, table), p.Close
	default:
		return nil, nil, fmt.Errorf("no lease store %q", kind)
	}
	if err := s.Init(ctx); err != nil {
		closeFn()
		return nil, nil, err
	}
	return s, closeFn, nil
}

// appOutput is the application's output: one line per event, tab
// separated, each written by one write(2) to a file opened for
// appending, stamped with the wall clock (nanoseconds), the clock the
// processes share:
//
//	I  ns shard checkpoint subseq   Initialize, where the shard resumes
//	R  ns shard seq subseq data     a record processed
//	C  ns shard seq subseq          a checkpoint stored (after the records
//	                                up to it were written and fsynced)
//	P  ns shard hold                half the batch written, the processor
//	                                stops there (workerSpec.Hold)
//	F  ns shard error               a checkpoint failed
//	S  ns shard how                 the processor ended: shutdown (the
//	                                worker stops or hands the lease over),
//	                                lost, or end (the shard ended)
type appOutput struct {
	mu sync.Mutex
	f  *os.File
}

func (o *appOutput) write(format string, args ...any) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	line := fmt.Appendf(nil, "%c\t%d\t", format[0], time.Now().UnixNano())
	line = fmt.Appendf(line, format[1:]+"\n", args...)
	_, err := o.f.Write(line)
	return err
}

// appProcessor writes each record to the output, fsyncs them, and only
// then checkpoints the batch.
type appProcessor struct {
	out   *appOutput
	shard string
	hold  string              // see workerSpec.Hold
	last  consumer.Checkpoint // the last record written
}

func (p *appProcessor) Initialize(ctx context.Context, in consumer.InitializeInput) error {
	return p.out.write("I%s\t%s\t%d", p.shard, in.Checkpoint.SequenceNumber, in.Checkpoint.SubSequenceNumber)
}

func (p *appProcessor) ProcessRecords(ctx context.Context, in consumer.ProcessRecordsInput) error {
	half := (len(in.Records) + 1) / 2
	for i := range in.Records {
		if i == half && p.hold != "" {
			if _, err := os.Stat(p.hold); err == nil {
				p.out.write("P%s\thold", p.shard)
				select {} // until killed
			}
		}
		r := &in.Records[i]
		if err := p.out.write("R%s\t%s\t%d\t%s", p.shard, r.SequenceNumber, r.SubSequenceNumber, r.Data); err != nil {
			return err
		}
		p.last = r.Checkpoint()
	}
	if err := p.out.f.Sync(); err != nil {
		return err
	}
	p.checkpoint(ctx, in.Checkpointer, p.last)
	return nil
}

// checkpoint checkpoints what was delivered (at, or SHARD_END) and writes
// C, or F when it failed; the next batch's checkpoint covers a failed one.
func (p *appProcessor) checkpoint(ctx context.Context, cp consumer.Checkpointer, at consumer.Checkpoint) error {
	if err := cp.Checkpoint(ctx); err != nil {
		p.out.write("F%s\t%v", p.shard, err)
		return err
	}
	return p.out.write("C%s\t%s\t%d", p.shard, at.SequenceNumber, at.SubSequenceNumber)
}

func (p *appProcessor) LeaseLost(ctx context.Context) {
	p.out.write("S%s\tlost", p.shard)
}

func (p *appProcessor) ShardEnded(ctx context.Context, cp consumer.Checkpointer) error {
	if err := p.checkpoint(ctx, cp, consumer.Checkpoint{SequenceNumber: consumer.ShardEnd}); err != nil {
		return err
	}
	return p.out.write("S%s\tend", p.shard)
}

func (p *appProcessor) ShutdownRequested(ctx context.Context, cp consumer.Checkpointer) error {
	var err error
	if p.last.SequenceNumber != "" {
		err = p.checkpoint(ctx, cp, p.last)
	}
	p.out.write("S%s\tshutdown", p.shard)
	return err
}
