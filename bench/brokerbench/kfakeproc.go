package main

import (
	"context"

	"github.com/twmb/franz-go/pkg/kfake"
)

// The kfake reference runs in a child process of its own by default (child.go), or in this
// process, as franz-go's tests use it (-kfake-in-process).

// serveKfakeFlag makes this binary a kfake server (child.go).
const serveKfakeFlag = "-serve-kfake"

// serveKfake starts a one-broker kfake cluster holding topic.
func serveKfake(topic string) ([]string, func(), error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		return nil, nil, err
	}
	return c.ListenAddrs(), c.Close, nil
}

func startKfake(ctx context.Context, topic string, ownProcess bool) (*server, error) {
	if ownProcess {
		return startChildServer(ctx, serveKfakeFlag, topic)
	}
	seeds, stop, err := serveKfake(topic)
	if err != nil {
		return nil, err
	}
	return &server{seeds: seeds, close: func() error { stop(); return nil }}, nil
}
