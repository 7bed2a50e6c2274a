package main

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// dockerfile is what the tests need of deploy/Dockerfile.
type dockerfile struct {
	build       []string          // the go build command of the RUN line, words unquoted
	buildEnv    []string          // its VAR=value prefixes
	finalFrom   string            // the image of the last FROM
	user        string            // USER
	volume      string            // VOLUME
	expose      string            // EXPOSE
	env         map[string]string // ENV
	entrypoint  []string          // ENTRYPOINT, exec form
	healthcheck []string          // HEALTHCHECK's CMD, exec form
	chowned     map[string]string // destination of each COPY --chown: its owner
}

// parseDockerfile reads the instructions of the Dockerfile at path that
// the image test relies on; every one of them must be there.
func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{env: map[string]string{}, chowned: map[string]string{}}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			d.finalFrom = strings.Fields(rest)[0]
		case "RUN":
			for _, cmd := range strings.Split(rest, "&&") {
				words := shellWords(t, cmd)
				i := slices.Index(words, "go")
				if i < 0 || i+1 >= len(words) || words[i+1] != "build" {
					continue
				}
				d.buildEnv, d.build = words[:i], words[i:]
			}
		case "USER":
			d.user = rest
		case "VOLUME":
			d.volume = rest
		case "EXPOSE":
			d.expose = rest
		case "ENV":
			for _, w := range shellWords(t, rest) {
				k, v, _ := strings.Cut(w, "=")
				d.env[k] = v
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &d.entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT must be in exec form: %v", err)
			}
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(rest, " CMD ")
			if err := json.Unmarshal([]byte(cmd), &d.healthcheck); !ok || err != nil {
				t.Fatalf("HEALTHCHECK must have a CMD in exec form: %q", rest)
			}
		case "COPY":
			if m := regexp.MustCompile(`--chown=(\S+) \S+ (\S+)$`).FindStringSubmatch(rest); m != nil {
				d.chowned[m[2]] = m[1]
			}
		}
	}
	if d.build == nil || d.user == "" || d.volume == "" || d.expose == "" || d.entrypoint == nil || d.healthcheck == nil {
		t.Fatalf("%s lacks an instruction the test needs: %+v", path, d)
	}
	return d
}

// shellWords splits s into words as a shell would for the simple
// commands of a Dockerfile: at blanks outside double quotes.
func shellWords(t *testing.T, s string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// TestDockerfile: the image is built and run as the issue asks (static
// binary, scratch, numeric non-root user, data volume, health check with
// tributary health), and its parts agree with each other.
func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t, filepath.Join("..", "..", "deploy", "Dockerfile"))
	build := strings.Join(d.build, " ")
	for _, want := range []string{"-trimpath", "-X main.version=${VERSION}", "./cmd/tributary"} {
		if !strings.Contains(build, want) {
			t.Errorf("go build %q lacks %q", build, want)
		}
	}
	if !slices.Contains(d.buildEnv, "CGO_ENABLED=0") {
		t.Errorf("go build runs without CGO_ENABLED=0: %q", d.buildEnv)
	}
	if d.finalFrom != "scratch" {
		t.Errorf("final image FROM %s, want scratch", d.finalFrom)
	}
	if !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(d.user) {
		t.Errorf("USER %q, want a numeric uid:gid other than root", d.user)
	}
	if d.chowned[d.volume] != d.user {
		t.Errorf("the data directory %s is owned by %q, the user is %q", d.volume, d.chowned[d.volume], d.user)
	}
	if d.env["TRIBUTARY_DATA_DIR"] != d.volume {
		t.Errorf("data dir %q is not the VOLUME %q", d.env["TRIBUTARY_DATA_DIR"], d.volume)
	}
	if want := "0.0.0.0:" + d.expose; d.env["TRIBUTARY_LISTEN"] != want {
		t.Errorf("listens on %q, want %q (EXPOSE %s)", d.env["TRIBUTARY_LISTEN"], want, d.expose)
	}
	if !slices.Equal(d.entrypoint, []string{"/tributary", "serve"}) {
		t.Errorf("ENTRYPOINT %q", d.entrypoint)
	}
	if len(d.healthcheck) < 2 || d.healthcheck[0] != "/tributary" || d.healthcheck[1] != "health" ||
		!slices.Contains(d.healthcheck, "http://127.0.0.1:"+d.expose) {
		t.Errorf("HEALTHCHECK %q, want /tributary health on port %s", d.healthcheck, d.expose)
	}
	// Every variable of ENV is a serve option's.
	for k := range d.env {
		if !slices.ContainsFunc(serveOptions(), func(o serveOption) bool { return o.env == k }) {
			t.Errorf("ENV %s is no option of tributary serve", k)
		}
	}
}

// imageVersion is the VERSION the image test builds with.
const imageVersion = "v0.0.0-image-test"

// TestImageBinaryInEmptyRoot builds the binary with the Dockerfile's own
// go build command and runs it as the image would: alone in an empty root
// directory (no /etc, no /tmp, no shell), as the image's user, with its
// environment, entry point and health check. The server must start,
// store and return a record for the AWS SDK, answer the health check
// run inside the root, and exit 0 on SIGTERM.
func TestImageBinaryInEmptyRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a static binary")
	}
	d := parseDockerfile(t, filepath.Join("..", "..", "deploy", "Dockerfile"))
	// How to enter the root: chroot as root; without root, in a user
	// namespace where we are root, but then as that root, not the image's
	// user (unmapped there).
	var enter func(args ...string) *exec.Cmd
	asImageUser := os.Geteuid() == 0
	switch {
	case asImageUser:
	case exec.Command("unshare", "--map-root-user", "true").Run() == nil:
		t.Logf("not root: running in a user namespace, as its root rather than as %s", d.user)
	case os.Getenv("CI") == "true":
		t.Fatal("cannot chroot: not root, and unshare --map-root-user fails")
	default:
		t.Skip("cannot chroot: not root, and unshare --map-root-user fails")
	}

	root := t.TempDir()
	// The image's / is readable by everyone; TempDir's mode is 0700.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	enter = func(args ...string) *exec.Cmd {
		var cmd *exec.Cmd
		if asImageUser {
			cmd = exec.Command("chroot", append([]string{"--userspec=" + d.user, root}, args...)...)
		} else {
			cmd = exec.Command("unshare", append([]string{"--map-root-user", "chroot", root}, args...)...)
		}
		// The image's environment and nothing of ours.
		cmd.Env = nil
		for k, v := range d.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		return cmd
	}

	// The Dockerfile's build, writing into the root as COPY puts it there.
	binary := filepath.Join(root, strings.TrimPrefix(d.entrypoint[0], "/"))
	args := slices.Clone(d.build)
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "${VERSION}", imageVersion)
		if i > 0 && args[i-1] == "-o" {
			args[i] = binary
		}
	}
	build := exec.Command(args[0], args[1:]...)
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), d.buildEnv...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	// Static: no program interpreter (ld.so) to load it and no shared
	// libraries, as the ELF headers say and as ldd finds.
	if bin, err := elf.Open(binary); err != nil {
		t.Error(err)
	} else {
		for _, prog := range bin.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Error("the binary has a program interpreter: it is dynamically linked")
			}
		}
		if libs, err := bin.ImportedLibraries(); err != nil || len(libs) > 0 {
			t.Errorf("the binary needs shared libraries %q (%v)", libs, err)
		}
		bin.Close()
	}
	if out, err := exec.Command("ldd", binary).CombinedOutput(); err == nil || !strings.Contains(string(out), "not a dynamic executable") {
		t.Errorf("ldd says %q (%v), want not a dynamic executable", out, err)
	}
	// The volume's directory, as the image makes it.
	data := filepath.Join(root, strings.TrimPrefix(d.volume, "/"))
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	uid, gid := 0, 0
	if asImageUser {
		if _, err := fmt.Sscanf(d.user, "%d:%d", &uid, &gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(data, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 2 {
		t.Fatalf("the root holds %d entries, want the binary and the data directory", len(entries))
	}

	if out, err := enter("/tributary", "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "tributary "+imageVersion+"\n") {
		t.Errorf("tributary version in the root: %q, %v", out, err)
	}

	// docker run's arguments go after the ENTRYPOINT: a free loopback
	// port rather than 4567 on every interface, and a short shutdown
	// delay so that the delay's timer runs too.
	p := startCmd(t, enter(append(slices.Clone(d.entrypoint), "--listen", "127.0.0.1:0", "--shutdown-delay", "100ms")...))
	if asImageUser {
		status, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
		want := "\nUid:\t" + strconv.Itoa(uid) + "\t"
		if err != nil || !strings.Contains(string(status), want) {
			t.Errorf("the server does not run as uid %d: %v\n%s", uid, err, status)
		}
	}

	ctx := context.Background()
	c := testClient(p.addr)
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("img"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	// The image keeps AWS's CREATING delay.
	err := sdk.NewStreamExistsWaiter(c, func(o *sdk.StreamExistsWaiterOptions) { o.MinDelay, o.MaxDelay = 50*time.Millisecond, time.Second }).
		Wait(ctx, &sdk.DescribeStreamInput{StreamName: aws.String("img")}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	put, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("img"), PartitionKey: aws.String("k"), Data: []byte("in the image")})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, ctx, c, shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: aws.String("img"), ShardId: put.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
	if len(recs) != 1 || string(recs[0].Data) != "in the image" || aws.ToString(recs[0].SequenceNumber) != aws.ToString(put.SequenceNumber) {
		t.Errorf("read back %d records: %+v", len(recs), recs)
	}

	// The HEALTHCHECK, run inside the root, against this server's port.
	hc := slices.Clone(d.healthcheck)
	for i := range hc {
		hc[i] = strings.ReplaceAll(hc[i], "http://127.0.0.1:"+d.expose, "http://"+p.addr)
	}
	if out, err := enter(hc...).CombinedOutput(); err != nil || !strings.Contains(string(out), "/health/ready: ok") {
		t.Errorf("health check in the root: %q, %v", out, err)
	}

	// What the server wrote is the image user's.
	err = filepath.WalkDir(data, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && asImageUser && (int(st.Uid) != uid || int(st.Gid) != gid) {
			return errors.New(path + " is owned by " + strconv.Itoa(int(st.Uid)) + ":" + strconv.Itoa(int(st.Gid)))
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit status %d after SIGTERM; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `msg=stopped`) {
		t.Errorf("no stopped record after SIGTERM:\n%s", p.stderr.String())
	}
}
