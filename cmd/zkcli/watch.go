package main

import (
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/zkclient"
)

func init() {
	register(
		&command{name: "addWatch", opts: []optSpec{{'m', true}},
			usage: "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
			run:   cmdAddWatch},
		&command{name: "removewatches", usage: "path [-c|-d|-a] [-l]", opts: flags("cdal"), minArgs: 2, run: cmdRemoveWatches},
		&command{name: "watch", usage: "path # stream every change under path until Ctrl-C", minArgs: 2, run: cmdWatch},
	)
}

func cmdAddWatch(sh *shell, cmd *command, o options) error {
	if len(o.args) != 2 {
		return usageError(cmd)
	}
	mode := jute.AddWatchPersistentRecursive
	if o.has('m') {
		switch strings.ToUpper(o.value('m')) {
		case "PERSISTENT":
			mode = jute.AddWatchPersistent
		case "PERSISTENT_RECURSIVE":
		default:
			return usageError(cmd)
		}
	}
	return sh.conn.AddWatch(o.args[1], mode)
}

func cmdRemoveWatches(sh *shell, cmd *command, o options) error {
	t := jute.WatcherAny
	switch {
	case o.has('c'):
		t = jute.WatcherChildren
	case o.has('d'):
		t = jute.WatcherData
	}
	return sh.conn.RemoveWatches(o.args[1], t, o.has('l'))
}

// cmdWatch streams every event under a path through a persistent recursive
// watch until Ctrl-C (or SIGTERM), then removes the watch. One line per
// event: its type and path, or a JSON object with -o json.
func cmdWatch(sh *shell, cmd *command, o options) error {
	path := o.args[1]
	events := make(chan zkclient.Event, 1024)
	sh.watchSink.Store(&events)
	defer sh.watchSink.Store(nil)
	if err := sh.conn.AddWatch(path, jute.AddWatchPersistentRecursive); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
	if !sh.json {
		sh.printf("watching %s; Ctrl-C stops\n", path)
		sh.flush()
	}
	for {
		select {
		case ev := <-events:
			if sh.json {
				sh.emit(map[string]any{"event": eventJSON(ev)})
			} else {
				sh.printf("%s %s\n", ev.Type, ev.Path)
			}
			sh.flush()
		case <-stop:
			// The removal event is the watcher's business, not the
			// stream's: stop routing before removing.
			sh.watchSink.Store(nil)
			printing := sh.printWatches.Swap(false)
			err := sh.conn.RemoveWatches(path, jute.WatcherAny, true)
			sh.printWatches.Store(printing)
			if zkclient.ErrorCode(err) == jute.ErrNoWatcher {
				err = nil
			}
			return err
		}
	}
}
