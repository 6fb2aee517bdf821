package benchmarks

import "testing"

// TestEquivalence checks, for every workload and codec, that decoding the
// workload's bytes gives its packets field for field, and that encoding its
// packets gives its bytes. The benchmarks mean something only while it
// passes: they time the same calls on the same bytes.
func TestEquivalence(t *testing.T) {
	for i := range workloads() {
		w := &workloads()[i]
		for _, c := range codecs {
			t.Run(w.Name+"/"+c, func(t *testing.T) {
				if err := checkDecode(c, w); err != nil {
					t.Error(err)
				}
				if err := checkEncode(c, w); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestBaselines checks that the frame scan finds every packet of every
// workload and that writing the frames back gives the same bytes.
func TestBaselines(t *testing.T) {
	for i := range workloads() {
		w := &workloads()[i]
		if n, _ := FrameScan(w.Wire); n != w.Count() {
			t.Errorf("%s: FrameScan found %d packets, want %d", w.Name, n, w.Count())
		}
		if got := AppendFrames(nil, SplitFrames(w.Wire)); string(got) != string(w.Wire) {
			t.Errorf("%s: AppendFrames(SplitFrames) differs from the input", w.Name)
		}
	}
}
