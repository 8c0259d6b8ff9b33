// Package logsetup builds the zerolog logger of the commands (zkd, brokerd)
// from their -log-format and -log-level flags, so both log alike.
package logsetup

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// New returns a logger writing to stderr in format "console" or "json" at
// level (debug, info, warn, error), every line stamped with the time and
// the pid. The console format has colours only on a terminal, so log files
// stay plain text that tests and people can grep.
func New(format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("-log-level %q: %w", level, err)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	var lg zerolog.Logger
	switch format {
	case "json":
		lg = zerolog.New(os.Stderr)
	case "console":
		fi, err := os.Stderr.Stat()
		tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
		lg = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000", NoColor: !tty})
	default:
		return zerolog.Logger{}, fmt.Errorf("-log-format %q: want console or json", format)
	}
	return lg.Level(lvl).With().Timestamp().Str("pid", strconv.Itoa(os.Getpid())).Logger(), nil
}
