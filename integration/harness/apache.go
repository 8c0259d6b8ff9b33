package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrApacheNotInstalled means Debian's Apache ZooKeeper (packages zookeeper and a JRE) is
// missing.
var ErrApacheNotInstalled = errors.New("apache zookeeper is not installed (apt-get install zookeeper openjdk-17-jre-headless)")

// ErrCCliNotInstalled means the ZooKeeper C client shell (package zookeeper-bin) is missing.
var ErrCCliNotInstalled = errors.New("zookeeper C client cli_mt is not installed (apt-get install zookeeper-bin)")

// Where Debian 12 puts things (dpkg -L zookeeper libzookeeper-java zookeeper-bin).
const (
	debianJavaDir = "/usr/share/java"
	debianZkCli   = "/usr/share/zookeeper/bin/zkCli.sh"
	debianCCli    = "/usr/lib/zookeeper/bin/cli_mt"
)

// apacheLog4j is the log4j 1.2 configuration handed to Apache ZooKeeper: everything to stdout,
// which the harness sends to zk.log. The root logger comes from a system property so a test
// can pass -Dzookeeper.root.logger=DEBUG,CONSOLE in JVMFlags.
const apacheLog4j = `log4j.rootLogger=${zookeeper.root.logger}
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
`

// ApacheClasspath returns the class path for Debian's Apache ZooKeeper server and Java client.
//
// Debian's zkEnv.sh uses just "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar": the jar's
// manifest Class-Path names its dependencies (zookeeper-jute, netty, slf4j-api, jetty,
// jackson, ...). It names no slf4j binding, so Debian's own scripts log nothing ("Defaulting
// to no-operation (NOP) logger"); the harness adds slf4j-log4j12 and log4j-1.2, both
// dependencies of libzookeeper-java, to get a server log. /etc/zookeeper/conf is left out:
// the harness writes its own log4j.properties.
func ApacheClasspath() (string, error) {
	jar := filepath.Join(debianJavaDir, "zookeeper.jar")
	if _, err := os.Stat(jar); err != nil {
		return "", fmt.Errorf("%w: %v", ErrApacheNotInstalled, err)
	}
	cp := []string{jar}
	for _, name := range []string{"slf4j-log4j12.jar", "log4j-1.2.jar"} {
		p := filepath.Join(debianJavaDir, name)
		if _, err := os.Stat(p); err == nil {
			cp = append(cp, p)
		}
	}
	return strings.Join(cp, string(os.PathListSeparator)), nil
}

// javaPath finds java as zkEnv.sh would: Debian's scripts use /usr/bin/java; JAVA_HOME wins
// when set.
func javaPath() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrApacheNotInstalled, err)
	}
	return p, nil
}

// StartApacheZK runs Debian's Apache ZooKeeper with java directly, not through zkServer.sh,
// so PID is the JVM and signals reach it. zoo.cfg is generated as for zkd; the log is
// <Dir>/zk.log. A config with server.N keys runs QuorumPeerMain (ensemble member), otherwise
// ZooKeeperServerMain (standalone). ctx bounds only the start.
func StartApacheZK(ctx context.Context, cfg Config) (*Server, error) {
	if _, err := ApacheClasspath(); err != nil {
		return nil, err
	}
	if _, err := javaPath(); err != nil {
		return nil, err
	}
	return start(ctx, apacheLauncher, cfg)
}

var apacheLauncher = launcher{
	name:    "apache-zookeeper",
	logName: "zk.log",
	// The JVM exits with 128+15 after running its shutdown hooks for SIGTERM.
	cleanExitCodes: []int{0, 143},
	argv:           apacheArgv,
}

func apacheArgv(cfg Config) ([]string, error) {
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	cp, err := ApacheClasspath()
	if err != nil {
		return nil, err
	}
	log4j := filepath.Join(cfg.Dir, "log4j.properties")
	if err := os.WriteFile(log4j, []byte(apacheLog4j), 0o644); err != nil {
		return nil, err
	}
	main := "org.apache.zookeeper.server.ZooKeeperServerMain"
	for k := range cfg.Extra {
		if strings.HasPrefix(k, "server.") {
			main = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
		}
	}
	argv := []string{java,
		"-cp", cp,
		// Upstream zkEnv.sh's default server heap (ZK_SERVER_HEAP=1000); Debian sets none, and
		// the JVM's own default (a quarter of RAM) would differ from machine to machine.
		"-Xmx1000m",
		"-Dlog4j.configuration=file:" + log4j,
		"-Dzookeeper.root.logger=INFO,CONSOLE",
		// Skip registering log4j MBeans; nothing reads them.
		"-Dzookeeper.jmx.log4j.disable=true",
		// Also in zoo.cfg; as properties they hold even if a test's Extra drops them.
		"-Dzookeeper.4lw.commands.whitelist=*",
		"-Dzookeeper.admin.enableServer=false",
	}
	argv = append(argv, cfg.JVMFlags...)
	return append(argv, main, cfg.ConfigPath()), nil
}

// ZkCliPath returns Debian's zkCli.sh (the Java command-line client).
func ZkCliPath() (string, error) {
	if _, err := os.Stat(debianZkCli); err == nil {
		return debianZkCli, nil
	}
	if p, err := exec.LookPath("zkCli.sh"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: no %s", ErrApacheNotInstalled, debianZkCli)
}

// CCliPath returns the ZooKeeper C client shell cli_mt from Debian's zookeeper-bin. It runs
// one command with `cli_mt host:port 'cmd:ls /'`.
func CCliPath() (string, error) {
	if _, err := os.Stat(debianCCli); err == nil {
		return debianCCli, nil
	}
	if p, err := exec.LookPath("cli_mt"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: no %s", ErrCCliNotInstalled, debianCCli)
}
