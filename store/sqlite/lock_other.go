//go:build !unix

package sqlite

import "os"

// tryLock reports that the lock is not available: without file locks,
// running jobs are left to River's rescuer.
func tryLock(*os.File) (bool, error) { return false, nil }
