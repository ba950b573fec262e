package main

import (
	"os"
	"strconv"
	"strings"
)

// procTicks is a snapshot of the CPU time (user+system, clock ticks) of
// every process named postgres on this machine, keyed by pid and start
// time so that a reused pid is a new process.
type procTicks map[string]int64

// postgresTicks reads the CPU time of the local PostgreSQL server's
// processes (postmaster, backends, WAL writer, checkpointer...). It is
// meaningful only when the benchmark's database runs on this machine.
func postgresTicks() procTicks {
	out := procTicks{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open || s[open+1:closing] != "postgres" {
			continue
		}
		f := strings.Fields(s[closing+1:])
		if len(f) < 20 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[e.Name()+"/"+f[19]] = u + st
	}
	return out
}

// since returns the CPU seconds the processes of now used after before was
// taken; a process started since counts whole. Processes that started and
// ended in between are missed (the pool's connections outlive a scenario).
func (now procTicks) since(before procTicks) float64 {
	var ticks int64
	for k, t := range now {
		ticks += t - before[k]
	}
	return float64(ticks) / 100
}
