// burn.go: a Go program with a known CPU and heap profile for kiln's format tests.
// It writes a CPU profile (runtime/pprof) while burnA uses about three times the CPU
// of burnB, then a heap profile after keepC retained about three times the bytes of keepD.
//
//	burn CPU.pprof HEAP.pprof [SECONDS]
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"
)

var sink uint64
var kept [][]byte

//go:noinline
func spin(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func burnA() { sink += spin(3_000_000) }

//go:noinline
func burnB() { sink += spin(1_000_000) }

//go:noinline
func keepC() {
	for i := 0; i < 300; i++ {
		kept = append(kept, make([]byte, 64<<10))
	}
}

//go:noinline
func keepD() {
	for i := 0; i < 100; i++ {
		kept = append(kept, make([]byte, 64<<10))
	}
}

func main() {
	secs := 1.0
	if len(os.Args) > 3 {
		secs, _ = strconv.ParseFloat(os.Args[3], 64)
	}
	cpu, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		panic(err)
	}
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	for time.Now().Before(end) {
		burnA()
		burnB()
	}
	pprof.StopCPUProfile()
	cpu.Close()

	runtime.MemProfileRate = 1
	keepC()
	keepD()
	runtime.GC()
	heap, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	if err := pprof.WriteHeapProfile(heap); err != nil {
		panic(err)
	}
	heap.Close()
	if len(kept) == 0 {
		panic("nothing kept")
	}
}
