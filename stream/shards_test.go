package stream

import "testing"

func TestParseShardID(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"shardId-000000000000", 0, true},
		{"shardId-000000000001", 1, true},
		{"shardId-0000000000", 0, true}, // 10 digits, as in AWS's docs
		{"shardId-1", 1, true},
		{"shardId-5", 5, true},
		{"1", 1, true},
		{"2147483647", 2147483647, true},
		{"anything-7", 7, true},
		{"a-00002147483647", 2147483647, true},
		{"-00002147483647", 2147483647, true},
		{"shardId-2147483648", 0, false},
		{"2147483648", 0, false},
		{"shardId-002147483648", 0, false},
		{"ABKLFD8", 0, false},
		{"2.14E4", 0, false},
		{"shardId-", 0, false},
		{"", 0, false},
		{"shardId-99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseShardID(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseShardID(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestShardIDFormat(t *testing.T) {
	for _, tt := range []struct {
		in   uint32
		want string
	}{{0, "shardId-000000000000"}, {12, "shardId-000000000012"}, {2147483647, "shardId-002147483647"}} {
		if got := shardID(tt.in); got != tt.want {
			t.Errorf("shardID(%d) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
