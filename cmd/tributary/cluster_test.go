package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		want    serveConfig // the cluster fields and Storage
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
		{name: "keyring with a cluster", args: append([]string{"--keyring", "keys.toml"}, full...), wantErr: "--keyring (encryption at rest) works with --storage local only"},
		{name: "keyring with jetstream", args: []string{"--storage", "jetstream", "--keyring", "keys.toml"}, wantErr: "--keyring (encryption at rest) works with --storage local only"},
		{name: "too many replicas", args: append([]string{"--replicas", "5"}, full...), wantErr: "--replicas 5 is more than the 3 nodes"},
		{name: "zero replicas", args: append([]string{"--replicas", "0"}, full...), wantErr: "--replicas 0 must be from 1 to 5"},
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
			got := serveConfig{Storage: cfg.Storage, Cluster: cfg.Cluster, Node: cfg.Node, Peers: cfg.Peers, ClusterListen: cfg.ClusterListen, Replicas: cfg.Replicas}
			if got != tt.want {
				t.Fatalf("config %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}
