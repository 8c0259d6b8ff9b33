package integration

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// The checks below follow Kafka's formats (reference/kafka.md section 1),
// written out here rather than taken from broker/zkmeta, so the test is a
// second opinion on the encoders.

var (
	base64UUID = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	digits     = regexp.MustCompile(`^[0-9]+$`)
)

type zkReader struct {
	t      *testing.T
	conn   *zk.Conn
	chroot string
}

func (r zkReader) get(path string) ([]byte, *zk.Stat) {
	r.t.Helper()
	data, stat, err := r.conn.Get(r.chroot + path)
	if err != nil {
		r.t.Fatalf("get %s%s: %v", r.chroot, path, err)
	}
	return data, stat
}

func (r zkReader) exists(path string) bool {
	r.t.Helper()
	ok, _, err := r.conn.Exists(r.chroot + path)
	if err != nil {
		r.t.Fatalf("exists %s: %v", path, err)
	}
	return ok
}

// object decodes a znode as a JSON object, keeping numbers as json.Number
// so integers and strings can be told apart.
func (r zkReader) object(path string) (map[string]any, *zk.Stat) {
	r.t.Helper()
	data, stat := r.get(path)
	return r.decode(path, data), stat
}

// objectIfExists is object for an ephemeral znode that may vanish at any
// moment (a controller's session expiring): nil if it is not there.
func (r zkReader) objectIfExists(path string) map[string]any {
	r.t.Helper()
	data, _, err := r.conn.Get(r.chroot + path)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		r.t.Fatalf("get %s%s: %v", r.chroot, path, err)
	}
	return r.decode(path, data)
}

func (r zkReader) decode(path string, data []byte) map[string]any {
	r.t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		r.t.Fatalf("%s is not a JSON object: %q: %v", path, data, err)
	}
	return m
}

func wantInt(t *testing.T, path string, m map[string]any, key string, want int64) {
	t.Helper()
	n, ok := m[key].(json.Number)
	if !ok {
		t.Fatalf("%s: %q is %T (%v), want a JSON integer", path, key, m[key], m[key])
	}
	if v, err := n.Int64(); err != nil || (want != anyInt && v != want) {
		t.Fatalf("%s: %q = %v, want %d", path, key, n, want)
	}
}

const anyInt = -1 << 62

func intOf(t *testing.T, m map[string]any, key string) int64 {
	t.Helper()
	n, ok := m[key].(json.Number)
	if !ok {
		t.Fatalf("%q is %T, want a JSON integer", key, m[key])
	}
	v, _ := n.Int64()
	return v
}

func wantString(t *testing.T, path string, m map[string]any, key string, re *regexp.Regexp) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok {
		t.Fatalf("%s: %q is %T (%v), want a JSON string", path, key, m[key], m[key])
	}
	if re != nil && !re.MatchString(s) {
		t.Fatalf("%s: %q = %q does not match %s", path, key, s, re)
	}
	return s
}

func intList(t *testing.T, path string, v any) []int64 {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: %v is %T, want an array of integers", path, v, v)
	}
	out := make([]int64, len(arr))
	for i, x := range arr {
		n, ok := x.(json.Number)
		if !ok {
			t.Fatalf("%s: element %v is %T", path, x, x)
		}
		out[i], _ = n.Int64()
	}
	return out
}

// TestBrokerdZooKeeperLayout reads every znode three brokerd processes write
// (under a chroot) and checks Kafka's fields, types and versions; then kills
// the controller, lets a broker's session expire, and freezes a controller
// to check the epoch fencing of its successor.
func TestBrokerdZooKeeperLayout(t *testing.T) {
	const chroot = "/kafka"
	zkd := zkdForBrokers(t)
	c := &brokerCluster{t: t, zk: zkd}
	for id := int32(1); id <= 3; id++ {
		c.brokers = append(c.brokers, harness.StartBrokerdT(t, harness.BrokerdConfig{ID: id, ZooKeeper: zkd.Addr() + chroot}))
	}
	r := zkReader{t: t, conn: connect(t, zkd.Addr()), chroot: chroot}
	outer := t // restarted brokers must outlive the subtest that restarts them
	ctx := timeoutCtx(t, 120*time.Second)

	t.Run("persistent paths", func(t *testing.T) {
		for _, p := range []string{"/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes",
			"/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block", "/log_dir_event_notification",
			"/config/topics", "/config/clients", "/config/users", "/config/brokers", "/config/ips"} {
			if _, stat := r.get(p); stat.EphemeralOwner != 0 {
				t.Errorf("%s is ephemeral", p)
			}
		}
	})

	var clusterID string
	t.Run("cluster id and meta.properties", func(t *testing.T) {
		m, _ := r.object("/cluster/id")
		if v, ok := m["version"].(string); !ok || v != "1" {
			t.Fatalf(`/cluster/id version is %#v, want the string "1"`, m["version"])
		}
		clusterID = wantString(t, "/cluster/id", m, "id", base64UUID)
		for _, b := range c.brokers {
			props, err := os.ReadFile(filepath.Join(b.Config().LogDir(), "meta.properties"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"version=0", "broker.id=" + strconv.Itoa(int(b.ID())), "cluster.id=" + clusterID} {
				if !strings.Contains(string(props), want+"\n") {
					t.Fatalf("meta.properties of broker %d lacks %q:\n%s", b.ID(), want, props)
				}
			}
		}
	})

	t.Run("broker registrations", func(t *testing.T) {
		ids, _, err := r.conn.Children(chroot + "/brokers/ids")
		if err != nil || len(ids) != 3 {
			t.Fatalf("/brokers/ids children %v (%v), want 3", ids, err)
		}
		for _, b := range c.brokers {
			path := "/brokers/ids/" + strconv.Itoa(int(b.ID()))
			m, stat := r.object(path)
			if stat.EphemeralOwner == 0 {
				t.Fatalf("%s is not ephemeral", path)
			}
			wantInt(t, path, m, "version", 5)
			wantInt(t, path, m, "port", int64(b.Config().Port))
			wantInt(t, path, m, "jmx_port", -1)
			wantString(t, path, m, "host", regexp.MustCompile(`^127\.0\.0\.1$`))
			wantString(t, path, m, "timestamp", digits)
			eps, ok := m["endpoints"].([]any)
			if !ok || len(eps) != 1 || eps[0] != "PLAINTEXT://"+b.Addr() {
				t.Fatalf("%s endpoints %v", path, m["endpoints"])
			}
			lsp, ok := m["listener_security_protocol_map"].(map[string]any)
			if !ok || len(lsp) != 1 || lsp["PLAINTEXT"] != "PLAINTEXT" {
				t.Fatalf("%s listener_security_protocol_map %v", path, m["listener_security_protocol_map"])
			}
			if f, ok := m["features"].(map[string]any); !ok || len(f) != 0 {
				t.Fatalf("%s features %v, want {}", path, m["features"])
			}
		}
	})

	var controllerID, epoch int64
	t.Run("controller", func(t *testing.T) {
		m, stat := r.object("/controller")
		if stat.EphemeralOwner == 0 {
			t.Fatal("/controller is not ephemeral")
		}
		if v := intOf(t, m, "version"); v != 1 && v != 2 {
			t.Fatalf("/controller version %d", v)
		}
		controllerID = intOf(t, m, "brokerid")
		wantString(t, "/controller", m, "timestamp", digits)
		data, _ := r.get("/controller_epoch")
		if !digits.Match(data) {
			t.Fatalf("/controller_epoch is %q, want a bare decimal", data)
		}
		epoch, _ = strconv.ParseInt(string(data), 10, 64)
		if epoch < 1 {
			t.Fatalf("controller epoch %d", epoch)
		}
	})

	t.Run("topic znodes", func(t *testing.T) {
		retention := "7200000"
		createTopicAndWait(t, c.seeds(), "layout", 3, map[string]*string{"retention.ms": &retention})
		cfg, _ := r.object("/config/topics/layout")
		wantInt(t, "/config/topics/layout", cfg, "version", 1)
		if conf, ok := cfg["config"].(map[string]any); !ok || conf["retention.ms"] != "7200000" {
			t.Fatalf("/config/topics/layout config %v", cfg["config"])
		}
		ta, _ := r.object("/brokers/topics/layout")
		wantInt(t, "/brokers/topics/layout", ta, "version", 3)
		wantString(t, "/brokers/topics/layout", ta, "topic_id", base64UUID)
		for _, k := range []string{"adding_replicas", "removing_replicas"} {
			if m, ok := ta[k].(map[string]any); !ok || len(m) != 0 {
				t.Fatalf("%s is %v, want {}", k, ta[k])
			}
		}
		parts, ok := ta["partitions"].(map[string]any)
		if !ok || len(parts) != 3 {
			t.Fatalf("partitions %v", ta["partitions"])
		}
		for p := 0; p < 3; p++ {
			replicas := intList(t, "partitions", parts[strconv.Itoa(p)])
			if len(replicas) != 1 {
				t.Fatalf("partition %d replicas %v", p, replicas)
			}
			path := "/brokers/topics/layout/partitions/" + strconv.Itoa(p) + "/state"
			st, _ := r.object(path)
			wantInt(t, path, st, "version", 1)
			wantInt(t, path, st, "leader", replicas[0])
			wantInt(t, path, st, "leader_epoch", 0)
			wantInt(t, path, st, "controller_epoch", epoch)
			if isr := intList(t, path, st["isr"]); len(isr) != 1 || isr[0] != replicas[0] {
				t.Fatalf("%s isr %v", path, isr)
			}
		}
	})

	t.Run("config change notification", func(t *testing.T) {
		adm := kadm.NewClient(kgoClient(t, c.seeds()))
		v := "3600000"
		resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: &v}}, "layout")
		if err != nil || resp[0].Err != nil {
			t.Fatalf("alter: %v %v", err, resp)
		}
		names, _, err := r.conn.Children(chroot + "/config/changes")
		if err != nil || len(names) == 0 {
			t.Fatalf("/config/changes: %v %v", names, err)
		}
		seqName := regexp.MustCompile(`^config_change_[0-9]{10}$`)
		found := false
		for _, n := range names {
			if !seqName.MatchString(n) {
				t.Fatalf("notification name %q", n)
			}
			m, _ := r.object("/config/changes/" + n)
			wantInt(t, n, m, "version", 2)
			if m["entity_path"] == "topics/layout" {
				found = true
			}
		}
		if !found {
			t.Fatal("no notification for topics/layout")
		}
	})

	t.Run("delete marker", func(t *testing.T) {
		// A topic with a partition on a dead broker cannot finish its
		// deletion, so /admin/delete_topics/<t> stays for inspection.
		createTopicAndWait(t, c.seeds(), "doomed", 3, nil)
		ta, _ := r.object("/brokers/topics/doomed")
		parts := ta["partitions"].(map[string]any)
		var victim *harness.Brokerd
		for _, b := range c.brokers {
			if int64(b.ID()) != controllerID && intList(t, "p", parts["0"])[0] == int64(b.ID()) {
				victim = b
			}
		}
		if victim == nil {
			for p := 1; p < 3 && victim == nil; p++ {
				for _, b := range c.brokers {
					if int64(b.ID()) != controllerID && intList(t, "p", parts[strconv.Itoa(p)])[0] == int64(b.ID()) {
						victim = b
						break
					}
				}
			}
		}
		if victim == nil {
			t.Fatal("no partition of doomed on a non-controller broker")
		}
		victim.Kill()
		pollUntil(t, 20*time.Second, "the dead broker's registration to vanish", func() bool {
			return !r.exists("/brokers/ids/" + strconv.Itoa(int(victim.ID())))
		})
		adm := kadm.NewClient(kgoClient(t, c.seeds()))
		if _, err := adm.DeleteTopics(ctx, "doomed"); err != nil {
			t.Fatal(err)
		}
		data, stat := r.get("/admin/delete_topics/doomed")
		if len(data) != 0 || stat.EphemeralOwner != 0 {
			t.Fatalf("/admin/delete_topics/doomed holds %q (owner %x), want no data, persistent", data, stat.EphemeralOwner)
		}
		for i, b := range c.brokers {
			if b == victim {
				c.brokers[i] = harness.RestartBrokerdT(outer, victim)
			}
		}
		pollUntil(t, 30*time.Second, "the deletion to finish once the broker is back", func() bool {
			return !r.exists("/admin/delete_topics/doomed") && !r.exists("/brokers/topics/doomed") && !r.exists("/config/topics/doomed")
		})
	})

	t.Run("controller failover", func(t *testing.T) {
		old := c.broker(int32(controllerID))
		old.Kill()
		var next map[string]any
		pollUntil(t, 30*time.Second, "a new controller", func() bool {
			next = r.objectIfExists("/controller")
			return next != nil && intOf(t, next, "brokerid") != controllerID
		})
		data, _ := r.get("/controller_epoch")
		got, _ := strconv.ParseInt(string(data), 10, 64)
		if got != epoch+1 {
			t.Fatalf("controller epoch after failover %d, want %d", got, epoch+1)
		}
		if r.exists("/brokers/ids/" + strconv.Itoa(int(controllerID))) {
			pollUntil(t, 20*time.Second, "the killed broker's registration to vanish with its session", func() bool {
				return !r.exists("/brokers/ids/" + strconv.Itoa(int(controllerID)))
			})
		}
		for i, b := range c.brokers {
			if b == old {
				c.brokers[i] = harness.RestartBrokerdT(outer, old)
			}
		}
		controllerID, epoch = intOf(t, next, "brokerid"), got
	})

	t.Run("frozen controller is fenced", func(t *testing.T) {
		frozen := c.broker(int32(controllerID))
		_, regStat := r.get("/brokers/ids/" + strconv.Itoa(int(controllerID)))
		// Write a topic assignment as an admin tool would, and freeze the
		// controller at once: it may be in the middle of handling it.
		assignment := `{"version":3,"partitions":{"0":[` + strconv.Itoa(int(c.brokers[0].ID())) + `]},"adding_replicas":{},"removing_replicas":{},"topic_id":"AAAAAAAAAAAAAAAAAAAAAQ"}`
		if _, err := r.conn.Create(chroot+"/brokers/topics/zombie-test", []byte(assignment), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if err := frozen.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		var next map[string]any
		pollUntil(t, 30*time.Second, "a successor while the controller is frozen", func() bool {
			next = r.objectIfExists("/controller")
			return next != nil && intOf(t, next, "brokerid") != controllerID
		})
		data, _ := r.get("/controller_epoch")
		successorEpoch, _ := strconv.ParseInt(string(data), 10, 64)
		if successorEpoch != epoch+1 {
			t.Fatalf("successor epoch %d, want %d", successorEpoch, epoch+1)
		}
		statePath := "/brokers/topics/zombie-test/partitions/0/state"
		pollUntil(t, 20*time.Second, "the successor to create the new partition", func() bool { return r.exists(statePath) })
		before, beforeStat := r.object(statePath)
		if err := frozen.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		// The old controller wakes up with a dead session: it re-registers
		// (a new broker epoch) and must not have written anything.
		pollUntil(t, 30*time.Second, "the resumed broker to register again", func() bool {
			ok, stat, err := r.conn.Exists(chroot + "/brokers/ids/" + strconv.Itoa(int(controllerID)))
			return err == nil && ok && stat.Czxid > regStat.Czxid
		})
		time.Sleep(time.Second) // give a zombie write the chance to land, if it could
		if strings.Contains(frozen.LogTail(60), "controller moved") {
			t.Log("the resumed controller tried a write and ZooKeeper refused it (epoch zkVersion check)")
		}
		data, _ = r.get("/controller_epoch")
		if got, _ := strconv.ParseInt(string(data), 10, 64); got != successorEpoch {
			t.Fatalf("controller epoch changed to %d after the frozen controller resumed", got)
		}
		now, _ := r.object("/controller")
		if intOf(t, now, "brokerid") != intOf(t, next, "brokerid") {
			t.Fatalf("/controller moved back to %v", now["brokerid"])
		}
		// The state is written by whichever controller handled the new topic:
		// the frozen one, if it got there in the instant before SIGSTOP (its
		// epoch; the successor then finds the partition online and leaves it),
		// or the successor. Either way nothing may rewrite it after the resume.
		switch writer := intOf(t, before, "controller_epoch"); writer {
		case epoch:
			t.Log("the frozen controller wrote the partition state before it was stopped")
		case successorEpoch:
		default:
			t.Fatalf("partition state written by controller epoch %d, want %d or %d", writer, epoch, successorEpoch)
		}
		after, afterStat := r.object(statePath)
		if afterStat.Version != beforeStat.Version || intOf(t, after, "controller_epoch") != intOf(t, before, "controller_epoch") ||
			intOf(t, after, "leader_epoch") != intOf(t, before, "leader_epoch") {
			t.Fatalf("partition state rewritten after the resume: %v (v%d) -> %v (v%d)", before, beforeStat.Version, after, afterStat.Version)
		}
	})
}
