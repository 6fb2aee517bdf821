package mqttwire

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nextIDs calls Next n times and returns the identifiers, stopping at the first
// error.
func nextIDs(a *PacketIDs, n int) ([]uint16, error) {
	ids := make([]uint16, 0, n)
	for range n {
		id, err := a.Next()
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// advanceIDs hands out n identifiers and frees each at once, so the allocator
// has handed out 1 … n and holds none.
func advanceIDs(a *PacketIDs, n int) {
	for range n {
		id, err := a.Next()
		if err != nil {
			panic(err)
		}
		a.Free(id)
	}
}

func TestPacketIDsSequence(t *testing.T) {
	tests := []struct {
		name    string
		advance int      // identifiers handed out and freed first
		inUse   []uint16 // then marked in use with Use
		freed   []uint16 // then freed
		n       int      // Next calls
		want    []uint16
	}{
		{name: "first ids", n: 5, want: []uint16{1, 2, 3, 4, 5}},
		{name: "freed id is not handed out again at once", advance: 1, n: 2, want: []uint16{2, 3}},
		{name: "skips ids in use", inUse: []uint16{1, 3, 4}, n: 3, want: []uint16{2, 5, 6}},
		{
			name:    "skips ids in use across word boundaries",
			inUse:   []uint16{63, 64, 65, 127, 128},
			advance: 62, n: 4, want: []uint16{66, 67, 68, 69},
		},
		{name: "wraps after 65535 and skips 0", advance: 65533, n: 4, want: []uint16{65534, 65535, 1, 2}},
		{name: "wraps from exactly 65535", advance: 65535, n: 2, want: []uint16{1, 2}},
		{
			name: "skips ids in use across the wrap", advance: 65533,
			inUse: []uint16{65535, 1, 2, 64}, n: 4, want: []uint16{65534, 3, 4, 5},
		},
		{
			name: "a freed low id waits for the wrap", advance: 100,
			inUse: []uint16{1, 2, 3}, freed: []uint16{2}, n: 3, want: []uint16{101, 102, 103},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a PacketIDs
			advanceIDs(&a, tt.advance)
			for _, id := range tt.inUse {
				if !a.Use(id) {
					t.Fatalf("Use(%d) = false", id)
				}
			}
			for _, id := range tt.freed {
				a.Free(id)
			}
			got, err := nextIDs(&a, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Next sequence (-want +got):\n%s", diff)
			}
			if want := len(tt.inUse) - len(tt.freed) + tt.n; a.Len() != want {
				t.Errorf("Len() = %d, want %d", a.Len(), want)
			}
		})
	}
}

func TestPacketIDsWrapSkipsFreedLate(t *testing.T) {
	// Only 2 and 70 are free; the search starts after the last id handed
	// out, so it finds them in wrapped order.
	var a PacketIDs
	all, err := nextIDs(&a, 65535)
	if err != nil {
		t.Fatal(err)
	}
	if all[0] != 1 || all[65534] != 65535 {
		t.Fatalf("first and last of 65,535 ids: %d, %d", all[0], all[65534])
	}
	a.Free(70)
	a.Free(2)
	got, err := nextIDs(&a, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint16{2, 70}, got); diff != "" {
		t.Errorf("Next after freeing 70 and 2 (-want +got):\n%s", diff)
	}
}

func TestPacketIDsExhaustion(t *testing.T) {
	var a PacketIDs
	seen := make([]bool, 65536)
	for i := range 65535 {
		id, err := a.Next()
		if err != nil {
			t.Fatalf("Next #%d: %v", i+1, err)
		}
		if id == 0 || seen[id] {
			t.Fatalf("Next #%d = %d: zero or handed out twice", i+1, id)
		}
		seen[id] = true
	}
	if a.Len() != 65535 {
		t.Fatalf("Len() = %d, want 65535", a.Len())
	}
	for range 2 {
		if id, err := a.Next(); !errors.Is(err, ErrNoPacketIDs) || id != 0 {
			t.Fatalf("Next on a full table = %d, %v; want 0, ErrNoPacketIDs", id, err)
		}
	}
	if a.Use(12345) {
		t.Error("Use(12345) on a full table = true")
	}

	// Recovery: each freed id is the one Next gives back, wherever it
	// stands from the last one handed out; 66 comes after 70, below it in
	// the same 64-bit word, so the search must come round to that word again.
	for _, id := range []uint16{40000, 1, 65535, 64, 70, 66, 63} {
		a.Free(id)
		if a.Len() != 65534 {
			t.Fatalf("Len() after Free(%d) = %d, want 65534", id, a.Len())
		}
		got, err := a.Next()
		if err != nil || got != id {
			t.Fatalf("Next after Free(%d) = %d, %v", id, got, err)
		}
		if _, err := a.Next(); !errors.Is(err, ErrNoPacketIDs) {
			t.Fatalf("Next on a full table again: %v, want ErrNoPacketIDs", err)
		}
	}
}

func TestPacketIDsFreeNotInUse(t *testing.T) {
	var a PacketIDs
	a.Free(0)
	a.Free(5)
	a.Free(65535)
	if a.Len() != 0 {
		t.Fatalf("Len() after freeing unused ids = %d, want 0", a.Len())
	}
	id, _ := a.Next()
	a.Free(2)
	a.Free(0)
	if a.Len() != 1 || !a.InUse(id) {
		t.Fatalf("after freeing unused ids: Len() = %d, InUse(%d) = %v; want 1, true", a.Len(), id, a.InUse(id))
	}
	a.Free(id)
	a.Free(id) // a second Free is a no-op too
	if a.Len() != 0 || a.InUse(id) {
		t.Fatalf("after Free(%d) twice: Len() = %d, InUse = %v; want 0, false", id, a.Len(), a.InUse(id))
	}
}

func TestPacketIDsUse(t *testing.T) {
	var a PacketIDs
	tests := []struct {
		id   uint16
		want bool
	}{
		{0, false}, // 0 is never an identifier [MQTT-2.3.1-1]
		{7, true},
		{7, false}, // already in use
		{1, true},
		{65535, true},
		{64, true},
	}
	for _, tt := range tests {
		if got := a.Use(tt.id); got != tt.want {
			t.Errorf("Use(%d) = %v, want %v", tt.id, got, tt.want)
		}
	}
	if a.Len() != 4 {
		t.Errorf("Len() = %d, want 4", a.Len())
	}
	for _, id := range []uint16{1, 7, 64, 65535} {
		if !a.InUse(id) {
			t.Errorf("InUse(%d) = false after Use", id)
		}
	}
	if a.InUse(0) {
		t.Error("InUse(0) = true")
	}
	got, _ := nextIDs(&a, 7)
	if diff := cmp.Diff([]uint16{2, 3, 4, 5, 6, 8, 9}, got); diff != "" {
		t.Errorf("Next after Use (-want +got):\n%s", diff)
	}
}

// modelIDs is the specification of PacketIDs in the plainest terms: a set of
// identifiers in use and the last one handed out.
type modelIDs struct {
	inUse [65536]bool
	count int
	last  uint16
}

func (m *modelIDs) next() (uint16, bool) {
	if m.count == 65535 {
		return 0, false
	}
	id := m.last
	for {
		id++ // wraps from 65535 to 0
		if id != 0 && !m.inUse[id] {
			m.use(id)
			m.last = id
			return id, true
		}
	}
}

func (m *modelIDs) use(id uint16) {
	m.inUse[id] = true
	m.count++
}

func (m *modelIDs) free(id uint16) {
	if m.inUse[id] {
		m.inUse[id] = false
		m.count--
	}
}

// TestPacketIDsModel drives the allocator and the model with the same random
// sequence of Next, Free and Use and checks that they agree: Next never hands
// out an identifier in use, and takes the first free one after the last.
// Phases that favour Next fill the table to exhaustion; phases that favour
// Free drain it.
func TestPacketIDsModel(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 0x6d717474))
		var a PacketIDs
		m := new(modelIDs)
		var held []uint16 // ids handed out, for picking one to free
		full := 0
		steps, phase := 400_000, 100_000
		if testing.Short() {
			steps, phase = 40_000, 10_000
		}
		for step := range steps {
			pNext := 0.95 // fill phase
			if step/phase%2 == 1 {
				pNext = 0.3 // drain phase
			}
			switch r := rng.Float64(); {
			case r < pNext:
				got, err := a.Next()
				want, ok := m.next()
				if !ok {
					full++
					if !errors.Is(err, ErrNoPacketIDs) {
						t.Fatalf("seed %d step %d: Next on a full table = %d, %v", seed, step, got, err)
					}
					break
				}
				if err != nil || got != want {
					t.Fatalf("seed %d step %d: Next = %d, %v; model says %d", seed, step, got, err, want)
				}
				held = append(held, got)
			case r < pNext+0.02:
				id := uint16(rng.IntN(65536)) // often free, sometimes in use, sometimes 0
				if got, want := a.Use(id), id != 0 && !m.inUse[id]; got != want {
					t.Fatalf("seed %d step %d: Use(%d) = %v, model says %v", seed, step, id, got, want)
				}
				if id != 0 && !m.inUse[id] {
					m.use(id)
					held = append(held, id)
				}
			default:
				// Free an id from held, which may be stale (freed already,
				// or freed and handed out again), or a random one: both
				// must agree with the model, a no-op when not in use.
				var id uint16
				if len(held) == 0 || rng.IntN(10) == 0 {
					id = uint16(rng.IntN(65536))
				} else {
					i := rng.IntN(len(held))
					id = held[i]
					held[i] = held[len(held)-1]
					held = held[:len(held)-1]
				}
				a.Free(id)
				m.free(id)
			}
			if a.Len() != m.count {
				t.Fatalf("seed %d step %d: Len() = %d, model has %d", seed, step, a.Len(), m.count)
			}
		}
		for id := range 65536 {
			if a.InUse(uint16(id)) != m.inUse[id] {
				t.Fatalf("seed %d: InUse(%d) = %v, model says %v", seed, id, a.InUse(uint16(id)), m.inUse[id])
			}
		}
		if full == 0 && !testing.Short() {
			t.Errorf("seed %d: the table never filled up; the test does not reach exhaustion", seed)
		}
	}
}

func TestPacketIDsAllocs(t *testing.T) {
	var a PacketIDs
	advanceIDs(&a, 65000) // make Next wrap during the runs
	for id := uint16(1); id < 65535; id += 3 {
		a.Use(id)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		id, err := a.Next()
		if err != nil {
			t.Fatal(err)
		}
		a.Free(id)
		a.Use(id)
		a.Free(id)
		_ = a.InUse(id)
		_ = a.Len()
	})
	if allocs != 0 {
		t.Errorf("Next/Free/Use: %v allocations, want 0", allocs)
	}
}

// BenchmarkPacketIDs measures one Next and one Free. "empty" is the common
// case of a few exchanges in flight; "99pct-full" has 1% of the table free,
// scattered at random; "one-free" is the worst case, where Next scans the
// whole table.
func BenchmarkPacketIDs(b *testing.B) {
	b.Run("empty", func(b *testing.B) {
		var a PacketIDs
		b.ReportAllocs()
		for b.Loop() {
			id, err := a.Next()
			if err != nil {
				b.Fatal(err)
			}
			a.Free(id)
		}
	})
	b.Run("99pct-full", func(b *testing.B) {
		var a PacketIDs
		if _, err := nextIDs(&a, 65535); err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for a.Len() > 65535-655 {
			a.Free(uint16(1 + rng.IntN(65535)))
		}
		b.ReportAllocs()
		for b.Loop() {
			id, err := a.Next()
			if err != nil {
				b.Fatal(err)
			}
			a.Free(id)
		}
	})
	b.Run("one-free", func(b *testing.B) {
		var a PacketIDs
		if _, err := nextIDs(&a, 65535); err != nil {
			b.Fatal(err)
		}
		a.Free(32768)
		b.ReportAllocs()
		for b.Loop() {
			id, err := a.Next()
			if err != nil {
				b.Fatal(err)
			}
			a.Free(id)
		}
	})
}
