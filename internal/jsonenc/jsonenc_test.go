package jsonenc

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// marshal is encoding/json's rendering of v, or nil where it refuses v.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

func checkString(t *testing.T, s string) {
	t.Helper()
	want := marshal(s)
	if got := String(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("String(%q) = %s, encoding/json %s", s, got, want)
	}
	if got := String([]byte("x"), []byte(s)); !bytes.Equal(got, append([]byte("x"), want...)) {
		t.Fatalf("String(x, []byte(%q)) = %s, encoding/json %s", s, got, want)
	}
}

// Every escape encoding/json makes, and text around each.
func TestString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "plain", `"quoted"`, `back\slash`, "<script>&amp;</script>", "\b\f\n\r\t", "\x00\x01\x1f\x7f",
		"line\u2028para\u2029end", "é€😀", "bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate", "tail\xe2\x82",
	} {
		checkString(t, s)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"a<b>&c", "\u2028\x00\"\\", "\xff\xfe", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(checkString)
}

func checkFloat(t *testing.T, x float64) {
	t.Helper()
	want := marshal(x)
	got, ok := Float([]byte("x"), x)
	if ok != (want != nil) {
		t.Fatalf("Float(%v) ok %v, encoding/json %s", x, ok, want)
	}
	if !ok {
		if string(got) != "x" {
			t.Fatalf("Float(%v) refused but wrote %q", x, got)
		}
		return
	}
	if !bytes.Equal(got[1:], want) {
		t.Fatalf("Float(%v) = %s, encoding/json %s", x, got[1:], want)
	}
}

// Floats of every magnitude, the bounds of the exponent form, and what
// encoding/json refuses.
func TestFloat(t *testing.T) {
	t.Parallel()
	for _, x := range []float64{
		0, math.Copysign(0, -1), 1, -1, 0.5, 12.345, 1e-6, 9.99999e-7, 1e-7, 1.5e-9, 1e20, 1e21, 9.99e20, -1e21,
		123456789012345678, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1),
	} {
		checkFloat(t, x)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		checkFloat(t, math.Float64frombits(r.Uint64()))
		checkFloat(t, r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30)))
	}
}

// Times in UTC and in zones, with and without fractions, and the years
// and zones MarshalJSON refuses.
func TestTime(t *testing.T) {
	t.Parallel()
	zones := []*time.Location{
		time.UTC, time.FixedZone("plus", 5*3600+30*60), time.FixedZone("minus", -8*3600),
		time.FixedZone("seconds", 3600+7), time.FixedZone("far", 25*3600),
	}
	instants := []time.Time{
		time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), time.Now(),
	}
	for _, at := range instants {
		for _, z := range zones {
			tm := at.In(z)
			want := marshal(tm)
			got, ok := Time([]byte("x"), tm)
			if ok != (want != nil) || (ok && !bytes.Equal(got[1:], want)) || (!ok && string(got) != "x") {
				t.Errorf("Time(%v) = %s, %v; encoding/json %s", tm, got, ok, want)
			}
		}
	}
}
