package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tributary-io/tributary/server"
	jsengine "github.com/tributary-io/tributary/storage/jetstream"
)

// clusterOptions are the flags of "tributary cluster status", "add" and
// "drain".
type clusterOptions struct {
	Endpoint   string
	JSON       bool
	Timeout    time.Duration
	AdminToken string
}

func clusterOptionList(change bool) []cmdOption[clusterOptions] {
	list := []cmdOption[clusterOptions]{
		endpointOption(func(o *clusterOptions) *string { return &o.Endpoint }),
		{
			flag:  "json",
			usage: "Print the node's answer as it is, in JSON, rather than as tables.",
			value: func(o *clusterOptions) flag.Value { return &boolValue{&o.JSON} },
		},
		{
			flag: "timeout", arg: "duration",
			usage: "How long to wait for the answer.",
			value: func(o *clusterOptions) flag.Value { return &durationValue{d: &o.Timeout, positive: true} },
		},
	}
	if change {
		list[1].usage = "Print each step as the node sends it, a JSON object a line, rather than as text."
		list[2].usage = "How long the whole change may take; when it is up the node stops after the step under way, which the cluster finishes, and running the command again goes on from there."
		list = append(list, cmdOption[clusterOptions]{
			flag: "admin-token", arg: "token",
			usage: "The node's admin token (serve --admin-token).",
			value: func(o *clusterOptions) flag.Value { return &stringValue{&o.AdminToken} },
			def:   "$" + adminTokenEnv,
		})
	}
	return list
}

// clusterDefaults are the defaults of a subcommand's flags.
func clusterDefaults(sub string) clusterOptions {
	if sub == "status" {
		return clusterOptions{Endpoint: defaultEndpoint, Timeout: 15 * time.Second}
	}
	return clusterOptions{Endpoint: defaultEndpoint, Timeout: 30 * time.Minute}
}

func clusterUsage() string {
	return `Usage: tributary cluster status|add|drain [flags]

  status        how a node sees the cluster: nodes, leaders, replicas
  add NODE      move replicas onto a node just started beside the others
  drain NODE    move everything off a node, then take it out of the cluster

Run 'tributary cluster SUBCOMMAND --help' for each one's flags.
`
}

func clusterSubUsage(sub string) string {
	var b strings.Builder
	switch sub {
	case "status":
		b.WriteString(`Usage: tributary cluster status [--endpoint url] [--json] [--timeout duration]

Asks a node of a cluster (tributary serve --cluster) how it sees the
cluster (GET ` + server.ClusterStatusPath + `, read-only, no signature) and prints: the
metadata leader; the other nodes, whether each is current (seen recently
and caught up) or offline; and each replicated stream (the placements of
the shards' logs, TRIBUTARY_LOGS_*, and the catalogue's buckets, KV_*)
with its leader and its other replicas, each with how many operations it
lags behind the leader.

Exit status: 0 if the node answered, 1 if not, 2 for wrong usage.
`)
	case "add":
		b.WriteString(`Usage: tributary cluster add NODE [--endpoint url] [--admin-token token] [--json] [--timeout duration]

Spreads the cluster's replicas onto NODE, a node just started with
serve --cluster NAME --node NODE --peers (the others' route addresses):
a node that joins holds nothing until then, because the replicated
streams (placements of the shards' logs and the catalogue's buckets) were
placed when the cluster first started and do not move by themselves.

The node asked (--endpoint, any other node) waits until NODE is a member,
then moves one replica at a time from the node holding the most onto
NODE, each caught up before the next, until NODE holds its share (all
replicas over the nodes, rounded down); then it hands NODE the
leadership of streams it holds, up to its share. Writes and reads go on
throughout. Each step is printed as it ends. Running it again moves
nothing that is already even.

Needs the node's admin token (POST ` + server.ClusterAddPath + `; serve
--admin-token, with --cluster). Exit status: 0 once done, 1 if refused or
failed (what was moved stays moved), 2 for wrong usage.
`)
	case "drain":
		b.WriteString(`Usage: tributary cluster drain NODE [--endpoint url] [--admin-token token] [--json] [--timeout duration]

Moves every replica and every leadership off NODE, one replicated stream
at a time, while writes and reads go on: for each stream NODE holds, a
replacement replica is made on another node and caught up before NODE's
is dropped, so no stream is ever short of replicas. Then NODE leaves the
cluster's metadata group, and its storage stops: stop its process, and
do not start it again on its data directory (wipe it first, and start it
as a new node with cluster add).

Refused, before anything moves, when the other nodes up are fewer than
the replica count (--replicas): add a node first. Ask another node than
NODE (--endpoint). Each step is printed as it ends.

Needs the node's admin token (POST ` + server.ClusterDrainPath + `; serve
--admin-token, with --cluster). Exit status: 0 once drained, 1 if
refused or failed (what was moved stays moved; running it again goes on
from there), 2 for wrong usage.
`)
	}
	b.WriteString("\nFlags:\n")
	writeCmdFlags(&b, clusterOptionList(sub != "status"), clusterDefaults(sub))
	return b.String()
}

// clusterMain runs "tributary cluster".
func clusterMain(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-help" || args[0] == "-h" || args[0] == "help") {
		fmt.Fprint(stdout, clusterUsage())
		return 0
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, "tributary cluster: which one: status, add or drain\n\nRun 'tributary cluster --help' for the subcommands.\n")
		return 2
	}
	sub := args[0]
	switch sub {
	case "status", "add", "drain":
	default:
		fmt.Fprintf(stderr, "tributary cluster: unknown subcommand %q; status, add or drain\n\nRun 'tributary cluster --help' for the subcommands.\n", sub)
		return 2
	}
	name := "tributary cluster " + sub
	usageErr := func(err error) int {
		fmt.Fprintf(stderr, "%s: %v\n\nRun '%s --help' for the flags.\n", name, err, name)
		return 2
	}
	opts := clusterDefaults(sub)
	// The node comes first (drain n3 --endpoint ...), as a flag set
	// stops at the first argument that is not a flag.
	var node string
	rest := args[1:]
	if sub != "status" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		node, rest = rest[0], rest[1:]
	}
	fs, err := parseCmdFlags(name, clusterOptionList(sub != "status"), &opts, rest)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, clusterSubUsage(sub))
		return 0
	}
	if err != nil {
		return usageErr(err)
	}
	if sub != "status" && node == "" && fs.NArg() > 0 {
		// The node after some flags, and maybe before others.
		node = fs.Arg(0)
		if fs, err = parseCmdFlags(name, clusterOptionList(true), &opts, fs.Args()[1:]); err != nil {
			return usageErr(err)
		}
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if sub != "status" {
		if node == "" {
			return usageErr(errors.New("which node: tributary cluster " + sub + " NODE"))
		}
		if opts.AdminToken == "" {
			opts.AdminToken, _ = lookupEnv(adminTokenEnv)
		}
		if opts.AdminToken == "" {
			return usageErr(errors.New("needs the node's admin token: --admin-token or " + adminTokenEnv))
		}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, opts.Timeout, errClusterTimeout)
	defer cancel()
	if sub == "status" {
		return clusterStatus(ctx, opts, stdout, stderr)
	}
	return clusterChange(ctx, sub, node, opts, stdout, stderr)
}

func clusterStatus(ctx context.Context, opts clusterOptions, stdout, stderr io.Writer) int {
	url := strings.TrimSuffix(opts.Endpoint, "/") + server.ClusterStatusPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "tributary cluster status: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "tributary cluster status: %s: no answer: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		fmt.Fprintf(stderr, "tributary cluster status: %s: %v\n", url, err)
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "tributary cluster status: %s: %d %s\n", url, resp.StatusCode, strings.TrimSpace(string(body)))
		return 1
	}
	if opts.JSON {
		stdout.Write(body)
		return 0
	}
	var st jsengine.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "tributary cluster status: %s: %v\n", url, err)
		return 1
	}
	writeClusterStatus(stdout, st)
	return 0
}

// clusterChange posts a drain or an add and prints its steps as the node
// sends them.
// errClusterTimeout is the cause of a cluster command's context ending at
// its --timeout, told apart from its caller's ending it.
var errClusterTimeout = errors.New("--timeout")

func clusterChange(ctx context.Context, sub, node string, opts clusterOptions, stdout, stderr io.Writer) int {
	name := "tributary cluster " + sub
	path := server.ClusterDrainPath
	if sub == "add" {
		path = server.ClusterAddPath
	}
	url := strings.TrimSuffix(opts.Endpoint, "/") + path
	body, _ := json.Marshal(server.ClusterChangeRequest{Node: node})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+opts.AdminToken)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s: no answer: %v\n", name, url, err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(msg, &e) == nil && e.Error != "" {
			msg = []byte(e.Error)
		}
		fmt.Fprintf(stderr, "%s: %d %s\n", name, resp.StatusCode, strings.TrimSpace(string(msg)))
		return 1
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Bytes()
		if opts.JSON {
			stdout.Write(append(line, '\n'))
		}
		var step struct {
			jsengine.Move
			server.ClusterChangeEnd
		}
		if err := json.Unmarshal(line, &step); err != nil {
			fmt.Fprintf(stderr, "%s: %s: %v\n", name, url, err)
			return 1
		}
		switch {
		case step.Error != "":
			fmt.Fprintf(stderr, "%s: %s\n", name, step.Error)
			return 1
		case step.Done:
			if !opts.JSON {
				fmt.Fprintf(stdout, "%s %s in %v\n", map[string]string{"add": "added", "drain": "drained"}[sub], node, time.Since(start).Round(time.Millisecond))
			}
			return 0
		case !opts.JSON:
			fmt.Fprintln(stdout, describeMove(step.Move))
		}
	}
	err = sc.Err()
	switch {
	case errors.Is(context.Cause(ctx), errClusterTimeout):
		err = fmt.Errorf("gave up after --timeout %v: the node stops after the step under way, which the cluster finishes; run the command again to go on", opts.Timeout)
	case ctx.Err() != nil:
		err = fmt.Errorf("stopped after %v (%w): the node stops after the step under way, which the cluster finishes; run the command again to go on", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
	case err == nil:
		err = errors.New("the answer ended before the change did")
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

// describeMove is a step as a line of text.
func describeMove(m jsengine.Move) string {
	took := m.Took.Round(time.Millisecond)
	switch m.What {
	case jsengine.MoveReplica:
		return fmt.Sprintf("%s: replica moved from %s to %s, current there (%v)", m.Stream, m.From, m.To, took)
	case jsengine.MoveLeader:
		return fmt.Sprintf("%s: leader now %s, was %s (%v)", m.Stream, m.To, m.From, took)
	case jsengine.MoveJoined:
		return fmt.Sprintf("%s is a member of the cluster", m.To)
	case jsengine.MoveMetaLeader:
		return fmt.Sprintf("metadata leader now %s, was %s (%v)", m.To, m.From, took)
	case jsengine.MoveMetaRemove:
		return fmt.Sprintf("%s removed from the metadata group (%v): stop its process", m.From, took)
	}
	return fmt.Sprintf("%s %s: %s -> %s (%v)", m.Stream, m.What, m.From, m.To, took)
}

// writeClusterStatus prints st as two tables.
func writeClusterStatus(w io.Writer, st jsengine.Status) {
	leader := st.MetaLeader
	if leader == "" {
		leader = "none (fewer than a majority of the nodes reachable?)"
	}
	fmt.Fprintf(w, "cluster %s, as node %s sees it; metadata leader: %s\n\n", st.Cluster, st.Node, leader)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tLAST SEEN")
	fmt.Fprintf(tw, "%s\tthis node\t-\n", st.Node)
	for _, p := range st.Peers {
		fmt.Fprintf(tw, "%s\t%s\t%v ago\n", p.Name, peerState(p), p.SeenAgo.Round(time.Millisecond))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tLEADER\tMESSAGES\tREPLICAS (lag in operations)")
	for _, s := range st.Streams {
		if s.Error != "" {
			fmt.Fprintf(tw, "%s\t?\t?\t%s\n", s.Name, s.Error)
			continue
		}
		var reps []string
		for _, p := range s.Replicas {
			reps = append(reps, fmt.Sprintf("%s %s lag %d", p.Name, peerState(p), p.Lag))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.Name, s.Leader, s.Messages, strings.Join(reps, ", "))
	}
	tw.Flush()
}

func peerState(p jsengine.Peer) string {
	switch {
	case p.Offline:
		return "offline"
	case p.Current:
		return "current"
	}
	return "behind"
}
