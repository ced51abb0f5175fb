package work

import "testing"

func TestRequestDeterministic(t *testing.T) {
	if Request(1) != Request(1) || Request(1) == Request(2) {
		t.Fatal("Request must depend on the seed only")
	}
	if NewBallast(1).Len() == 0 {
		t.Fatal("empty ballast")
	}
}

func BenchmarkRequest(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Request(uint64(i))
	}
}
