// Package log is the Kafka partition log: RecordBatch v2 bytes in segment
// files, sparse offset and time indexes, recovery after a crash, retention,
// compaction and the log directory's checkpoint files. It uses only the
// standard library.
//
// # On-disk layout
//
// A log directory (one entry of log.dirs) holds one directory per partition
// plus the files Kafka keeps per log directory:
//
//	<log.dir>/
//	  meta.properties                    version=0, broker.id, cluster.id
//	  recovery-point-offset-checkpoint   "0\n<n>\n<topic> <partition> <offset>\n..."
//	  log-start-offset-checkpoint        same format
//	  replication-offset-checkpoint      same format (high watermarks)
//	  .kafka_cleanshutdown               present only after a clean shutdown
//	  <topic>-<partition>/
//	    00000000000000000000.log         RecordBatch v2, exactly as stored on the wire
//	    00000000000000000000.index       sparse offset index
//	    00000000000000000000.timeindex   sparse time index
//	    00000000000000004711.log         next segment: the name is its base offset,
//	    ...                              zero-padded to 20 digits
//
// A segment's .log file is a concatenation of record batches. The broker
// patches two fields of each batch on append, both outside the CRC: the base
// offset (bytes 0..7) and, for leader appends, the partition leader epoch
// (bytes 12..15). Records are never decoded on append or read.
//
// The .index file holds 8-byte entries, big-endian: the offset relative to
// the segment's base offset (4 bytes) and the file position of a batch
// (4 bytes). An entry is added when more than index.interval.bytes were
// appended since the previous entry; it names the batch's last offset and the
// batch's start position, as LogSegment.append does. The .timeindex file
// holds 12-byte entries: a timestamp (8 bytes) and a relative offset
// (4 bytes), added next to offset index entries and only when the segment's
// largest timestamp grew; a final entry is added when the segment is rolled
// or closed. Both files are kept trimmed to their entries (Kafka preallocates
// and trims on roll; the bytes Kafka's tools read are the same).
//
// Temporary files follow Kafka: .cleaned (a compacted segment being written),
// .swap (a compacted segment ready to replace the originals) and .deleted
// (a removed segment whose file stays open for file.delete.delay.ms so that
// in-flight reads finish). Open finishes or discards them as LogLoader does.
//
// # Concurrency
//
// A Log is safe for one writer (appends, truncation, retention, compaction
// swaps, flushes are serialised) and many concurrent readers. Readers take a
// read lock only to consult in-memory state (the segment list and index
// entries); file reads happen without a lock. Removed segment files stay
// open for file.delete.delay.ms, so a Records value returned by Read stays
// readable at least that long.
package log
