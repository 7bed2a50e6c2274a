package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "d969725a"},
		{Key: "vcs.time", Value: "2025-01-02T03:04:05Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name    string
		version string
		bi      *debug.BuildInfo
		want    string
	}{
		{
			name: "no build info", version: "dev",
			want: "tributary dev\ngo:       " + runtime.Version() + " " + platform + "\n",
		},
		{
			name: "ldflags version and VCS info", version: "v1.2.3",
			bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			want: "tributary v1.2.3\ngo:       go1.26.0 " + platform +
				"\nrevision: d969725a (modified)\ncommit:   2025-01-02T03:04:05Z\n",
		},
		{
			name: "module version when installed with go install", version: "dev",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.4.0"}},
			want: "tributary v0.4.0\ngo:       go1.26.0 " + platform + "\n",
		},
		{
			name: "ldflags version wins over module version", version: "v1.0.0",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.4.0"}},
			want: "tributary v1.0.0\ngo:       go1.26.0 " + platform + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatVersion(tt.version, tt.bi); got != tt.want {
				t.Errorf("formatVersion =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
