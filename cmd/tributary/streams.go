package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// streamsOptions are the flags of the streams subcommands; each takes
// the ones it lists.
type streamsOptions struct {
	clientOptions
	Shards    int
	OnDemand  bool
	Retention int
	Wait      bool
	Enforce   bool
	PageSize  int
	Split     string
	At        string
	Merge     string
}

func defaultStreamsOptions() streamsOptions { return streamsOptions{} }

type streamsOption = cmdOption[streamsOptions]

func streamsClient(o *streamsOptions) *clientOptions { return &o.clientOptions }

// streamsFlags returns the streams flags of names, in that order, then
// the client flags.
func streamsFlags(names ...string) []streamsOption {
	all := map[string]streamsOption{
		"shards": {
			flag: "shards", arg: "n",
			usage: "Number of shards: of the new stream (provisioned), or the stream's open shards after the reshard.",
			value: func(o *streamsOptions) flag.Value { return &countValue{&o.Shards} },
			def:   "1 for create",
		},
		"on-demand": {
			flag:  "on-demand",
			usage: "Create the stream in on-demand mode, where Kinesis manages the shards, rather than provisioned with --shards.",
			value: func(o *streamsOptions) flag.Value { return &boolValue{&o.OnDemand} },
		},
		"retention": {
			flag: "retention", arg: "hours",
			usage: "How long the stream keeps records, 24 to 8760 hours. Set once the stream is ACTIVE, so create waits for it.",
			value: func(o *streamsOptions) flag.Value { return &countValue{&o.Retention} },
			def:   "24",
		},
		"wait": {
			flag:  "wait",
			usage: "Wait until the change is done (the stream ACTIVE, or gone), with a progress line on a terminal.",
			value: func(o *streamsOptions) flag.Value { return &boolValue{&o.Wait} },
		},
		"enforce-consumer-deletion": {
			flag:  "enforce-consumer-deletion",
			usage: "Delete the stream even if stream consumers are registered on it, and them with it.",
			value: func(o *streamsOptions) flag.Value { return &boolValue{&o.Enforce} },
		},
		"page-size": {
			flag: "page-size", arg: "n",
			usage: "Streams asked for per ListStreams call (its Limit); every page is read. 0 leaves it to the endpoint.",
			value: func(o *streamsOptions) flag.Value { return &countValue{&o.PageSize} },
		},
		"split": {
			flag: "split", arg: "shard",
			usage: "Split this open shard in two (SplitShard) rather than set the number of shards.",
			value: func(o *streamsOptions) flag.Value { return &nonEmptyValue{&o.Split} },
			def:   "none",
		},
		"at": {
			flag: "at", arg: "hash-key",
			usage: "With --split: the starting hash key of the second child, a decimal number inside the shard's range.",
			value: func(o *streamsOptions) flag.Value { return &nonEmptyValue{&o.At} },
			def:   "the middle of the shard's range",
		},
		"merge": {
			flag: "merge", arg: "shard",
			usage: "Merge this open shard with the adjacent one given after the stream's name (MergeShards).",
			value: func(o *streamsOptions) flag.Value { return &nonEmptyValue{&o.Merge} },
			def:   "none",
		},
	}
	var list []streamsOption
	for _, n := range names {
		list = append(list, all[n])
	}
	return append(list, clientOptionList(streamsClient)...)
}

// streamJSON is a stream as the streams commands write it in JSON.
type streamJSON struct {
	Name           string     `json:"name"`
	ARN            string     `json:"arn"`
	Status         string     `json:"status"`
	Mode           string     `json:"mode"`
	OpenShards     int32      `json:"openShards"`
	RetentionHours int32      `json:"retentionHours"`
	Created        *time.Time `json:"created"`
}

// streamDetailJSON is a stream as streams describe writes it in JSON.
type streamDetailJSON struct {
	streamJSON
	Encryption         string            `json:"encryption"`
	KeyID              string            `json:"keyId,omitempty"`
	EnhancedMonitoring []string          `json:"enhancedMonitoring"`
	Consumers          int               `json:"consumers"`
	MaxRecordSizeKiB   int32             `json:"maxRecordSizeKiB,omitempty"`
	Tags               map[string]string `json:"tags"`
}

func summaryJSON(d *types.StreamDescriptionSummary) streamJSON {
	s := streamJSON{
		Name: aws.ToString(d.StreamName), ARN: aws.ToString(d.StreamARN), Status: string(d.StreamStatus),
		Mode: string(types.StreamModeProvisioned), OpenShards: aws.ToInt32(d.OpenShardCount),
		RetentionHours: aws.ToInt32(d.RetentionPeriodHours), Created: d.StreamCreationTimestamp,
	}
	if d.StreamModeDetails != nil {
		s.Mode = string(d.StreamModeDetails.StreamMode)
	}
	if s.Created != nil {
		utc := s.Created.UTC()
		s.Created = &utc
	}
	return s
}

// streamRef sets the name or the ARN of a request, as stream is one or
// the other.
func streamRef(stream string, name, arn **string) {
	if strings.HasPrefix(stream, "arn:") {
		*arn = aws.String(stream)
	} else {
		*name = aws.String(stream)
	}
}

// streamSummary returns the stream's DescribeStreamSummary, whatever its
// status.
func streamSummary(ctx context.Context, c *kinesis.Client, stream string) (*types.StreamDescriptionSummary, error) {
	in := &kinesis.DescribeStreamSummaryInput{}
	streamRef(stream, &in.StreamName, &in.StreamARN)
	out, err := c.DescribeStreamSummary(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.StreamDescriptionSummary, nil
}

func streamsCommands() *commandFamily {
	cmd := func(name, synopsis, doc string, flags []streamsOption, check func(*streamsOptions, []string) error,
		run func(context.Context, *awsClient, *streamsOptions, []string, cmdIO) error) func(context.Context, []string, cmdIO) int {
		cc := &clientCommand[streamsOptions]{
			name: "streams " + name, family: "streams", synopsis: synopsis, doc: doc, options: flags,
			defaults: defaultStreamsOptions, client: streamsClient, check: check, run: run, conns: 8,
		}
		return cc.main
	}
	oneStream := func(_ *streamsOptions, pos []string) error { return wantArgs(pos, "stream name") }
	return &commandFamily{
		name: "streams",
		doc:  streamsUsage,
		subs: map[string]func(context.Context, []string, cmdIO) int{
			"list": cmd("list", "streams list [--page-size n] [--output table|json]", streamsListDoc,
				streamsFlags("page-size"), func(_ *streamsOptions, pos []string) error { return wantArgs(pos) }, streamsList),
			"create": cmd("create", "streams create NAME [--shards n | --on-demand] [--retention hours] [--wait]", streamsCreateDoc,
				streamsFlags("shards", "on-demand", "retention", "wait"), checkCreate, streamsCreate),
			"describe": cmd("describe", "streams describe NAME|ARN [--output table|json]", streamsDescribeDoc,
				streamsFlags(), func(_ *streamsOptions, pos []string) error { return wantArgs(pos, "stream name or ARN") }, streamsDescribe),
			"delete": cmd("delete", "streams delete NAME [--enforce-consumer-deletion] [--wait]", streamsDeleteDoc,
				streamsFlags("enforce-consumer-deletion", "wait"), oneStream, streamsDelete),
			"reshard": cmd("reshard", "streams reshard NAME (--shards n | --split shard [--at hash-key] | --merge shard ADJACENT) [--wait]", streamsReshardDoc,
				streamsFlags("shards", "split", "at", "merge", "wait"), checkReshard, streamsReshard),
		},
	}
}

const streamsUsage = `Usage: tributary streams <subcommand> [arguments] [flags]

Manages the data streams of a Kinesis endpoint (Tributary, another
emulator or AWS).

Subcommands:
  list       List the streams: name, status, mode, open shards, retention,
             creation time
  create     Create a stream: tributary streams create NAME --shards 4
  describe   Show a stream: its summary, tags, consumers, enhanced
             monitoring and encryption
  delete     Delete a stream
  reshard    Change a stream's shards: a number of shards (UpdateShardCount),
             a split or a merge

Run 'tributary streams <subcommand> --help' for its flags. Every
subcommand takes --output table|json, --endpoint and --region.

Exit status: 0 on success, 1 if the call failed (the AWS error's code and
message on standard error), 2 for wrong usage.
`

const streamsListDoc = `Lists the streams of the account and region, every page of ListStreams,
with each one's DescribeStreamSummary: in a table, or with --output json
as a JSON array of objects with the fields name, arn, status, mode
(PROVISIONED or ON_DEMAND), openShards, retentionHours and created
(RFC 3339).
`

func streamsList(ctx context.Context, c *awsClient, o *streamsOptions, _ []string, cio cmdIO) error {
	var names []string
	in := &kinesis.ListStreamsInput{}
	if o.PageSize > 0 {
		in.Limit = aws.Int32(int32(min(o.PageSize, 10000)))
	}
	for {
		out, err := c.Kinesis.ListStreams(ctx, in)
		if err != nil {
			return err
		}
		if len(out.StreamSummaries) > 0 {
			for _, s := range out.StreamSummaries {
				names = append(names, aws.ToString(s.StreamName))
			}
		} else {
			names = append(names, out.StreamNames...)
		}
		// NextToken is the way on; an endpoint without it (older ones)
		// answers HasMoreStreams and takes the last name to start after.
		switch {
		case out.NextToken != nil:
			in = &kinesis.ListStreamsInput{NextToken: out.NextToken, Limit: in.Limit}
		case aws.ToBool(out.HasMoreStreams) && len(names) > 0:
			in = &kinesis.ListStreamsInput{ExclusiveStartStreamName: aws.String(names[len(names)-1]), Limit: in.Limit}
		default:
			return writeStreams(ctx, c, o, names, cio)
		}
	}
}

// writeStreams describes the streams of names, a few at a time, and
// writes them.
func writeStreams(ctx context.Context, c *awsClient, o *streamsOptions, names []string, cio cmdIO) error {
	list := make([]streamJSON, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d, err := streamSummary(ctx, c.Kinesis, name)
			var nf *types.ResourceNotFoundException
			switch {
			case errors.As(err, &nf):
				// Deleted since it was listed.
				list[i] = streamJSON{Name: name, Status: "DELETED"}
			case err != nil:
				errs[i] = fmt.Errorf("stream %s: %w", name, err)
			default:
				list[i] = summaryJSON(d)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if o.Output == outputJSON {
		return writeJSON(cio.stdout, list)
	}
	tw := newTable(cio.stdout)
	fmt.Fprintln(tw, "NAME\tSTATUS\tMODE\tOPEN SHARDS\tRETENTION\tCREATED")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%dh\t%s\n", s.Name, s.Status, s.Mode, s.OpenShards, s.RetentionHours, timeText(s.Created))
	}
	return tw.Flush()
}

const streamsCreateDoc = `Creates a stream, provisioned with --shards shards (1 by default) or
on-demand, and with --retention sets how long it keeps records. With
--wait (implied by --retention, which needs the stream ACTIVE) it waits
until the stream is ACTIVE. Prints the stream: a line, or with --output
json its object (the fields of streams list).
`

func checkCreate(o *streamsOptions, pos []string) error {
	switch {
	case o.OnDemand && o.Shards > 0:
		return errors.New("--shards and --on-demand cannot be used together")
	case o.Retention != 0 && (o.Retention < 24 || o.Retention > 8760):
		return errors.New("--retention must be 24 to 8760 hours")
	}
	return wantArgs(pos, "stream name")
}

func streamsCreate(ctx context.Context, c *awsClient, o *streamsOptions, pos []string, cio cmdIO) error {
	name := pos[0]
	in := &kinesis.CreateStreamInput{StreamName: aws.String(name)}
	if o.OnDemand {
		in.StreamModeDetails = &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}
	} else {
		in.ShardCount = aws.Int32(int32(max(o.Shards, 1)))
	}
	if _, err := c.Kinesis.CreateStream(ctx, in); err != nil {
		return err
	}
	var d *types.StreamDescriptionSummary
	var err error
	if o.Wait || o.Retention > 24 {
		d, err = waitStreamActive(ctx, c.Kinesis, name, cio, nil)
	} else {
		d, err = streamSummary(ctx, c.Kinesis, name)
	}
	if err != nil {
		return err
	}
	if o.Retention > 24 {
		if _, err := c.Kinesis.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{
			StreamName: aws.String(name), RetentionPeriodHours: aws.Int32(int32(o.Retention)),
		}); err != nil {
			return fmt.Errorf("stream %s created, but its retention not set: %w", name, err)
		}
		if d, err = waitStreamActive(ctx, c.Kinesis, name, cio, nil); err != nil {
			return err
		}
	}
	return writeStreamChange(cio, o, "created", d)
}

// writeStreamChange writes the stream after a change: a line, or its
// JSON object.
func writeStreamChange(cio cmdIO, o *streamsOptions, what string, d *types.StreamDescriptionSummary) error {
	s := summaryJSON(d)
	if o.Output == outputJSON {
		return writeJSON(cio.stdout, s)
	}
	_, err := fmt.Fprintf(cio.stdout, "%s stream %s: %s, %s, %d open %s, retention %dh\n", what, s.Name, s.Status, s.Mode,
		s.OpenShards, plural(int64(s.OpenShards), "shard", "shards"), s.RetentionHours)
	return err
}

// waitStreamActive waits until the stream is ACTIVE and, if ready is not nil,
// ready says its summary is what was waited for; it returns the summary.
func waitStreamActive(ctx context.Context, c *kinesis.Client, stream string, cio cmdIO, ready func(*types.StreamDescriptionSummary) bool) (*types.StreamDescriptionSummary, error) {
	var d *types.StreamDescriptionSummary
	err := waitFor(ctx, cio.stderr, func(ctx context.Context) (bool, string, error) {
		var err error
		if d, err = streamSummary(ctx, c, stream); err != nil {
			return false, "", err
		}
		done := d.StreamStatus == types.StreamStatusActive && (ready == nil || ready(d))
		return done, fmt.Sprintf("stream %s is %s, %d open shards", stream, d.StreamStatus, aws.ToInt32(d.OpenShardCount)), nil
	})
	return d, err
}

const streamsDescribeDoc = `Shows a stream, by name or ARN: its summary (the fields of streams
list), encryption and key, enhanced monitoring's shard-level metrics,
how many stream consumers are registered, and its tags. With --output
json, one object with the fields of streams list and encryption, keyId,
enhancedMonitoring (an array), consumers (a count), maxRecordSizeKiB and
tags (an object).
`

func streamsDescribe(ctx context.Context, c *awsClient, o *streamsOptions, pos []string, cio cmdIO) error {
	d, err := streamSummary(ctx, c.Kinesis, pos[0])
	if err != nil {
		return err
	}
	s := streamDetailJSON{
		streamJSON: summaryJSON(d), Encryption: string(d.EncryptionType), KeyID: aws.ToString(d.KeyId),
		EnhancedMonitoring: []string{}, Tags: map[string]string{}, MaxRecordSizeKiB: aws.ToInt32(d.MaxRecordSizeInKiB),
	}
	if s.Encryption == "" {
		s.Encryption = string(types.EncryptionTypeNone)
	}
	for _, m := range d.EnhancedMonitoring {
		for _, x := range m.ShardLevelMetrics {
			s.EnhancedMonitoring = append(s.EnhancedMonitoring, string(x))
		}
	}
	if s.Consumers, err = countConsumers(ctx, c.Kinesis, s.ARN); err != nil {
		return err
	}
	in := &kinesis.ListTagsForStreamInput{StreamARN: aws.String(s.ARN)}
	for {
		out, err := c.Kinesis.ListTagsForStream(ctx, in)
		if err != nil {
			return err
		}
		for _, t := range out.Tags {
			s.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if !aws.ToBool(out.HasMoreTags) || len(out.Tags) == 0 {
			break
		}
		in.ExclusiveStartTagKey = out.Tags[len(out.Tags)-1].Key
	}
	if o.Output == outputJSON {
		return writeJSON(cio.stdout, s)
	}
	tw := newTable(cio.stdout)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("Name", s.Name)
	row("ARN", s.ARN)
	row("Status", s.Status)
	row("Mode", s.Mode)
	row("Open shards", fmt.Sprint(s.OpenShards))
	row("Retention", fmt.Sprintf("%dh", s.RetentionHours))
	row("Created", timeText(s.Created))
	enc := s.Encryption
	if s.KeyID != "" {
		enc += " (" + s.KeyID + ")"
	}
	row("Encryption", enc)
	mon := strings.Join(s.EnhancedMonitoring, ", ")
	if mon == "" {
		mon = "none"
	}
	row("Enhanced monitoring", mon)
	row("Consumers", fmt.Sprint(s.Consumers))
	if s.MaxRecordSizeKiB > 0 {
		row("Max record size", fmt.Sprintf("%d KiB", s.MaxRecordSizeKiB))
	}
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		row("Tags", "none")
	}
	slices.Sort(keys)
	for i, k := range keys {
		label := ""
		if i == 0 {
			label = "Tags:"
		}
		fmt.Fprintf(tw, "%s\t%s=%s\n", label, k, s.Tags[k])
	}
	return tw.Flush()
}

// countConsumers counts the stream consumers registered on the stream
// of arn, every page.
func countConsumers(ctx context.Context, c *kinesis.Client, arn string) (int, error) {
	n := 0
	in := &kinesis.ListStreamConsumersInput{StreamARN: aws.String(arn)}
	for {
		out, err := c.ListStreamConsumers(ctx, in)
		if err != nil {
			return 0, err
		}
		n += len(out.Consumers)
		if out.NextToken == nil {
			return n, nil
		}
		in = &kinesis.ListStreamConsumersInput{StreamARN: aws.String(arn), NextToken: out.NextToken}
	}
}

const streamsDeleteDoc = `Deletes a stream. With --wait, waits until it is gone. Prints a line,
or with --output json an object with the fields name and status
(DELETING, or DELETED after --wait).
`

func streamsDelete(ctx context.Context, c *awsClient, o *streamsOptions, pos []string, cio cmdIO) error {
	in := &kinesis.DeleteStreamInput{EnforceConsumerDeletion: aws.Bool(o.Enforce)}
	streamRef(pos[0], &in.StreamName, &in.StreamARN)
	if _, err := c.Kinesis.DeleteStream(ctx, in); err != nil {
		return err
	}
	status := string(types.StreamStatusDeleting)
	if o.Wait {
		err := waitFor(ctx, cio.stderr, func(ctx context.Context) (bool, string, error) {
			d, err := streamSummary(ctx, c.Kinesis, pos[0])
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				return true, "", nil
			}
			if err != nil {
				return false, "", err
			}
			return false, fmt.Sprintf("stream %s is %s", pos[0], d.StreamStatus), nil
		})
		if err != nil {
			return err
		}
		status = "DELETED"
	}
	if o.Output == outputJSON {
		return writeJSON(cio.stdout, map[string]string{"name": pos[0], "status": status})
	}
	_, err := fmt.Fprintf(cio.stdout, "deleted stream %s: %s\n", pos[0], status)
	return err
}

const streamsReshardDoc = `Changes a stream's shards, one of three ways:
  --shards n            UpdateShardCount with UNIFORM_SCALING: n open
                        shards, each an equal part of the hash key space
  --split shard [--at]  SplitShard: the shard's range in two, at --at or
                        its middle
  --merge shard ADJ     MergeShards: the shard and the adjacent shard ADJ,
                        given after the stream's name, in one
With --wait, waits until the stream is ACTIVE again (and, for --shards,
has n open shards). Prints the stream: a line, or with --output json its
object (the fields of streams list).
`

func checkReshard(o *streamsOptions, pos []string) error {
	ways := 0
	for _, set := range []bool{o.Shards > 0, o.Split != "", o.Merge != ""} {
		if set {
			ways++
		}
	}
	switch {
	case ways == 0:
		return errors.New("one of --shards, --split or --merge is required")
	case ways > 1:
		return errors.New("--shards, --split and --merge cannot be used together")
	case o.At != "" && o.Split == "":
		return errors.New("--at needs --split")
	case o.At != "":
		if _, ok := new(big.Int).SetString(o.At, 10); !ok {
			return fmt.Errorf("--at %q must be a decimal hash key", o.At)
		}
	}
	if o.Merge != "" {
		return wantArgs(pos, "stream name", "adjacent shard")
	}
	return wantArgs(pos, "stream name")
}

func streamsReshard(ctx context.Context, c *awsClient, o *streamsOptions, pos []string, cio cmdIO) error {
	stream := pos[0]
	var ready func(*types.StreamDescriptionSummary) bool
	switch {
	case o.Shards > 0:
		in := &kinesis.UpdateShardCountInput{TargetShardCount: aws.Int32(int32(o.Shards)), ScalingType: types.ScalingTypeUniformScaling}
		streamRef(stream, &in.StreamName, &in.StreamARN)
		if _, err := c.Kinesis.UpdateShardCount(ctx, in); err != nil {
			return err
		}
		ready = func(d *types.StreamDescriptionSummary) bool { return aws.ToInt32(d.OpenShardCount) == int32(o.Shards) }
	case o.Split != "":
		at := o.At
		if at == "" {
			var err error
			if at, err = middleOf(ctx, c.Kinesis, stream, o.Split); err != nil {
				return err
			}
		}
		in := &kinesis.SplitShardInput{ShardToSplit: aws.String(o.Split), NewStartingHashKey: aws.String(at)}
		streamRef(stream, &in.StreamName, &in.StreamARN)
		if _, err := c.Kinesis.SplitShard(ctx, in); err != nil {
			return err
		}
	default:
		in := &kinesis.MergeShardsInput{ShardToMerge: aws.String(o.Merge), AdjacentShardToMerge: aws.String(pos[1])}
		streamRef(stream, &in.StreamName, &in.StreamARN)
		if _, err := c.Kinesis.MergeShards(ctx, in); err != nil {
			return err
		}
	}
	var d *types.StreamDescriptionSummary
	var err error
	if o.Wait {
		d, err = waitStreamActive(ctx, c.Kinesis, stream, cio, ready)
	} else {
		d, err = streamSummary(ctx, c.Kinesis, stream)
	}
	if err != nil {
		return err
	}
	return writeStreamChange(cio, o, "resharded", d)
}

// middleOf returns the middle hash key of the shard's range, where
// --split splits by default.
func middleOf(ctx context.Context, c *kinesis.Client, stream, shard string) (string, error) {
	shards, err := listAllShards(ctx, c, stream, 0)
	if err != nil {
		return "", err
	}
	for _, s := range shards {
		if aws.ToString(s.ShardId) != shard || s.HashKeyRange == nil {
			continue
		}
		lo, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		hi, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
		if lo == nil || hi == nil {
			break
		}
		mid := new(big.Int).Add(lo, hi)
		mid.Add(mid, big.NewInt(1)).Rsh(mid, 1)
		return mid.String(), nil
	}
	return "", fmt.Errorf("stream %s has no shard %s", stream, shard)
}
