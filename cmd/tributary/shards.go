package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// shardsOptions are the flags of "tributary shards".
type shardsOptions struct {
	clientOptions
	PageSize int
}

func shardsCommand() *clientCommand[shardsOptions] {
	client := func(o *shardsOptions) *clientOptions { return &o.clientOptions }
	return &clientCommand[shardsOptions]{
		name: "shards", family: "shards", synopsis: "shards STREAM [--page-size n] [--output table|json]",
		doc: `Prints a stream's shard map, every page of ListShards: each shard's id,
parents, hash key range, whether it is open, and its sequence number
range (the ending one only once the shard is closed). Shards come in
lineage order, each after its parents, and the table indents a child
under its parent, so that splits and merges read as a tree. The table
shortens hash keys (1.7014e38) and sequence numbers (their last
digits); JSON has them whole.

With --output json, an array of objects in the same order, with the
fields shardId, parents (an array, empty for a first shard),
hashKeyStart, hashKeyEnd, open, startingSequenceNumber and
endingSequenceNumber (absent for an open shard).
`,
		options: append([]cmdOption[shardsOptions]{{
			flag: "page-size", arg: "n",
			usage: "Shards asked for per ListShards call (its MaxResults); every page is read. 0 leaves it to the endpoint.",
			value: func(o *shardsOptions) flag.Value { return &countValue{&o.PageSize} },
		}}, clientOptionList(client)...),
		defaults: func() shardsOptions { return shardsOptions{} },
		client:   client,
		check:    func(_ *shardsOptions, pos []string) error { return wantArgs(pos, "stream name or ARN") },
		run: func(ctx context.Context, c *awsClient, o *shardsOptions, pos []string, cio cmdIO) error {
			shards, err := listAllShards(ctx, c.Kinesis, pos[0], o.PageSize)
			if err != nil {
				return err
			}
			return writeShards(cio.stdout, o.Output, shards)
		},
	}
}

// listAllShards returns every shard of the stream, all pages of ListShards
// with pageSize shards a page (0: the endpoint's default).
func listAllShards(ctx context.Context, c *kinesis.Client, stream string, pageSize int) ([]types.Shard, error) {
	in := &kinesis.ListShardsInput{}
	streamRef(stream, &in.StreamName, &in.StreamARN)
	if pageSize > 0 {
		in.MaxResults = aws.Int32(int32(min(pageSize, 10000)))
	}
	var shards []types.Shard
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		// A NextToken goes alone: it names the stream itself.
		in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: in.MaxResults}
	}
}

// shardJSON is a shard as "tributary shards --output json" writes it.
type shardJSON struct {
	ShardID                string   `json:"shardId"`
	Parents                []string `json:"parents"`
	HashKeyStart           string   `json:"hashKeyStart"`
	HashKeyEnd             string   `json:"hashKeyEnd"`
	Open                   bool     `json:"open"`
	StartingSequenceNumber string   `json:"startingSequenceNumber"`
	EndingSequenceNumber   string   `json:"endingSequenceNumber,omitempty"`
	depth                  int
}

// lineageOrder returns the shards with each after its parents: the
// first shards (no parent among the shards listed) in the order listed,
// each followed by its descendants, depth first; a merged shard comes
// after the later of its two parents. depth is how many generations a
// shard is below a first shard.
func lineageOrder(shards []types.Shard) []shardJSON {
	byID := map[string]bool{}
	for _, s := range shards {
		byID[aws.ToString(s.ShardId)] = true
	}
	children := map[string][]int{}
	var out []shardJSON
	all := make([]shardJSON, len(shards))
	for i, s := range shards {
		j := shardJSON{ShardID: aws.ToString(s.ShardId), Parents: []string{}}
		for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
			if p != nil && *p != "" {
				j.Parents = append(j.Parents, *p)
			}
		}
		if s.HashKeyRange != nil {
			j.HashKeyStart, j.HashKeyEnd = aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey)
		}
		if s.SequenceNumberRange != nil {
			j.StartingSequenceNumber = aws.ToString(s.SequenceNumberRange.StartingSequenceNumber)
			j.EndingSequenceNumber = aws.ToString(s.SequenceNumberRange.EndingSequenceNumber)
		}
		j.Open = j.EndingSequenceNumber == ""
		all[i] = j
		for _, p := range j.Parents {
			if byID[p] {
				children[p] = append(children[p], i)
			}
		}
	}
	// pending counts, per shard, the parents among the shards listed not
	// yet placed: a shard is placed once it is 0.
	pending := make([]int, len(all))
	for i, j := range all {
		for _, p := range j.Parents {
			if byID[p] {
				pending[i]++
			}
		}
	}
	var place func(i, depth int)
	place = func(i, depth int) {
		all[i].depth = max(all[i].depth, depth)
		pending[i]--
		if pending[i] > 0 {
			return
		}
		out = append(out, all[i])
		for _, c := range children[all[i].ShardID] {
			place(c, all[i].depth+1)
		}
	}
	var roots []int
	for i := range all {
		if pending[i] == 0 {
			roots = append(roots, i)
		}
	}
	for _, i := range roots {
		pending[i] = 1 // as if its one parent were placed now
		place(i, 0)
	}
	return out
}

func writeShards(w io.Writer, format string, shards []types.Shard) error {
	list := lineageOrder(shards)
	if format == outputJSON {
		return writeJSON(w, list)
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "SHARD\tPARENTS\tHASH KEYS\tSTATE\tSEQUENCE NUMBERS")
	for _, s := range list {
		id := s.ShardID
		if s.depth > 0 {
			id = strings.Repeat("  ", s.depth-1) + "└ " + id
		}
		parents := strings.Join(s.Parents, ",")
		if parents == "" {
			parents = "-"
		}
		state := "open"
		if !s.Open {
			state = "closed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s-%s\t%s\t%s-%s\n", id, parents, shortKey(s.HashKeyStart), shortKey(s.HashKeyEnd),
			state, shortSeq(s.StartingSequenceNumber), shortSeq(s.EndingSequenceNumber))
	}
	return tw.Flush()
}

// shortKey writes a hash key (up to 2^128-1, 39 digits) with five
// significant digits when it is long: 1.7014e38.
func shortKey(k string) string {
	n, ok := new(big.Int).SetString(k, 10)
	if !ok || len(k) <= 6 {
		return k
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	return strings.Replace(fmt.Sprintf("%.4e", f), "e+", "e", 1)
}

// shortSeq writes a sequence number by its last digits when it is long
// (AWS's have 56): the ones that tell a shard's records apart.
func shortSeq(s string) string {
	if len(s) <= 20 {
		return s
	}
	return "…" + s[len(s)-12:]
}
