package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/server"
	jsengine "github.com/tributary-io/tributary/storage/jetstream"
)

// TestClusterOptions: the cluster's flags, their environment variables
// and config file keys, --cluster implying --storage jetstream, and the
// combinations refused.
func TestClusterOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "node.toml")
	if err := os.WriteFile(file, []byte("cluster = \"c1\"\nnode = \"n2\"\npeers = \"10.0.0.1:6222,10.0.0.2:6222,10.0.0.3:6222\"\ncluster-listen = \"10.0.0.2:6222\"\nreplicas = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := []string{"--cluster", "c1", "--node", "n1", "--peers", "127.0.0.1:6222, 127.0.0.1:6223,127.0.0.1:6224", "--cluster-listen", "127.0.0.1:6222"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		want    serveConfig // the cluster fields, Storage and Keyring
	}{
		{name: "single node", want: serveConfig{Storage: storageLocal, Replicas: 3}},
		{name: "flags", args: full, want: serveConfig{Storage: storageJetStream, Cluster: "c1", Node: "n1",
			Peers: "127.0.0.1:6222,127.0.0.1:6223,127.0.0.1:6224", ClusterListen: "127.0.0.1:6222", Replicas: 3}},
		{name: "environment", env: map[string]string{"TRIBUTARY_CLUSTER": "c1", "TRIBUTARY_NODE": "n3", "TRIBUTARY_PEERS": "a:1,b:2",
			"TRIBUTARY_CLUSTER_LISTEN": ":7000", "TRIBUTARY_REPLICAS": "1", "TRIBUTARY_STORAGE": "jetstream"},
			want: serveConfig{Storage: storageJetStream, Cluster: "c1", Node: "n3", Peers: "a:1,b:2", ClusterListen: ":7000", Replicas: 1}},
		{name: "config file", args: []string{"--config", file}, want: serveConfig{Storage: storageJetStream, Cluster: "c1", Node: "n2",
			Peers: "10.0.0.1:6222,10.0.0.2:6222,10.0.0.3:6222", ClusterListen: "10.0.0.2:6222", Replicas: 3}},
		{name: "no node", args: []string{"--cluster", "c1", "--peers", "a:1", "--cluster-listen", ":1"}, wantErr: "--cluster needs --node ID"},
		{name: "no peers", args: []string{"--cluster", "c1", "--node", "n", "--cluster-listen", ":1"}, wantErr: "--cluster needs --peers"},
		{name: "no listen", args: []string{"--cluster", "c1", "--node", "n", "--peers", "a:1"}, wantErr: "--cluster needs --cluster-listen"},
		{name: "memory", args: append([]string{"--storage", "memory"}, full...), wantErr: "not memory"},
		{name: "keyring with a cluster", args: append([]string{"--keyring", "keys.toml"}, full...), want: serveConfig{Storage: storageJetStream, Cluster: "c1", Node: "n1",
			Peers: "127.0.0.1:6222,127.0.0.1:6223,127.0.0.1:6224", ClusterListen: "127.0.0.1:6222", Replicas: 3, Keyring: "keys.toml"}},
		{name: "keyring with jetstream", args: []string{"--storage", "jetstream", "--keyring", "keys.toml"}, want: serveConfig{Storage: storageJetStream, Replicas: 3, Keyring: "keys.toml"}},
		{name: "too many replicas", args: append([]string{"--replicas", "5"}, full...), wantErr: "--replicas 5 is more than the 3 nodes"},
		{name: "zero replicas", args: append([]string{"--replicas", "0"}, full...), wantErr: "--replicas 0 must be from 1 to 5"},
		{name: "default placements", args: append([]string{"--placements", "0"}, full...), want: serveConfig{Storage: storageJetStream, Cluster: "c1", Node: "n1",
			Peers: "127.0.0.1:6222,127.0.0.1:6223,127.0.0.1:6224", ClusterListen: "127.0.0.1:6222", Replicas: 3}},
		{name: "too many placements", args: []string{"--storage", "jetstream", "--placements", "65"}, wantErr: "--placements 65 must be from 1 to 64, or 0 for the default"},
		{name: "node without cluster", args: []string{"--node", "n1"}, wantErr: "--node is only read with --cluster"},
		{name: "peers without cluster", env: map[string]string{"TRIBUTARY_PEERS": "a:1"}, wantErr: "--peers is only read with --cluster"},
		{name: "bad node name", args: []string{"--node", "n 1"}, wantErr: "only letters, digits"},
		{name: "peer without port", args: []string{"--peers", "a:1,b"}, wantErr: `"b" must be host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeArgs(tt.args, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := serveConfig{Storage: cfg.Storage, Cluster: cfg.Cluster, Node: cfg.Node, Peers: cfg.Peers, ClusterListen: cfg.ClusterListen, Replicas: cfg.Replicas, Keyring: cfg.Keyring}
			if got != tt.want {
				t.Fatalf("config %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

// TestClusterHelp: the cluster command's help and each subcommand's.
func TestClusterHelp(t *testing.T) {
	for _, tt := range []struct {
		args       []string
		want, omit string
	}{
		{[]string{"cluster", "--help"}, "drain NODE    move everything off a node", ""},
		{[]string{"help", "cluster"}, "add NODE      move replicas onto a node", ""},
		{[]string{"cluster", "status", "--help"}, "Usage: tributary cluster status [--endpoint url]", "--admin-token"},
		{[]string{"cluster", "drain", "--help"}, "Refused, before anything moves, when the other nodes up are fewer than", ""},
		{[]string{"cluster", "add", "n4", "--help"}, "  --admin-token token\n        The node's admin token (serve --admin-token).\n        Default: $TRIBUTARY_ADMIN_TOKEN.\n", ""},
	} {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), tt.args, nil, &stdout, &stderr, env(nil))
		if code != 0 || !strings.Contains(stdout.String(), tt.want) || tt.omit != "" && strings.Contains(stdout.String(), tt.omit) || stderr.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and %q", tt.args, code, stdout.String(), stderr.String(), tt.want)
		}
	}
}

// TestClusterChangeCommand runs `tributary cluster drain` and `add`
// against a front end whose ClusterChange hook is a fake: the steps are
// printed as lines of text (or passed through with --json), the end
// says how long it took; a refusal, a failure after a step and a wrong
// token exit 1 with the node's message.
func TestClusterChangeCommand(t *testing.T) {
	const token = "cluster-command-token-0123"
	hook := func(ctx context.Context, op, node string, progress func(any)) error {
		switch node {
		case "few":
			return fmt.Errorf("%w: jetstream: drain few: too few nodes: 2 other nodes are up and KV_tributary_logs needs 3 replicas; add a node first", server.ErrChangeRefused)
		case "broken":
			progress(jsengine.Move{Stream: "TRIBUTARY_LOGS_0", What: jsengine.MoveLeader, From: "broken", To: "n1", Took: 120 * time.Millisecond})
			return errors.New("jetstream: drain broken: wait for broken to leave TRIBUTARY_LOGS_0: context canceled")
		case "slow":
			progress(jsengine.Move{Stream: "TRIBUTARY_LOGS_0", What: jsengine.MoveLeader, From: "slow", To: "n1", Took: 120 * time.Millisecond})
			<-ctx.Done() // the client goes away
			return ctx.Err()
		}
		if op == "add" {
			progress(jsengine.Move{What: jsengine.MoveJoined, To: node})
		}
		progress(jsengine.Move{Stream: "TRIBUTARY_LOGS_1", What: jsengine.MoveReplica, From: "n2", To: node, Took: 1500 * time.Millisecond})
		return nil
	}
	ts := httptest.NewServer(server.New(server.Config{Handler: new(gate), ClusterChange: hook, AdminToken: token}))
	defer ts.Close()
	for _, tt := range []struct {
		args       []string
		token      string
		code       int
		out, err   string // substrings of stdout and stderr
		noOutLines int    // exact line count of stdout, when not 0
	}{
		{[]string{"cluster", "drain", "n4"}, token, 0, "TRIBUTARY_LOGS_1: replica moved from n2 to n4, current there (1.5s)\ndrained n4 in ", "", 2},
		{[]string{"cluster", "add", "n5"}, token, 0, "n5 is a member of the cluster\nTRIBUTARY_LOGS_1: replica moved from n2 to n5, current there (1.5s)\nadded n5 in ", "", 3},
		{[]string{"cluster", "drain", "--json", "n4"}, token, 0, `{"stream":"TRIBUTARY_LOGS_1","what":"replica","from":"n2","to":"n4","took_ns":1500000000}` + "\n" + `{"done":true}` + "\n", "", 2},
		{[]string{"cluster", "drain", "few"}, token, 1, "", "tributary cluster drain: 409 refused: jetstream: drain few: too few nodes", 0},
		{[]string{"cluster", "drain", "broken"}, token, 1, "TRIBUTARY_LOGS_0: leader now n1, was broken (120ms)\n", "tributary cluster drain: jetstream: drain broken: wait for broken", 1},
		{[]string{"cluster", "drain", "n4"}, "wrong-token-0123456789", 1, "", "tributary cluster drain: 401 the admin API needs its token", 0},
		{[]string{"cluster", "drain", "slow", "--timeout", "200ms"}, token, 1, "", "tributary cluster drain: gave up after --timeout 200ms: the node stops after the step under way", 1},
		// The caller's context ends first (an interrupt): not the timeout.
		{[]string{"cluster", "drain", "slow", "--timeout", "1h"}, token, 1, "", "tributary cluster drain: stopped after ", 1},
	} {
		var stdout, stderr bytes.Buffer
		args := append(tt.args, "--endpoint", ts.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		code := runMain(ctx, args, nil, &stdout, &stderr, env(map[string]string{adminTokenEnv: tt.token}))
		cancel()
		out := stdout.String()
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(stderr.String(), tt.err) ||
			tt.noOutLines != 0 && strings.Count(out, "\n") != tt.noOutLines {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q\nwant %d, %q, %q", tt.args, code, out, stderr.String(), tt.code, tt.out, tt.err)
		}
	}
}
