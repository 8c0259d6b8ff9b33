package badgerstore

// SetLogSyncHook makes a store opened with o call f with every file (and the directory) it
// syncs, after the sync.
func SetLogSyncHook(o *Options, f func(path string)) { o.onLogSync = f }
