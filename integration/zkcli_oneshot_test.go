package integration

// zkcli in one-shot mode (`zkcli -server addr cmd args`): exit statuses and
// error lines for bad input, dump/load of a subtree, and a recursive
// listing of a large tree.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// zkcliRun runs one zkcli command and returns stdout, stderr and the exit
// status.
func zkcliRun(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(harness.ZkcliBin(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		status = exit.ExitCode()
	default:
		t.Fatalf("run zkcli %v: %v", args, err)
	}
	return out.String(), errb.String(), status
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestZkcliBadInput(t *testing.T) {
	s := startZkd(t)
	addr := s.Addr()
	c := connect(t, addr)
	if _, err := c.Create("/a", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	down := fmt.Sprintf("127.0.0.1:%d", port) // nothing listens there

	cases := []struct {
		name    string
		args    []string
		status  int
		stderr  []string // the last lines of stderr, in order
		noUsage bool
	}{
		{"unknown command", []string{"-server", addr, "frobnicate", "/"}, 127,
			[]string{"Command not found: Command not found frobnicate"}, false},
		{"unknown flag", []string{"-server", addr, "get", "-x", "/a"}, 1,
			[]string{"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"}, true},
		{"missing flag value", []string{"-server", addr, "set", "/a", "y", "-v"}, 1,
			[]string{"org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"}, true},
		{"bad version number", []string{"-server", addr, "set", "-v", "x", "/a", "y"}, 1,
			[]string{"-v argument must be an int value"}, true},
		{"bad ACL", []string{"-server", addr, "setAcl", "/a", "world:anyone"}, 1,
			[]string{"world:anyone does not have the form scheme:id:perm", "Acl is not valid : null"}, true},
		{"unknown permission", []string{"-server", addr, "create", "/b", "x", "world:anyone:rq"}, 0,
			[]string{"Unknown perm type: q", "Created /b"}, true},
		{"relative path", []string{"-server", addr, "get", "a"}, 1,
			[]string{"Path must start with / character"}, true},
		{"bad path", []string{"-server", addr, "create", "/a//b"}, 1,
			[]string{`Invalid path string "/a//b" caused by empty node name specified @3`}, true},
		{"missing node", []string{"-server", addr, "get", "/nope"}, 1,
			[]string{"Node does not exist: /nope"}, true},
		{"usage", []string{"-server", addr, "set", "/a"}, 1,
			[]string{"set [-s] [-v version] path data"}, true},
		{"server down", []string{"-server", down, "-timeout", "3000", "ls", "/"}, 1,
			[]string{"KeeperErrorCode = ConnectionLoss for /"}, true},
		{"bad connect string", []string{"-server", addr + "/chroot", "ls", "/"}, 1,
			[]string{`chroot "/chroot" in the connect string is not supported`}, true},
		{"bad timeout flag", []string{"-timeout", "soon", "ls", "/"}, 2,
			[]string{`Error: -timeout must be a positive number of milliseconds, not "soon"`}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, status := zkcliRun(t, tc.args...)
			if status != tc.status {
				t.Errorf("exit status %d, want %d; stderr:\n%s", status, tc.status, stderr)
			}
			for _, bad := range []string{"panic:", "goroutine ", ".go:"} {
				if strings.Contains(stderr, bad) {
					t.Fatalf("stderr has %q (a Go panic or trace):\n%s", bad, stderr)
				}
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) < len(tc.stderr) {
				t.Fatalf("stderr %q, want its last lines %q", stderr, tc.stderr)
			}
			got := lines[len(lines)-len(tc.stderr):]
			if strings.Join(got, "\n") != strings.Join(tc.stderr, "\n") {
				t.Errorf("stderr ends with\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.stderr, "\n"))
			}
			if tc.noUsage && strings.Contains(stderr, "ZooKeeper -server host:port") {
				t.Errorf("usage printed for a command that exists:\n%s", stderr)
			}
		})
	}
	// The server kept serving through all of it.
	if _, _, err := c.Get("/a"); err != nil {
		t.Fatal(err)
	}
}

func TestZkcliDumpLoad(t *testing.T) {
	src := startZkd(t)
	c := connect(t, src.Addr())
	digestACL := zk.DigestACL(zk.PermAll, "user", "pw")
	mustCreate := func(path string, data []byte, flags int32, acl []zk.ACL) {
		t.Helper()
		if _, err := c.Create(path, data, flags, acl); err != nil {
			t.Fatalf("create %s: %v", path, err)
		}
	}
	open := zk.WorldACL(zk.PermAll)
	mustCreate("/app", []byte("root"), 0, open)
	mustCreate("/app/text", []byte("héllo wörld"), 0, open)
	mustCreate("/app/bin", []byte{0xff, 0x00, 0xfe, 0x80}, 0, open)
	mustCreate("/app/null", nil, 0, open)
	mustCreate("/app/locked", []byte("secret"), 0, append(digestACL, zk.ACL{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}))
	mustCreate("/app/deep", nil, 0, open)
	mustCreate("/app/deep/er", []byte("1"), 0, zk.WorldACL(zk.PermRead|zk.PermAdmin))
	if _, err := c.CreateContainer("/app/box", []byte("c"), zk.FlagContainer, open); err != nil {
		t.Fatal(err)
	}
	mustCreate("/app/box/item", []byte("i"), 0, open)

	dir := t.TempDir()
	file := filepath.Join(dir, "app.json")
	if _, stderr, status := zkcliRun(t, "-server", src.Addr(), "dump", "/app", file); status != 0 {
		t.Fatalf("dump: status %d: %s", status, stderr)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) || !bytes.Contains(raw, []byte(`"encoding": "base64"`)) {
		t.Fatalf("dump is not JSON with base64 binary data:\n%s", raw)
	}

	dst := startZkd(t)
	if _, stderr, status := zkcliRun(t, "-server", dst.Addr(), "load", file); status != 0 {
		t.Fatalf("load: status %d: %s", status, stderr)
	}
	want := subtree(t, c, "/app")
	got := subtree(t, connect(t, dst.Addr()), "/app")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("loaded subtree differs:\nsource:\n%s\nloaded:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}

	// An ephemeral node in a dump is refused before anything is written.
	mustCreate("/app/session", []byte("e"), zk.FlagEphemeral, open)
	file2 := filepath.Join(dir, "eph.json")
	if _, stderr, status := zkcliRun(t, "-server", src.Addr(), "dump", "/app", file2); status != 0 {
		t.Fatalf("dump: %s", stderr)
	}
	empty := startZkd(t)
	_, stderr, status := zkcliRun(t, "-server", empty.Addr(), "load", file2)
	if status != 1 || !strings.Contains(lastLine(stderr), "cannot load /app/session: it is an ephemeral node") {
		t.Fatalf("load of an ephemeral: status %d, stderr %q", status, stderr)
	}
	if ok, _, _ := connect(t, empty.Addr()).Exists("/app"); ok {
		t.Fatal("a refused load wrote /app")
	}
}

// subtree describes every node under root: path, data, ACL and mode, one
// line each, in a fixed order. The digest scheme's ACLs are compared as
// stored.
func subtree(t *testing.T, c *zk.Conn, root string) []string {
	t.Helper()
	var out []string
	var walk func(p string)
	walk = func(p string) {
		data, stat, err := c.Get(p)
		if err != nil {
			// A node the reader may not read: still compare its ACL.
			data = []byte("<" + err.Error() + ">")
		}
		acl, stat2, err := c.GetACL(p)
		if err != nil {
			t.Fatalf("getAcl %s: %v", p, err)
		}
		if stat == nil {
			stat = stat2
		}
		mode := "persistent"
		switch {
		case stat.EphemeralOwner == -1<<63:
			mode = "container"
		case stat.EphemeralOwner != 0:
			mode = "ephemeral"
		}
		out = append(out, fmt.Sprintf("%s data=%q acl=%v mode=%s", p, data, acl, mode))
		kids, _, err := c.Children(p)
		if err != nil {
			t.Fatalf("children %s: %v", p, err)
		}
		slices.Sort(kids)
		for _, k := range kids {
			walk(p + "/" + k)
		}
	}
	walk(root)
	return out
}

// TestZkcliListsLargeTreeStreaming lists 100,000 znodes with ls -R: every
// node is printed once, in zkCli's order, and the first lines arrive while
// the walk is still going (the output streams).
func TestZkcliListsLargeTreeStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 100,000 znodes")
	}
	s := startZkd(t)
	c := connect(t, s.Addr())
	const parents, perParent = 100, 1000
	open := zk.WorldACL(zk.PermAll)
	for p := range parents {
		parent := fmt.Sprintf("/big%03d", p)
		ops := []any{&zk.CreateRequest{Path: parent, Acl: open}}
		for i := range perParent - 1 {
			ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("%s/n%04d", parent, i), Acl: open})
		}
		if _, err := c.Multi(ops...); err != nil {
			t.Fatalf("multi for %s: %v", parent, err)
		}
	}
	const total = parents * perParent

	cmd := exec.Command(harness.ZkcliBin(t), "-server", s.Addr(), "ls", "-R", "/")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var first time.Duration
	seen := map[string]bool{}
	var order []string
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "/") {
			continue // the connection banner
		}
		if first == 0 {
			first = time.Since(start)
		}
		if seen[l] {
			t.Fatalf("%s listed twice", l)
		}
		seen[l] = true
		if len(order) < 3 {
			order = append(order, l)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	all := time.Since(start)
	// The 100 parents with 999 children each, "/", and /zookeeper with
	// its two children.
	if want := total + 1 + 3; len(seen) != want {
		t.Fatalf("listed %d paths, want %d", len(seen), want)
	}
	if strings.Join(order, " ") != "/ /big000 /big001" {
		t.Fatalf("listing starts %v, want zkCli's order (root, then its children)", order)
	}
	t.Logf("ls -R of %d znodes: first line after %v, done after %v", len(seen), first, all)
	if first > all/2 {
		t.Errorf("first line after %v of %v: the listing does not stream", first, all)
	}
}

// TestZkcliExtras covers what zkcli adds to zkCli: tree, -o json, and
// four-letter words.
func TestZkcliExtras(t *testing.T) {
	s := startZkd(t)
	c := connect(t, s.Addr())
	open := zk.WorldACL(zk.PermAll)
	for _, n := range []struct {
		path string
		data []byte
	}{{"/t", []byte("abc")}, {"/t/a", nil}, {"/t/a/x", []byte("12345")}, {"/t/b", []byte{0xff, 0xfe}}} {
		if _, err := c.Create(n.path, n.data, 0, open); err != nil {
			t.Fatal(err)
		}
	}

	out, stderr, status := zkcliRun(t, "-server", s.Addr(), "tree", "/t")
	if status != 0 {
		t.Fatalf("tree: %d %s", status, stderr)
	}
	wantTree := "/t [3 B]\n|-- a [0 B]\n|   `-- x [5 B]\n`-- b [2 B]\n"
	if !strings.HasSuffix(out, wantTree) {
		t.Fatalf("tree output:\n%s\nwant it to end with:\n%s", out, wantTree)
	}

	out, _, status = zkcliRun(t, "-o", "json", "-server", s.Addr(), "get", "/t/b")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); status != 0 || err != nil {
		t.Fatalf("get -o json: status %d, %v: %q", status, err, out)
	}
	if got["data"] != "//4=" || got["encoding"] != "base64" || got["path"] != "/t/b" {
		t.Fatalf("get -o json of binary data: %v", got)
	}
	out, _, _ = zkcliRun(t, "-o", "json", "-server", s.Addr(), "ls", "/t")
	if strings.TrimSpace(out) != `{"children":["a","b"],"path":"/t"}` {
		t.Fatalf("ls -o json: %q", out)
	}
	_, stderr, status = zkcliRun(t, "-o", "json", "-server", s.Addr(), "get", "/missing")
	if status != 1 || strings.TrimSpace(stderr) != `{"error":"Node does not exist: /missing","status":1}` {
		t.Fatalf("error -o json: status %d, %q", status, stderr)
	}

	out, _, status = zkcliRun(t, "-server", s.Addr(), "ruok")
	if status != 0 || lastLine(out) != "imok" {
		t.Fatalf("ruok: status %d, %q", status, out)
	}
	out, _, _ = zkcliRun(t, "-server", s.Addr(), "mntr")
	if !strings.Contains(out, "zk_server_state\tstandalone") {
		t.Fatalf("mntr output lacks the server state:\n%s", out)
	}
}
