//go:build race

package badgerstore_test

// raceEnabled: the race detector slows badger's compactions some tenfold;
// tests of space reclaimed over hundreds of thousands of txns skip under it
// (they check no concurrency of ours, and took two minutes of CI there).
const raceEnabled = true
