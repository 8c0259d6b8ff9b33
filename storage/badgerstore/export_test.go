package badgerstore

// SetLogSyncHook makes a store opened with o call f with every file (and the directory) it
// syncs, after the sync.
func SetLogSyncHook(o *Options, f func(path string)) { o.onLogSync = f }

// TableLevels returns the level of each of the store's tables.
func TableLevels(s *Store) []int {
	var levels []int
	for _, t := range s.db.Tables() {
		levels = append(levels, t.Level)
	}
	return levels
}

// SetBaseLevelSize makes a store opened with o use badger BaseLevelSize n,
// as zkd did before it compacted L0 straight into the last level.
func SetBaseLevelSize(o *Options, n int64) { o.baseLevelSize = n }
