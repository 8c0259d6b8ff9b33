package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ZkdPackage is the import path of zkd's main package.
const ZkdPackage = "github.com/zabkafka/zabkafka/cmd/zkd"

// ZkcliPackage is the import path of zkcli's main package.
const ZkcliPackage = "github.com/zabkafka/zabkafka/cmd/zkcli"

// ZknullPackage is the import path of zknull, the benchmarks' do-nothing server.
const ZknullPackage = "github.com/zabkafka/zabkafka/bench/zknull"

const modulePath = "github.com/zabkafka/zabkafka"

// StartZkd runs `bin -config <Dir>/zoo.cfg` plus cfg.Args, with stdout and stderr in
// <Dir>/zkd.log, and waits until it answers srvr. ctx bounds only the start.
func StartZkd(ctx context.Context, bin string, cfg Config) (*Server, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("start zkd: %w", err)
	}
	return start(ctx, zkdLauncherFor(bin), cfg)
}

// zkdLauncherFor runs bin as `bin -config <Dir>/zoo.cfg` plus cfg.Args.
func zkdLauncherFor(bin string) launcher {
	l := zkdLauncher
	l.argv = func(cfg Config) ([]string, error) {
		return append([]string{bin, "-config", cfg.ConfigPath()}, cfg.Args...), nil
	}
	return l
}

var zkdLauncher = launcher{
	name:           "zkd",
	logName:        "zkd.log",
	cleanExitCodes: []int{0},
}

// BuildZkd builds zkd into <dir>/zkd and returns that path. It must run inside this module
// (it asks `go env GOMOD`). buildFlags go before the package, e.g. "-race".
func BuildZkd(dir string, buildFlags ...string) (string, error) {
	return buildTool(dir, ZkdPackage, "zkd", buildFlags...)
}

// BuildZkcli builds zkcli into <dir>/zkcli and returns that path.
func BuildZkcli(dir string, buildFlags ...string) (string, error) {
	return buildTool(dir, ZkcliPackage, "zkcli", buildFlags...)
}

// BuildZknull builds zknull into <dir>/zknull and returns that path. It takes zkd's command
// line (-config zoo.cfg), so StartZkd runs it.
func BuildZknull(dir string) (string, error) {
	return buildTool(dir, ZknullPackage, "zknull")
}

func buildTool(dir, pkg, name string, buildFlags ...string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	if err := goBuild(root, pkg, out, buildFlags...); err != nil {
		return "", err
	}
	return out, nil
}

// ModuleRoot returns the directory of this module's go.mod, found with `go env GOMOD` from the
// working directory.
func ModuleRoot() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside module %s (go env GOMOD is %q)", modulePath, gomod)
	}
	if mod, err := moduleName(gomod); err != nil || mod != modulePath {
		return "", fmt.Errorf("%s is module %q, want %s (%v)", gomod, mod, modulePath, err)
	}
	return filepath.Dir(gomod), nil
}

func moduleName(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(name), `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}

// goBuild runs `go build -o out flags... pkg` in dir.
func goBuild(dir, pkg, out string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command(goTool(), append(args, pkg)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// goTool is go from PATH, else where the CI machine and the Go tarball put it.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}
