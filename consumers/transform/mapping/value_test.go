package mapping

import (
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/avro"
)

func TestAsTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 3, 2, 15, 15, 0, 123_000_000, time.UTC)
	cases := []struct {
		name   string
		v      any
		unit   string
		layout string
		want   time.Time
		ok     bool
	}{
		{"time, cut to milliseconds", want.Add(456 * time.Microsecond), "", "", want, true},
		{"RFC 3339 with offset", "2026-03-02T10:15:00.123-05:00", "", "", want, true},
		{"RFC 3339 without fraction", "2026-03-02T15:15:00Z", "", "", want.Truncate(time.Second), true},
		{"no zone is UTC", "2026-03-02T15:15:00.123", "", "", want, true},
		{"space instead of T", "2026-03-02 15:15:00.123", "", "", want, true},
		{"RFC 1123", "Mon, 02 Mar 2026 15:15:00 GMT", "", "", want.Truncate(time.Second), true},
		{"a date", "2026-03-02", "", "", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), true},
		{"a layout", "02.03.2026 15:15", "", "02.01.2006 15:04", want.Truncate(time.Minute), true},
		{"not in the layout", "2026-03-02", "", "02.01.2006 15:04", time.Time{}, false},
		{"Unix seconds", int64(1772464500), "s", "", want.Truncate(time.Second), true},
		{"Unix milliseconds", int64(1772464500123), "ms", "", want, true},
		{"Unix microseconds", int64(1772464500123456), "us", "", want, true},
		{"seconds as text", "1772464500", "s", "", want.Truncate(time.Second), true},
		{"fractional seconds", 1772464500.1239, "s", "", want, true},
		{"fractional seconds as text", "1772464500.1239", "s", "", want, true},
		{"fractional milliseconds floor", "1772464500123.9", "ms", "", want, true},
		{"before the epoch, floored", "-0.0005", "s", "", time.UnixMilli(-1).UTC(), true},
		{"RFC 1123 in UTC", "Mon, 02 Mar 2026 15:15:00 UTC", "", "", want.Truncate(time.Second), true},
		{"RFC 1123 in a zone Go does not know the offset of", "Mon, 02 Mar 2026 10:15:00 EST", "", "", time.Time{}, false},
		{"RFC 1123 with a numeric offset", "Mon, 02 Mar 2026 10:15:00 -0500", "", "", want.Truncate(time.Second), true},
		{"a number without a unit", int64(1772464500), "", "", time.Time{}, false},
		{"seconds out of range", int64(1 << 62), "s", "", time.Time{}, false},
		{"not a time", "soon", "s", "", time.Time{}, false},
		{"a bool", true, "s", "", time.Time{}, false},
	}
	for _, c := range cases {
		got, ok := asTime(c.v, c.unit, c.layout)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("%s: asTime = %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestConversions(t *testing.T) {
	t.Parallel()
	r := func(s string) *big.Rat { x, _ := new(big.Rat).SetString(s); return x }
	strs := []struct {
		v    any
		want string
	}{
		{int64(-42), "-42"}, {42, "42"}, {1.5, "1.5"}, {float32(0.25), "0.25"}, {true, "true"},
		{r("199.00"), "199"}, {r("0.0001"), "0.0001"}, {r("-12.5"), "-12.5"}, {r("1/3"), "0.333333333333333333"},
		{time.Date(2026, 3, 2, 0, 0, 0, 5_000_000, time.UTC), "2026-03-02T00:00:00.005Z"},
	}
	for _, c := range strs {
		if got, ok := asString(c.v); !ok || got != c.want {
			t.Errorf("asString(%#v) = %q, %v; want %q", c.v, got, ok, c.want)
		}
	}
	ints := []struct {
		v    any
		want int64
		ok   bool
	}{
		{"  17 ", 17, true}, {"17.0", 17, true}, {17.0, 17, true}, {r("17"), 17, true},
		{17.5, 0, false}, {r("17.5"), 0, false}, {"seventeen", 0, false}, {true, 0, false},
		{"99999999999999999999", 0, false}, {"1e999999999", 0, false}, {"1e3", 1000, true},
	}
	for _, c := range ints {
		if got, ok := asInt64(c.v); ok != c.ok || got != c.want {
			t.Errorf("asInt64(%#v) = %d, %v; want %d, %v", c.v, got, ok, c.want, c.ok)
		}
	}
	bools := []struct {
		v        any
		want, ok bool
	}{
		{"TRUE", true, true}, {"no", false, true}, {int64(1), true, true}, {int64(2), false, false}, {"maybe", false, false},
	}
	for _, c := range bools {
		if got, ok := asBool(c.v); ok != c.ok || got != c.want {
			t.Errorf("asBool(%#v) = %v, %v; want %v, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestToMinor(t *testing.T) {
	t.Parallel()
	r := func(s string) *big.Rat { x, _ := new(big.Rat).SetString(s); return x }
	cases := []struct {
		amount   string
		major    bool
		currency string
		want     int64
		problem  bool
	}{
		{"19.99", true, "USD", 1999, false},
		{"1999", false, "USD", 1999, false},
		{"500", true, "JPY", 500, false},
		{"500.5", true, "JPY", 0, true},
		{"12.345", true, "KWD", 12345, false},
		{"12.3456", true, "CLF", 123456, false},
		{"-7.10", true, "EUR", -710, false},
		{"92233720368547758.07", true, "USD", 9223372036854775807, false},
		{"92233720368547758.08", true, "USD", 0, true},
		{"0.5", false, "USD", 0, true},
	}
	for _, c := range cases {
		got, problem := toMinor(r(c.amount), c.major, c.currency)
		if got != c.want || (problem != "") != c.problem {
			t.Errorf("toMinor(%s, major %v, %s) = %d, %q", c.amount, c.major, c.currency, got, problem)
		}
	}
	for in, want := range map[string]string{"usd": "USD", " eur ": "EUR"} {
		if got, ok := normalizeCurrency(in); !ok || got != want {
			t.Errorf("normalizeCurrency(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"US", "€UR", "dollar", ""} {
		if _, ok := normalizeCurrency(bad); ok {
			t.Errorf("normalizeCurrency(%q) accepted", bad)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	good := map[string]string{"19.99": "1999/100", "-0.5": "-1/2", "+3": "3", "1.5e2": "150", " 7 ": "7", ".5": "1/2"}
	for in, want := range good {
		r, ok := parseDecimal(in)
		if !ok || r.RatString() != want {
			t.Errorf("parseDecimal(%q) = %v, %v; want %s", in, r, ok, want)
		}
	}
	for _, bad := range []string{"", "-", ".", "1e", "1e99", "1e-41", "0x10", "1/2", "12a", "1.2.3", "Inf", "NaN"} {
		if r, ok := parseDecimal(bad); ok {
			t.Errorf("parseDecimal(%q) = %v", bad, r)
		}
	}
}

func TestCountryCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"gb": "GB", " United Kingdom ": "GB", "Deutschland": "DE", "usa": "US", "Switzerland": "CH",
		"UK": "GB", "uk": "GB", "DEU": "DE", "gbr": "GB", "jpn": "JP", "FX": "FR", "TP": "TL", "ZR": "CD", "ng": "NG",
	} {
		if got, ok := countryCode(in); !ok || got != want {
			t.Errorf("countryCode(%q) = %q, %v; want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"Atlantis", "G1", "", "GBR-X", "XX", "EU", "ZZ", "AA", "QO", "UN", "YU", "SU", "AN", "AC", "ÉU", "XXX"} {
		if got, ok := countryCode(bad); ok {
			t.Errorf("countryCode(%q) = %q", bad, got)
		}
	}
}

func TestSplitPath(t *testing.T) {
	t.Parallel()
	segs, err := splitPath("data.lines[2][0].name")
	if err != nil {
		t.Fatal(err)
	}
	want := []segment{{name: "data", index: -1}, {name: "lines", index: -1}, {index: 2}, {index: 0}, {name: "name", index: -1}}
	if len(segs) != len(want) {
		t.Fatalf("segments %+v", segs)
	}
	for i := range want {
		if segs[i] != want[i] {
			t.Errorf("segment %d = %+v, want %+v", i, segs[i], want[i])
		}
	}
	for _, bad := range []string{"", "a..b", "a[x]", "a[1", "a[-1]", "[0]"} {
		if _, err := splitPath(bad); err == nil {
			t.Errorf("splitPath(%q) accepted", bad)
		}
	}
}

// FuzzCompile feeds mapping files to Compile: it must never panic, and a
// mapping it accepts must apply to an empty event without panicking.
func FuzzCompile(f *testing.F) {
	for _, src := range []string{"crm", "payments", "commerce", "support"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "connectors", src, "mapping.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("source: crm\nevents: [{record: x, objects: [{object: contact, external_id: {ref: a}}]}]\n"))
	s, err := avro.LoadSchemas()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := Compile("fuzz.yaml", doc, s)
		if err != nil {
			return
		}
		for _, rec := range m.Records() {
			_, _ = m.Apply(rec, map[string]any{"envelope": map[string]any{"event_type": "x"}, "data": map[string]any{}})
		}
	})
}
