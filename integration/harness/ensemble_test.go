package harness

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseSrvr(t *testing.T) {
	leader := "Zookeeper version: 3.8.0-x, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\n" +
		"Received: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x100000003\nMode: leader\nNode count: 5\n"
	if st := ParseSrvr(leader); st.Mode != ModeLeader || st.Zxid != 0x100000003 || st.Err != nil {
		t.Errorf("leader reply: %+v", st)
	}
	if st := ParseSrvr(notServing + "\n"); st.Mode != "" || st.String() != "not serving" {
		t.Errorf("not serving: %+v %q", st, st.String())
	}
}

func testMembers(voters, observers int) []*Member {
	var ms []*Member
	for i := range voters + observers {
		id := i + 1
		ms = append(ms, &Member{ID: id, Observer: i >= voters, ClientPort: 1000 + 10*id,
			QuorumPort: 1001 + 10*id, ElectionPort: 1002 + 10*id, cfg: Config{Gid: 500 + uint32(id)}})
	}
	return ms
}

func TestReadiness(t *testing.T) {
	e := &Ensemble{members: testMembers(3, 1)}
	st := func(modes ...string) map[int]MemberStatus {
		m := map[int]MemberStatus{}
		for i, mode := range modes {
			m[i+1] = MemberStatus{Mode: mode}
		}
		return m
	}
	all := []int{1, 2, 3, 4}
	tests := []struct {
		name     string
		ids      []int
		statuses map[int]MemberStatus
		leader   int
		missing  string
	}{
		{"ready", all, st("follower", "leader", "follower", "observer"), 2, ""},
		{"no leader", all, st("follower", "follower", "follower", "observer"), 0, "no leader"},
		{"two leaders", all, st("leader", "leader", "follower", "observer"), 0, "members 1 and 2 both lead"},
		{"observer says follower", all, st("follower", "leader", "follower", "follower"), 0, "member 4: follower"},
		{"one not serving", all, st("follower", "leader", "", "observer"), 0, "member 3: not serving"},
		{"left out", []int{1, 2, 4}, st("follower", "leader", "leader", "observer"), 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leader, missing := e.readiness(tt.ids, tt.statuses)
			if leader != tt.leader || !strings.Contains(missing, tt.missing) {
				t.Errorf("readiness = %d, %q; want %d, %q", leader, missing, tt.leader, tt.missing)
			}
		})
	}
}

func TestServerLines(t *testing.T) {
	lines := ServerLines(testMembers(2, 1))
	want := map[string]string{
		"server.1": "127.0.0.1:1011:1012:participant;127.0.0.1:1010",
		"server.2": "127.0.0.1:1021:1022:participant;127.0.0.1:1020",
		"server.3": "127.0.0.1:1031:1032:observer;127.0.0.1:1030",
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("server lines %v, want %v", lines, want)
	}
}

func TestNewMembersConfig(t *testing.T) {
	c, err := EnsembleConfig{Voters: 2, Observers: 1, TickTimeMs: 100, Member: Config{Extra: map[string]string{"forceSync": "no"}}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := newMembers(c, t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int]bool{}
	for _, m := range ms {
		for _, p := range []int{m.ClientPort, m.QuorumPort, m.ElectionPort} {
			if ports[p] {
				t.Errorf("port %d handed out twice", p)
			}
			ports[p] = true
		}
		cfg := m.Config().zooCfg()
		for _, want := range []string{"tickTime=100\n", "initLimit=10\n", "syncLimit=5\n", "forceSync=no\n",
			"clientPort=" + strconv.Itoa(m.ClientPort) + "\n", "server.3=" + ms[2].ServerLine() + "\n"} {
			if !strings.Contains(cfg, want) {
				t.Errorf("member %d zoo.cfg lacks %q:\n%s", m.ID, strings.TrimSpace(want), cfg)
			}
		}
		if got := strings.Contains(cfg, "peerType=observer"); got != m.Observer {
			t.Errorf("member %d (observer %v): peerType=observer present = %v", m.ID, m.Observer, got)
		}
		if m.Gid() != 1<<30+uint32(m.ID) || m.Config().MyID != m.ID {
			t.Errorf("member %d: gid %d myid %d", m.ID, m.Gid(), m.Config().MyID)
		}
	}
	if _, err := (EnsembleConfig{Voters: 1}).withDefaults(); err == nil {
		t.Error("a one-voter ensemble was accepted")
	}
}

func TestCutRules(t *testing.T) {
	f := &netfilter{table: "zabkafka_1_1", members: testMembers(3, 0)}
	rules, err := f.cutRules([][]int{{1}})
	if err != nil {
		t.Fatal(err)
	}
	// Member 1 against 2 and 3, both directions of either's connections: 4 pairs, 2 rules each.
	for _, want := range []string{
		"flush chain inet zabkafka_1_1 cut\n",
		"add rule inet zabkafka_1_1 cut ct mark 501 tcp dport { 1021, 1022 } drop\n",
		"add rule inet zabkafka_1_1 cut ct mark 501 tcp sport { 1031, 1032 } drop\n",
		"add rule inet zabkafka_1_1 cut ct mark 502 tcp dport { 1011, 1012 } drop\n",
		"add rule inet zabkafka_1_1 cut ct mark 503 tcp sport { 1011, 1012 } drop\n",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("rules lack %q:\n%s", want, rules)
		}
	}
	if n := strings.Count(rules, "drop"); n != 8 {
		t.Errorf("%d drop rules, want 8:\n%s", n, rules)
	}
	if strings.Contains(rules, "ct mark 502 tcp dport { 1031") {
		t.Errorf("members 2 and 3 are cut from each other:\n%s", rules)
	}
	for _, bad := range [][][]int{{{1}, {1}}, {{7}}} {
		if _, err := f.cutRules(bad); err == nil {
			t.Errorf("groups %v accepted", bad)
		}
	}
}

// The partition mechanism on real sockets, without ZooKeeper: this test binary, run again
// as a helper process with a member's group id, plays member B's listener and member A's
// dialer (TestMain dispatches on envHelper).
const envHelper = "HARNESS_NET_HELPER"

// runNetHelper is "listen <port>" (echo every line back), "listen-reset <port>" (echo
// one line, then reset the connection), "dial <port>" (send a line,
// print the reply or the error, exit), or "hold <port> <local port>": dial from that local
// port, and for every line on stdin send a line and print the reply or the error.
func runNetHelper(spec string) {
	verb, port, _ := strings.Cut(spec, " ")
	port, local, _ := strings.Cut(port, " ")
	addr := "127.0.0.1:" + port
	switch verb {
	case "hold":
		lport, _ := strconv.Atoi(local)
		d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lport}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(0)
		}
		replies := bufio.NewReader(c)
		for in := bufio.NewScanner(os.Stdin); in.Scan(); {
			c.SetDeadline(time.Now().Add(time.Second))
			fmt.Fprintln(c, "ping")
			line, err := replies.ReadString('\n')
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(0)
			}
			fmt.Print("reply: ", line)
		}
		os.Exit(0)
	case "listen", "listen-reset":
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Println("listen:", err)
			os.Exit(1)
		}
		fmt.Println("listening")
		for {
			c, err := l.Accept()
			if err != nil {
				os.Exit(0)
			}
			if verb == "listen-reset" {
				// Echo one line, then reset the connection from this side.
				line, _ := bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, line)
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	case "dial":
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(0)
		}
		c.SetDeadline(time.Now().Add(time.Second))
		fmt.Fprintln(c, "ping")
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(0)
		}
		fmt.Print("reply: ", line)
		os.Exit(0)
	}
	os.Exit(2)
}

func helperCmd(t *testing.T, gid uint32, spec string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+spec)
	cmd.SysProcAttr = sysProcAttr(Config{Gid: gid})
	return cmd
}

// netfilterMembers makes n members with fresh ports and group ids, their nftables table
// (deleted when the test ends), and one more free port.
func netfilterMembers(t *testing.T, n int) ([]*Member, *netfilter, int) {
	t.Helper()
	if err := PartitionsSupported(); err != nil {
		t.Skip(err)
	}
	ports, err := freePorts(2*n + 1)
	if err != nil {
		t.Fatal(err)
	}
	base := nextGidBase()
	var members []*Member
	for i := range n {
		members = append(members, &Member{ID: i + 1, QuorumPort: ports[2*i], ElectionPort: ports[2*i+1],
			cfg: Config{Gid: base + uint32(i) + 1}})
	}
	f, err := newNetfilter(members)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.close(); err != nil {
			t.Error(err)
		}
	})
	return members, f, ports[2*n]
}

// startListener runs a "listen" or "listen-reset" helper on m's quorum port, as m, until
// the returned stop.
func startListener(t *testing.T, m *Member, verb string) (stop func()) {
	t.Helper()
	cmd := helperCmd(t, m.Gid(), verb+" "+strconv.Itoa(m.QuorumPort))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "listening\n" {
		stop()
		t.Fatalf("listener: %q", line)
	}
	return stop
}

func TestNetfilterPartition(t *testing.T) {
	members, f, _ := netfilterMembers(t, 2)
	a, b := members[0], members[1]
	defer startListener(t, b, "listen")()

	dial := func(gid uint32) string {
		out, err := helperCmd(t, gid, "dial "+strconv.Itoa(b.QuorumPort)).Output()
		if err != nil {
			t.Fatalf("dial helper: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := dial(a.Gid()); got != "reply: ping" {
		t.Fatalf("before the partition, member 1 to member 2: %q", got)
	}
	if err := f.partition([][]int{{1}}); err != nil {
		t.Fatal(err)
	}
	if got := dial(a.Gid()); !strings.HasPrefix(got, "error:") {
		t.Errorf("during the partition, member 1 reached member 2: %q", got)
	}
	if got := dial(0); got != "reply: ping" {
		t.Errorf("during the partition, a client (no member group) did not reach member 2: %q", got)
	}
	if err := f.heal(); err != nil {
		t.Fatal(err)
	}
	if got := dial(a.Gid()); got != "reply: ping" {
		t.Errorf("after healing, member 1 to member 2: %q", got)
	}
}

// A connection that reuses the 4-tuple of one that the other end reset (a member killed
// with unread data; Linux picks the ephemeral ports for one destination in a fixed
// sequence, so the next dial to the restarted member may well use the same port) must be
// cut like any other. Conntrack keeps the reset connection's entry for 10 s, in state
// CLOSE, and takes the new SYN as part of it instead of a new connection, so marking only
// "ct state new" left the new connection with the first dialer's mark: here member 3's,
// which is on member 2's side of the partition, so member 1 kept talking to member 2.
func TestNetfilterPartitionReusedTuple(t *testing.T) {
	members, f, local := netfilterMembers(t, 3)
	one, two, three := members[0], members[1], members[2]
	target := strconv.Itoa(two.QuorumPort)
	hold := func(gid uint32) (send func() string, stop func()) {
		cmd := helperCmd(t, gid, "hold "+target+" "+strconv.Itoa(local))
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		outPipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		out := bufio.NewReader(outPipe)
		send = func() string {
			fmt.Fprintln(in, "go")
			line, _ := out.ReadString('\n')
			return strings.TrimSpace(line)
		}
		stop = func() { in.Close(); cmd.Wait() }
		return send, stop
	}

	// Member 3 talks to member 2, whose end resets the connection (as a killed process
	// with unread data does).
	stopListener := startListener(t, two, "listen-reset")
	send, stop := hold(three.Gid())
	if got := send(); got != "reply: ping" {
		t.Fatalf("member 3 to member 2: %q", got)
	}
	stop()
	stopListener()
	// Member 2 comes back; member 1 dials it from the same local port.
	defer startListener(t, two, "listen")()
	send, stop = hold(one.Gid())
	defer stop()
	if got := send(); got != "reply: ping" {
		t.Fatalf("member 1 to member 2 before the partition: %q", got)
	}
	if err := f.partition([][]int{{1}}); err != nil {
		t.Fatal(err)
	}
	if got := send(); !strings.HasPrefix(got, "error:") {
		t.Errorf("member 1 reached member 2 across the partition on a reused tuple: %q", got)
	}
}
