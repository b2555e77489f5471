package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kuberpult/api"
	"kuberpult/gitrepo"
)

// pushHistogram shows the writer's push durations as a Prometheus histogram.
func pushHistogram(status func() gitrepo.Status) api.MetricFunc {
	return api.MetricFunc{Name: "kuberpult_git_push_duration_seconds", Help: "Duration of the pushes to the env repo that landed.",
		Type: "histogram", Histogram: func() api.Histogram {
			st := status().Stats
			h := api.Histogram{Bounds: gitrepo.PushBuckets[:], Sum: st.PushSecondsSum, Count: uint64(st.Pushes)}
			for _, c := range st.PushSeconds {
				h.Counts = append(h.Counts, uint64(c))
			}
			return h
		}}
}

// runtimeMetrics are the Go runtime's and the process's own figures, under the names
// Prometheus' client libraries use (go_*, process_*), so dashboards made for them work.
func runtimeMetrics(started time.Time) []api.MetricFunc {
	mem := func(f func(*runtime.MemStats) uint64) func() float64 {
		return func() float64 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return float64(f(&m))
		}
	}
	return []api.MetricFunc{
		{Name: "go_goroutines", Help: "Number of goroutines that currently exist.", Value: func() float64 { return float64(runtime.NumGoroutine()) }},
		{Name: "go_memstats_heap_alloc_bytes", Help: "Number of heap bytes allocated and still in use.", Value: mem(func(m *runtime.MemStats) uint64 { return m.HeapAlloc })},
		{Name: "go_memstats_sys_bytes", Help: "Number of bytes obtained from the system.", Value: mem(func(m *runtime.MemStats) uint64 { return m.Sys })},
		{Name: "go_gc_cycles_total", Help: "Number of completed GC cycles.", Type: "counter", Value: mem(func(m *runtime.MemStats) uint64 { return uint64(m.NumGC) })},
		{Name: "process_cpu_seconds_total", Help: "Total user and system CPU time spent in seconds.", Type: "counter", Value: cpuSeconds},
		{Name: "process_resident_memory_bytes", Help: "Resident memory size in bytes.", Value: residentBytes},
		{Name: "process_open_fds", Help: "Number of open file descriptors.", Value: openFDs},
		{Name: "process_start_time_seconds", Help: "Start time of the process since the Unix epoch in seconds.", Value: func() float64 { return float64(started.Unix()) }},
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// residentBytes reads the resident set size from /proc (Linux); 0 elsewhere.
func residentBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0
	}
	return pages * float64(os.Getpagesize())
}

func openFDs() float64 {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return float64(len(entries))
}
