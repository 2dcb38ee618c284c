// burn_test.go: a Go benchmark for kiln's import tests (tests/e2e/t2801-go-test-profiles.sh),
// profiled by `go test -bench . -cpuprofile cpu.out -memprofile mem.out`: heavy spins about
// three times as long as light, and keepBig retains about three times the bytes of keepSmall.
package kilngotest

import "testing"

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
func heavy() { sink += spin(3_000_000) }

//go:noinline
func light() { sink += spin(1_000_000) }

//go:noinline
func keepBig() { kept = append(kept, make([]byte, 3<<20)) }

//go:noinline
func keepSmall() { kept = append(kept, make([]byte, 1<<20)) }

func BenchmarkBurn(b *testing.B) {
	for i := 0; i < b.N; i++ {
		heavy()
		light()
	}
}

func BenchmarkKeep(b *testing.B) {
	for i := 0; i < b.N && i < 16; i++ {
		keepBig()
		keepSmall()
	}
}
