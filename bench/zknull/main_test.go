package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestGoZookeeperClient drives zknull with the client bench/zkload uses, through every op the
// load generator sends, so a benchmark against it measures answers the client accepted.
func TestGoZookeeperClient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var s server
	go s.serve(l)

	c, _, err := zk.Connect([]string{l.Addr().String()}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acl := zk.WorldACL(zk.PermAll)
	if p, err := c.Create("/a", []byte("x"), 0, acl); err != nil || p != "/a" {
		t.Fatalf("create = %q, %v", p, err)
	}
	p, err := c.Create("/a/n-", nil, zk.FlagSequence, acl)
	if err != nil || !strings.HasPrefix(p, "/a/n-") || len(p) != len("/a/n-")+10 {
		t.Fatalf("sequential create = %q, %v", p, err)
	}
	st, err := c.Set("/a", make([]byte, 100), -1)
	if err != nil {
		t.Fatal(err)
	}
	data, st2, err := c.Get("/a")
	if err != nil || len(data) != 100 || st2.Mzxid < st.Mzxid {
		t.Fatalf("get = %d bytes, %+v, %v (set's stat %+v)", len(data), st2, err, st)
	}
	if _, err := c.Multi(&zk.CreateRequest{Path: "/b", Flags: 0, Acl: acl}, &zk.DeleteRequest{Path: "/a", Version: -1}); err != nil {
		t.Fatal(err)
	}
	if kids, _, err := c.Children("/a"); err != nil || len(kids) != 0 {
		t.Fatalf("children = %v, %v", kids, err)
	}
	if ok, _, err := c.Exists("/b"); err != nil || !ok {
		t.Fatalf("exists = %v, %v", ok, err)
	}
	// Each write got its own zxid, in order.
	st3, err := c.Set("/a", nil, -1)
	if err != nil || st3.Mzxid <= st.Mzxid {
		t.Fatalf("second set: %+v, %v (first %+v)", st3, err, st)
	}
}

func TestClientAddrFromConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zoo.cfg")
	os.WriteFile(path, []byte("tickTime=2000\n# clientPort=1\nclientPort=2999\nclientPortAddress=127.0.0.2\n"), 0o644)
	addr, err := clientAddr(path)
	if err != nil || addr != "127.0.0.2:2999" {
		t.Fatalf("clientAddr = %q, %v", addr, err)
	}
	os.WriteFile(path, []byte("tickTime=2000\n"), 0o644)
	if _, err := clientAddr(path); err == nil || !strings.Contains(err.Error(), "no clientPort") {
		t.Fatalf("no clientPort: %v", err)
	}
}
