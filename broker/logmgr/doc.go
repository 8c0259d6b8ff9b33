// Package logmgr is the broker's LogManager: it owns the log directories
// (log.dirs), checks and writes their meta.properties, opens every partition
// log at start with the state from the checkpoint files (recovering the ones
// a crash left unclean), places new partitions, deletes removed ones, and
// runs the background work Kafka's LogManager schedules: offset checkpoints,
// retention and compaction. At a clean shutdown it closes every log, writes
// the checkpoints and leaves the .kafka_cleanshutdown marker.
package logmgr
